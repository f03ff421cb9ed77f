"""REST routes: model upload and switching, model list, health, readiness, metrics, OpenAPI."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from flask import Blueprint, Response, current_app, request

from api.auth import require_admin
from api.openapi import openapi_document
from api.state import get_state
from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving import ServingError

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__)


def _int_field(*names: str) -> int | None:
    """An integer from the JSON body or the form (first of ``names`` present); None if absent."""
    body = request.get_json(silent=True) if request.is_json else None
    source: Any = body if isinstance(body, dict) else request.form
    for name in names:
        value = source.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            try:
                return int(value)
            except ValueError:
                pass
        raise ServingError("bad_form", f"{name} must be an integer, got {value!r:.40}", status=400)
    return None


@bp.get("/")
def index() -> str:
    return "Server Ready"


@bp.post("/set_model")
@require_admin
def set_model() -> dict[str, Any]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ServingError(
            "no_file", "send the model file as the multipart form field 'file'", status=400
        )
    window_size = _int_field("frame_window_size", "window_size")
    overlap = _int_field("frame_window_overlap", "overlap")
    record, active, warnings = get_state().service.set_model(
        upload.stream,
        upload.filename,
        window_size=window_size,
        overlap=overlap,
        max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
    )
    logger.info(
        kv(
            "model_set",
            model_id=record.id,
            filename=record.filename,
            format=record.format,
            window=active.window_size,
            stride=active.stride,
            client=request.remote_addr,
        )
    )
    suffix = f" ({'; '.join(warnings)})" if warnings else ""
    return {
        "result": f"StreamPoseML Ready: classifier set to {record.filename}.{suffix}",
        "model": record.to_dict(),
        "active": active.to_dict(),
        "warnings": warnings,
    }


@bp.get("/models")
def list_models() -> dict[str, Any]:
    store = get_state().service.models
    active = store.active()
    return {
        "models": [record.to_dict() for record in store.records()],
        "active": active.to_dict() if active else None,
    }


@bp.post("/models/<model_id>/activate")
@require_admin
def activate_model(model_id: str) -> dict[str, Any]:
    window_size = _int_field("frame_window_size", "window_size")
    overlap = _int_field("frame_window_overlap", "overlap")
    service = get_state().service
    active, warnings = service.activate(model_id, window_size, overlap)
    record = service.models.record(model_id)
    logger.info(kv("model_activated", model_id=model_id, client=request.remote_addr))
    return {
        "result": f"StreamPoseML Ready: classifier set to {record.filename}.",
        "model": record.to_dict(),
        "active": active.to_dict(),
        "warnings": warnings,
    }


@bp.get("/health")
def health() -> dict[str, Any]:
    state = get_state()
    return {
        "status": "ok",
        "sessions": len(state.service.sessions),
        "async_mode": state.async_mode,
        "pid": os.getpid(),  # the worker process that answered (several share a port)
        "uptime_s": round(time.time() - state.started, 3),
    }


@bp.get("/ready")
def ready() -> tuple[dict[str, Any], int]:
    service = get_state().service
    ok, reason = service.ready()
    active = service.models.active()
    body = {"ready": ok, "reason": reason, "model_id": active.model_id if active else None}
    return body, 200 if ok else 503


@bp.get("/metrics")
def metrics() -> Response:
    state = get_state()
    return Response(state.metrics.render(), mimetype=None, content_type=state.metrics.content_type)


@bp.get("/openapi.json")
def openapi() -> dict[str, Any]:
    from stream_pose_ml import __version__

    return openapi_document(__version__)

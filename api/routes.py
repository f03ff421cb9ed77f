"""REST routes: model upload and switching, model list, health, readiness, metrics, OpenAPI."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from flask import Blueprint, Response, current_app, request

from api.auth import require_admin
from api.extensions import socketio
from api.offload import offloader
from api.openapi import openapi_document
from api.state import get_state
from api.uploads import parse_upload, spool_body
from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving import ServingError

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__)


def _request_fields() -> Any:
    """The JSON body's object, else the form."""
    body = request.get_json(silent=True) if request.is_json else None
    return body if isinstance(body, dict) else request.form


def _int_field(source: Any, *names: str) -> int | None:
    """An integer from ``source`` (first of ``names`` present); None if absent."""
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
    state = get_state()
    max_bytes = current_app.config["MAX_CONTENT_LENGTH"]
    body = spool_body(request, offloader(state.async_mode))
    req = request._get_current_object()  # type: ignore[attr-defined]  # for the other thread

    def store_and_activate() -> tuple[Any, Any, list[str]]:
        upload = parse_upload(req, body)
        window_size = _int_field(upload.form, "frame_window_size", "window_size")
        overlap = _int_field(upload.form, "frame_window_overlap", "overlap")
        return state.service.set_model(
            upload.file.stream,
            upload.file.filename,
            window_size=window_size,
            overlap=overlap,
            max_bytes=max_bytes,
        )

    try:  # parsing, storing and loading off the event loop: live sessions go on meanwhile
        record, active, warnings = offloader(state.async_mode)(store_and_activate)
    finally:
        if body is not None:
            body.close()
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
    fields = _request_fields()
    window_size = _int_field(fields, "frame_window_size", "window_size")
    overlap = _int_field(fields, "frame_window_overlap", "overlap")
    state = get_state()
    service = state.service
    active, warnings = offloader(state.async_mode)(
        lambda: service.activate(model_id, window_size, overlap)
    )
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
        # Engine.IO connections held (api/closed_sockets.py frees closed ones at once)
        "connections": len(socketio.server.eio.sockets) if socketio.server else 0,
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

"""The Flask shell of the MLflow model service (``mlflow/model_service.py`` runs it).

Routes (docs/api.md, "The MLflow model service"): ``POST /invocations`` (MLflow's scoring
protocol), ``POST /load`` (needs the token, as the API's model routes), ``GET /health``,
``/ping``, ``/ready``, ``/model``. The work happens in ``stream_pose_ml.serving.model_service``;
settings, auth and error answers are the API's (``api.config``, ``api.auth``, ``api.errors``).
This module imports neither Flask-SocketIO nor the live API.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, request

from api.auth import require_admin
from api.config import MODEL_SERVICE_SETTINGS, load_config
from api.errors import mlflow_error_body, register_error_handlers
from stream_pose_ml.archives import ArchiveLimits
from stream_pose_ml.errors import ServingError
from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving.model_service import ModelService

logger = logging.getLogger("mlflow_service")

EXTENSION_KEY = "stream_pose_ml_model_service"
bp = Blueprint("model_service", __name__)


def models_dir(settings: Mapping[str, Any]) -> Path:
    """Where uploads are extracted: ``MODELS_DIR``, else ``<DATA_DIR>/mlflow-service`` when a data
    folder is set, else a new temporary folder."""
    if settings["MODELS_DIR"]:
        return Path(settings["MODELS_DIR"]).expanduser()
    if settings["DATA_DIR"]:
        return Path(settings["DATA_DIR"]).expanduser() / "mlflow-service"
    return Path(tempfile.mkdtemp(prefix="spml-mlflow-service-"))


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The model service's app; ``config`` overrides the environment (see
    ``api.config.MODEL_SERVICE_SETTINGS``)."""
    settings = load_config(config, settings=MODEL_SERVICE_SETTINGS)
    app = Flask("mlflow_model_service")
    app.config.update(settings)
    folder = models_dir(settings)
    service = ModelService(
        folder.resolve(),
        ArchiveLimits(settings["ARCHIVE_MAX_FILES"], settings["ARCHIVE_MAX_BYTES"]),
        cache_size=settings["CACHE_SIZE"],
        max_rows=settings["MAX_ROWS"],
    )
    app.extensions[EXTENSION_KEY] = service
    app.config["STARTED"] = time.time()
    app.register_blueprint(bp)
    register_error_handlers(app, mlflow_error_body)
    if settings["MODEL"]:
        service.load_path(settings["MODEL"], None)
    logger.info(kv("mlflow_service_start", models_dir=folder, token=bool(settings["API_TOKEN"])))
    return app


def _service() -> ModelService:
    return current_app.extensions[EXTENSION_KEY]


@bp.get("/health")
@bp.get("/ping")
def health() -> dict[str, Any]:
    started = current_app.config["STARTED"]
    return {"status": "ok", "models": _service().ids(), "uptime_s": round(time.time() - started, 3)}


@bp.get("/ready")
def ready() -> tuple[dict[str, Any], int]:
    try:
        model_id = _service().get().model_id
    except ServingError:
        return {"ready": False, "reason": "no_model", "model_id": None}, 503
    return {"ready": True, "reason": "ok", "model_id": model_id}, 200


@bp.get("/model")
def model_info() -> dict[str, Any]:
    served = _service().get(request.args.get("model_id") or None)
    return {**served.describe(), "loaded": _service().ids()}


@bp.post("/load")
@require_admin
def load() -> tuple[dict[str, Any], int]:
    service = _service()
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        served = service.load_upload(
            upload.stream,
            upload.filename,
            request.form.get("model_id") or None,
            current_app.config["MAX_CONTENT_LENGTH"],
        )
    else:
        body = request.get_json(silent=True) if request.is_json else None
        path = body.get("path") if isinstance(body, dict) else request.form.get("path")
        if not isinstance(path, str) or not path:
            raise ServingError(
                "no_model_given",
                "send the MLflow model as the multipart field 'file' (zip, tar, tar.gz) or "
                'JSON {"path": "<folder or archive on the service machine>"}',
                status=400,
            )
        model_id = body.get("model_id") if isinstance(body, dict) else None
        served = service.load_path(path, model_id if isinstance(model_id, str) else None)
    return {"result": "loaded", **served.describe()}, 200


@bp.post("/invocations")
def invocations() -> dict[str, Any]:
    service = _service()
    model_id = request.args.get("model_id") or None
    service.get(model_id)  # 409 before reading the body when the model is not loaded
    body = request.get_json(silent=True)
    if body is None:
        raise ServingError(
            "bad_payload",
            "send a JSON body (Content-Type: application/json) in MLflow's scoring format",
            status=415 if not request.is_json else 400,
        )
    return service.invoke(body, model_id)

"""The application factory of the live classification API.

``create_app`` builds the app and changes nothing outside it (no logging set-up, no garbage
collector settings), so a test or another host can build several. The server runs the entry
point ``api/wsgi.py`` with gunicorn, one worker (Socket.IO sessions live in the worker's memory);
gevent is the default (fastest in benchmarks/load_socketio.py, see docs/deploy.md)::

    gunicorn -w 1 -k gevent -b 0.0.0.0:5001 api.wsgi:app         # gevent
    gunicorn -w 1 --threads 200 -b 0.0.0.0:5001 api.wsgi:app     # threading
    gunicorn -w 1 -k eventlet -b 0.0.0.0:5001 api.wsgi:app       # eventlet

Several replicas share the data folder and a Redis (``STREAM_POSE_ML_REDIS_URL``): docs/api.md.

The async mode follows the worker (``STREAM_POSE_ML_ASYNC_MODE=auto``); every setting is listed
in ``api/config.py`` and docs/api.md. The work happens in ``stream_pose_ml.serving``.
"""

from __future__ import annotations

import atexit
import logging
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask.sessions import SessionInterface

from api import fast_json, job_routes, job_sockets, routes, sockets
from api.config import load_config
from api.errors import api_error_body, register_error_handlers
from api.extensions import socketio
from api.metrics import ServingMetrics
from api.origins import origin_checker
from api.state import EXTENSION_KEY, ApiState
from stream_pose_ml.archives import ArchiveLimits
from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving import (
    LiveService,
    ModelStore,
    PayloadLimits,
    SessionStore,
    WorkerPool,
)
from stream_pose_ml.video_jobs import JobManager, JobStore

logger = logging.getLogger("api")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app with its Socket.IO server, model store and live service.

    ``config`` overrides the environment (keys as in ``api.config.SETTINGS``, e.g.
    ``{"DATA_DIR": "/tmp/data", "API_TOKEN": "..."}``).
    """
    settings = load_config(config)
    app = Flask(__name__)
    app.session_interface = NoSessions()  # no route or event uses Flask's session cookie
    app.config.update(settings)
    app.config["SECRET_KEY"] = settings["SECRET_KEY"] or secrets.token_hex(32)
    async_mode = resolve_async_mode(settings["ASYNC_MODE"])

    socketio.init_app(
        app,
        async_mode=async_mode,
        cors_allowed_origins=origin_checker(settings["CORS_ORIGINS"]),
        max_http_buffer_size=settings["TRANSPORT_MAX_BYTES"],
        ping_interval=settings["PING_INTERVAL"],
        ping_timeout=settings["PING_TIMEOUT"],
        async_handlers=False,  # frames of a connection are handled in order; see api/sockets.py
        manage_session=False,
        json=fast_json,  # orjson: decoding keypoints messages is a large share of the work
        **message_queue_options(settings.get("REDIS_URL")),
    )
    metrics = ServingMetrics()
    data_dir = Path(settings["DATA_DIR"]).expanduser().resolve()
    store = ModelStore(
        data_dir / "models",
        archive_limits=ArchiveLimits(
            max_files=settings["ARCHIVE_MAX_FILES"], max_bytes=settings["ARCHIVE_MAX_BYTES"]
        ),
        active_refresh_seconds=settings.get("ACTIVE_MODEL_REFRESH_SECONDS", 1.0),
    )
    workers = WorkerPool(
        settings["WORKER_THREADS"], settings["MODEL_THREADS"], socketio.start_background_task
    )
    service = LiveService(
        store,
        SessionStore(settings["MAX_SESSIONS"], settings["SESSION_IDLE_SECONDS"]),
        # A session's results go to its own connection, which is always on this replica
        # (sticky sessions): skip the Redis message queue for them (no round trip per result).
        emit=lambda event, body, sid: socketio.emit(event, body, to=sid, ignore_queue=True),
        spawn=workers.submit,
        on_model_loaded=workers.libraries_changed,
        observer=metrics,
        limits=PayloadLimits(
            max_bytes=settings["MAX_MESSAGE_BYTES"],
            max_frames=settings["MAX_FRAMES_PER_MESSAGE"],
            max_image_pixels=settings["MAX_IMAGE_PIXELS"],
        ),
        max_image_sessions=settings["MAX_IMAGE_SESSIONS"],
        concurrency=workers.size,
        stale_ms=settings["STALE_FRAME_MS"] or None,
        allow_code_loading=settings["ALLOW_PICKLE"],
        pose_model=settings["POSE_MODEL"],
        predictor_factory=_mlflow_factory(settings, store, metrics, workers.size),
    )
    metrics.bind_sessions(lambda: len(service.sessions))
    state = ApiState(
        service=service,
        metrics=metrics,
        async_mode=async_mode,
        heartbeat_seconds=settings["HEARTBEAT_SECONDS"],
    )
    state.job_store = JobStore(data_dir)
    state.jobs = JobManager(state.job_store, max_running=settings["MAX_JOBS"])
    state.jobs.recover()  # jobs a stopped server left running failed; queued ones run
    app.extensions[EXTENSION_KEY] = state
    sockets.install_packet_guard(state, settings["MAX_MESSAGE_BYTES"])
    sockets.install_keypoints_handler(state)
    app.register_blueprint(routes.bp)
    app.register_blueprint(job_routes.bp)
    register_error_handlers(app, api_error_body)
    _register_cors(app, settings["CORS_ORIGINS"])

    job_sockets.start_job_polling(state)
    atexit.register(job_sockets.stop_job_polling, state)  # a worker exit kills its jobs' workers

    active = service.restore()
    logger.info(
        kv(
            "api_start",
            async_mode=async_mode,
            data_dir=data_dir,
            active_model=active.model_id if active else None,
            max_sessions=settings["MAX_SESSIONS"],
            message_queue="redis" if settings.get("REDIS_URL") else None,
        )
    )
    if not settings["API_TOKEN"]:
        logger.warning(
            kv(
                "auth_loopback_only",
                message="STREAM_POSE_ML_API_TOKEN is not set: model upload "
                "and switching are accepted only from loopback clients",
            )
        )
    return app


class NoSessions(SessionInterface):
    """Flask sessions off: each Socket.IO event would otherwise parse and sign a cookie."""

    def open_session(self, app: Flask, request: Any) -> None:
        return None

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        return None


def message_queue_options(redis_url: str | None) -> dict[str, Any]:
    """Socket.IO options for several replicas: Flask-SocketIO's Redis message queue, if set."""
    if not redis_url:
        return {}
    return {"message_queue": redis_url, "channel": "stream-pose-ml"}


def _mlflow_factory(
    settings: Mapping[str, Any], store: ModelStore, metrics: ServingMetrics, threads: int
) -> Any:
    """Predictions of MLflow models on the mlflow/ service (with in-process fallback), if set."""
    if not settings["MLFLOW_URL"]:
        return None
    from stream_pose_ml.serving.mlflow_backend import MLflowServiceClient, mlflow_predictor_factory

    client = MLflowServiceClient(
        settings["MLFLOW_URL"],
        settings["MLFLOW_TOKEN"] or settings["API_TOKEN"],
        timeout=settings["MLFLOW_TIMEOUT"],
        pool_size=threads + 2,
    )
    logger.info(kv("mlflow_backend", url=settings["MLFLOW_URL"]))
    return mlflow_predictor_factory(
        client,
        store.root,
        observer=metrics,
        max_retry_seconds=settings["MLFLOW_RETRY_SECONDS"],
        spawn=socketio.start_background_task,
    )


def resolve_async_mode(mode: str) -> str:
    """The Socket.IO async mode: ``mode``, or for ``auto`` the library the process is patched
    with (gunicorn's eventlet and gevent workers patch before loading the app), else threading."""
    patched = _patched_mode()
    if mode == "auto":
        return patched
    if mode != patched and "threading" in (mode, patched):
        logger.warning(
            kv(
                "async_mode_mismatch",
                configured=mode,
                runtime=patched,
                message="the gunicorn worker class and STREAM_POSE_ML_ASYNC_MODE disagree",
            )
        )
    return mode


def _patched_mode() -> str:
    eventlet = sys.modules.get("eventlet.patcher")
    if eventlet is not None and eventlet.is_monkey_patched("socket"):
        return "eventlet"
    gevent = sys.modules.get("gevent.monkey")
    if gevent is not None and gevent.is_module_patched("socket"):
        return "gevent"
    return "threading"


# -- CORS ---------------------------------------------------------------------------------------
def _register_cors(app: Flask, origins: list[str] | str) -> None:
    is_allowed = origin_checker(origins)

    @app.after_request
    def add_cors_headers(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and is_allowed(origin, request.environ):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
            response.vary.add("Origin")
        return response

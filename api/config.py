"""Configuration of the Flask apps: documented defaults, overridden by the environment, then by a
mapping.

Each setting has a Flask config key and an environment variable (see docs/api.md, which lists the
same tables). ``load_config(overrides)`` returns a plain dict for the API's ``app.config``;
``load_config(overrides, settings=MODEL_SERVICE_SETTINGS)`` the model service's, which shares the
token, upload, archive and log settings with the API.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


def _text(value: str) -> str:
    return value.strip()


def _optional_text(value: str) -> str | None:
    return value.strip() or None


def _origins(value: str) -> list[str] | str:
    items = [item.strip() for item in value.split(",") if item.strip()]
    return "*" if items == ["*"] else items


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(f"must be >= 1, got {number}")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(f"must be > 0, got {number}")
    return number


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise ValueError(f"must be >= 0, got {number}")
    return number


def _bool(value: str) -> bool:
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"must be 1/0 (true/false, yes/no, on/off), got {value!r}")


def _async_mode(value: str) -> str:
    mode = value.strip().lower()
    if mode not in ASYNC_MODES:
        raise ValueError(f"must be one of {', '.join(ASYNC_MODES)}, got {value!r}")
    return mode


#: Accepted values of STREAM_POSE_ML_ASYNC_MODE ("auto": the worker's, see app.resolve_async_mode).
ASYNC_MODES = ("auto", "threading", "eventlet", "gevent")


@dataclass(frozen=True)
class Setting:
    key: str
    env: str
    default: Any
    parse: Callable[[str], Any]
    doc: str


# Settings of both apps (the API and the model service).
API_TOKEN = Setting(
    "API_TOKEN",
    "STREAM_POSE_ML_API_TOKEN",
    None,
    _optional_text,
    "token for model upload and switching; unset: only loopback clients may",
)
MAX_CONTENT_LENGTH = Setting(
    "MAX_CONTENT_LENGTH",
    "STREAM_POSE_ML_MAX_UPLOAD_BYTES",
    200 * 1024**2,
    _positive_int,
    "largest HTTP request (model upload) in bytes; larger ones get 413",
)
ARCHIVE_MAX_FILES = Setting(
    "ARCHIVE_MAX_FILES",
    "STREAM_POSE_ML_ARCHIVE_MAX_FILES",
    10_000,
    _positive_int,
    "most entries an uploaded archive may have",
)
ARCHIVE_MAX_BYTES = Setting(
    "ARCHIVE_MAX_BYTES",
    "STREAM_POSE_ML_ARCHIVE_MAX_BYTES",
    256 * 1024**2,  # ~1000x the largest model the project builds (docs/deploy.md, "Storage")
    _positive_int,
    "most bytes an uploaded archive may unpack to",
)
LOG_LEVEL = Setting(
    "LOG_LEVEL",
    "STREAM_POSE_ML_LOG_LEVEL",
    "INFO",
    _text,
    "logging level (DEBUG, INFO, WARNING, ...)",
)

SETTINGS: tuple[Setting, ...] = (
    Setting("DATA_DIR", "STREAM_POSE_ML_DATA", "data", _text,
            "data folder; uploaded models live in <data>/models"),
    API_TOKEN,
    Setting("ASYNC_MODE", "STREAM_POSE_ML_ASYNC_MODE", "auto", _async_mode,
            "Socket.IO async mode: auto (follow the gunicorn worker), threading, eventlet, gevent"),
    Setting("CORS_ORIGINS", "STREAM_POSE_ML_CORS_ORIGINS",
            "http://localhost:3000,http://127.0.0.1:3000", _origins,
            "comma-separated origins allowed for REST and Socket.IO; * allows any"),
    Setting("SECRET_KEY", "STREAM_POSE_ML_SECRET_KEY", None, _optional_text,
            "Flask secret key; unset: random per process"),
    MAX_CONTENT_LENGTH,
    ARCHIVE_MAX_FILES,
    ARCHIVE_MAX_BYTES,
    Setting("MAX_VIDEO_BYTES", "STREAM_POSE_ML_MAX_VIDEO_BYTES", 1024**3, _positive_int,
            "largest video upload of a video analysis job (POST /jobs) in bytes; larger get 413"),
    Setting("MAX_JOBS", "STREAM_POSE_ML_MAX_JOBS", 1, _positive_int,
            "video analysis jobs running at the same time (each a worker process); others queue"),
    Setting("MAX_SESSIONS", "STREAM_POSE_ML_MAX_SESSIONS", 200, _positive_int,
            "most live Socket.IO sessions; more connections are refused"),
    Setting("SESSION_IDLE_SECONDS", "STREAM_POSE_ML_SESSION_IDLE_SECONDS", 300.0, _positive_float,
            "a session without messages for this long is closed"),
    Setting("HEARTBEAT_SECONDS", "STREAM_POSE_ML_HEARTBEAT_SECONDS", 10.0, _positive_float,
            "interval of the server's heartbeat events (and idle checks)"),
    Setting("MAX_MESSAGE_BYTES", "STREAM_POSE_ML_MAX_MESSAGE_BYTES", 1_000_000, _positive_int,
            "largest Socket.IO message handled; larger ones get a too_large error"),
    Setting("MAX_FRAMES_PER_MESSAGE", "STREAM_POSE_ML_MAX_FRAMES_PER_MESSAGE", 120, _positive_int,
            "most frames in one batch or binary keypoints message"),
    Setting("TRANSPORT_MAX_BYTES", "STREAM_POSE_ML_TRANSPORT_MAX_BYTES", 16_000_000, _positive_int,
            "Engine.IO buffer limit; a larger message closes the connection"),
    Setting("WORKER_THREADS", "STREAM_POSE_ML_WORKER_THREADS", 2, _positive_int,
            "threads classifying windows and running MediaPipe for all sessions"),
    Setting("MODEL_THREADS", "STREAM_POSE_ML_MODEL_THREADS", 1, _positive_int,
            "OpenMP/BLAS threads per classification (1: parallel across sessions)"),
    Setting("ALLOW_PICKLE", "STREAM_POSE_ML_ALLOW_PICKLE", True, _bool,
            "accept models whose loading runs code (pickle, joblib, cloudpickle); 0: bundles "
            "with skops or XGBoost JSON and skops MLflow models only (shared servers)"),
    Setting("STALE_FRAME_MS", "STREAM_POSE_ML_STALE_FRAME_MS", 250.0, _non_negative_float,
            "frames read this much later than sent (a backlog) are shed, and windows answered "
            "this late are dropped; 0: never shed"),
    Setting("MAX_IMAGE_SESSIONS", "STREAM_POSE_ML_MAX_IMAGE_SESSIONS", 4, _positive_int,
            "most sessions sending images (each runs its own MediaPipe landmarker)"),
    Setting("MAX_IMAGE_PIXELS", "STREAM_POSE_ML_MAX_IMAGE_PIXELS", 4096 * 4096, _positive_int,
            "largest decoded image of a frame event, in pixels"),
    Setting("POSE_MODEL", "STREAM_POSE_ML_POSE_MODEL", "full", _text,
            "MediaPipe pose model for frame events: lite, full or heavy"),
    Setting("PING_INTERVAL", "STREAM_POSE_ML_PING_INTERVAL", 25.0, _positive_float,
            "Engine.IO ping interval in seconds"),
    Setting("PING_TIMEOUT", "STREAM_POSE_ML_PING_TIMEOUT", 20.0, _positive_float,
            "Engine.IO ping timeout in seconds"),
    Setting("REDIS_URL", "STREAM_POSE_ML_REDIS_URL", None, _optional_text,
            "Redis URL of the Socket.IO message queue (redis://host:6379/0) for several replicas"),
    Setting("ACTIVE_MODEL_REFRESH_SECONDS", "STREAM_POSE_ML_ACTIVE_MODEL_REFRESH_SECONDS", 1.0,
            _positive_float,
            "how often a replica re-checks models/active.json for a model set by another replica"),
    Setting("MLFLOW_URL", "STREAM_POSE_ML_MLFLOW_URL", None, _optional_text,
            "base URL of the mlflow/ model service; unset: MLflow models run in-process"),
    Setting("MLFLOW_TOKEN", "STREAM_POSE_ML_MLFLOW_TOKEN", None, _optional_text,
            "token the API sends to the mlflow/ service's /load; unset: STREAM_POSE_ML_API_TOKEN"),
    Setting("MLFLOW_TIMEOUT", "STREAM_POSE_ML_MLFLOW_TIMEOUT_SECONDS", 2.0, _positive_float,
            "longest wait for a scoring answer of the mlflow/ service before running in-process"),
    Setting("MLFLOW_RETRY_SECONDS", "STREAM_POSE_ML_MLFLOW_RETRY_SECONDS", 5.0, _positive_float,
            "longest back-off before retrying a failed mlflow/ service (starts at 0.5 s)"),
    LOG_LEVEL,
)  # fmt: skip

#: The ``mlflow/`` model service's settings (docs/api.md, "The MLflow model service").
MODEL_SERVICE_SETTINGS: tuple[Setting, ...] = (
    API_TOKEN,
    Setting("DATA_DIR", "STREAM_POSE_ML_DATA", None, _optional_text,
            "data folder; uploads go to <data>/mlflow-service unless MODELS_DIR is set"),
    Setting("MODELS_DIR", "STREAM_POSE_ML_MLFLOW_MODELS_DIR", None, _optional_text,
            "where uploads are extracted; unset: <data>/mlflow-service, else a temporary folder"),
    Setting("MODEL", "STREAM_POSE_ML_MLFLOW_MODEL", None, _optional_text,
            "an MLflow model folder or archive to load at start"),
    MAX_CONTENT_LENGTH,
    ARCHIVE_MAX_FILES,
    ARCHIVE_MAX_BYTES,
    Setting("MAX_ROWS", "STREAM_POSE_ML_MLFLOW_MAX_ROWS", 10_000, _positive_int,
            "most rows in one scoring request"),
    Setting("CACHE_SIZE", "STREAM_POSE_ML_MLFLOW_CACHE_SIZE", 4, _positive_int,
            "models kept loaded (the least recently loaded is evicted)"),
    LOG_LEVEL,
)  # fmt: skip


class ConfigError(ValueError):
    """A setting with a value the API cannot use (names the environment variable)."""


def load_config(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    settings: tuple[Setting, ...] = SETTINGS,
) -> dict[str, Any]:
    """Defaults, then environment variables, then ``overrides`` (by config key)."""
    environ = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for setting in settings:
        default = setting.default
        value = setting.parse(default) if isinstance(default, str) else default
        raw = environ.get(setting.env)
        if raw is not None and raw != "":
            try:
                value = setting.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{setting.env}={raw!r}: {exc}") from exc
        config[setting.key] = value
    for key, value in (overrides or {}).items():
        known = next((s for s in settings if s.key == key), None)
        if known is not None and isinstance(value, str):
            try:
                value = known.parse(value)
            except ValueError as exc:
                raise ConfigError(f"{key}={value!r}: {exc}") from exc
        config[key] = value
    return config

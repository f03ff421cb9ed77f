"""The MLflow model service: one process that loads uploaded MLflow models and scores rows.

Run it (one worker: the loaded models live in the worker's memory)::

    python mlflow/model_service.py --port 5002 [--model path/to/mlflow_model]
    gunicorn -w 1 --threads 8 -b 0.0.0.0:5002 --chdir mlflow 'model_service:create_app()'

This file is run by path, never imported as ``mlflow.<...>``: a package named ``mlflow`` in the
repository would shadow the MLflow library.

Routes (docs/api.md, "The MLflow model service"):

* ``POST /invocations``: MLflow's scoring protocol, a JSON body with one of ``dataframe_split``,
  ``dataframe_records``, ``instances`` or ``inputs`` and optional ``params``
  (``{"predict_method": "predict_proba"}`` answers class probabilities); answers
  ``{"predictions": [...]}``. ``?model_id=<id>`` picks a loaded model (409 if it is not loaded).
* ``POST /load``: a multipart ``file`` (MLflow model as zip / tar / tar.gz) or JSON
  ``{"path": "<folder or archive on this machine>"}``, optional ``model_id``; needs the token.
* ``GET /health`` (alive), ``GET /ping`` (MLflow's name for it), ``GET /ready`` (a model is
  loaded, else 503), ``GET /model`` (what is loaded: input columns, classes, window).

Models are read with ``stream_pose_ml.learning.loading.load_model``: the native scikit-learn
(skops, with this package's allow-list) or XGBoost model when the MLflow model has that flavor,
else MLflow's pyfunc loader, so predictions equal the in-process ones of the live API.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from stream_pose_ml.errors import StreamPoseMLError
from stream_pose_ml.serving.archive import ArchiveLimits, archive_kind, safe_extract
from stream_pose_ml.serving.errors import ServingError
from stream_pose_ml.serving.logfmt import kv

logger = logging.getLogger("mlflow_service")

#: Keys of a scoring request that carry the rows (MLflow's protocol); exactly one is allowed.
INPUT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
PREDICT_METHODS = ("predict", "predict_proba")
_CHUNK = 1 << 20
_OWNED = re.compile(r"^[A-Za-z0-9_.-]{1,64}-[0-9a-f]{8}$")  # <model id>-<8 hex>, see _install


def _env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r}: must be an integer") from None
    if value < 1:
        raise SystemExit(f"{name}={raw!r}: must be >= 1")
    return value


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Settings from the environment (documented defaults), then ``overrides`` by key."""
    env = os.environ if environ is None else environ
    settings: dict[str, Any] = {
        "API_TOKEN": env.get("STREAM_POSE_ML_API_TOKEN", "").strip() or None,
        "MODELS_DIR": env.get("STREAM_POSE_ML_MLFLOW_MODELS_DIR", "").strip() or None,
        "MODEL": env.get("STREAM_POSE_ML_MLFLOW_MODEL", "").strip() or None,
        "MAX_CONTENT_LENGTH": _env_int(env, "STREAM_POSE_ML_MAX_UPLOAD_BYTES", 200 * 1024**2),
        "ARCHIVE_MAX_FILES": _env_int(env, "STREAM_POSE_ML_ARCHIVE_MAX_FILES", 10_000),
        "ARCHIVE_MAX_BYTES": _env_int(env, "STREAM_POSE_ML_ARCHIVE_MAX_BYTES", 2 * 1024**3),
        "MAX_ROWS": _env_int(env, "STREAM_POSE_ML_MLFLOW_MAX_ROWS", 10_000),
        "CACHE_SIZE": _env_int(env, "STREAM_POSE_ML_MLFLOW_CACHE_SIZE", 4),
        "LOG_LEVEL": env.get("STREAM_POSE_ML_LOG_LEVEL", "INFO").strip() or "INFO",
    }
    settings.update(overrides or {})
    return settings


def default_models_dir(configured: str | None) -> Path:
    """Where uploads are extracted: ``configured``, else ``$STREAM_POSE_ML_DATA/mlflow-service``
    when that is set, else a new temporary folder."""
    if configured:
        return Path(configured).expanduser()
    data = os.environ.get("STREAM_POSE_ML_DATA", "").strip()
    if data:
        return Path(data).expanduser() / "mlflow-service"
    return Path(tempfile.mkdtemp(prefix="spml-mlflow-service-"))


def _remove_leftovers(root: Path) -> None:
    """Remove the folders a previous run of the service extracted (and nothing else)."""
    if not root.is_dir():
        return
    for entry in root.iterdir():
        if entry.is_dir() and (_OWNED.match(entry.name) or entry.name.startswith(".incoming-")):
            shutil.rmtree(entry, ignore_errors=True)


# -- models ---------------------------------------------------------------------------------------
@dataclass
class ServedModel:
    """A loaded MLflow model (``model``: a ``LoadedModel``) and where its files are."""

    model_id: str
    model: Any
    directory: Path
    source: str
    owned: bool  # the folder was extracted here and is removed when the model is evicted
    loaded_at: float = field(default_factory=time.time)

    def describe(self) -> dict[str, Any]:
        model = self.model
        classes = None if model.classes is None else list(model.classes)
        spec = model.feature_spec
        return {
            "model_id": self.model_id,
            "source": self.source,
            "format": model.format,
            "estimator": type(model.estimator).__name__,
            "input_columns": list(model.input_columns),
            "n_input_columns": len(model.input_columns),
            "classes": classes,
            "class_labels": None if classes is None else model.label(classes),
            "has_predict_proba": bool(model.has_predict_proba),
            "window_size": model.window_size,
            "window_stride": model.window_stride,
            "feature_spec": None if spec is None else spec.to_dict(),
            "loaded_at": self.loaded_at,
        }


class ModelRegistry:
    """The loaded models (at most ``cache_size``, least recently loaded evicted) and the current
    one, which ``/invocations`` uses when no ``model_id`` is asked for. Thread-safe."""

    def __init__(self, root: Path, limits: ArchiveLimits, cache_size: int = 4) -> None:
        self.root = root
        self.limits = limits
        self.cache_size = cache_size
        self._models: OrderedDict[str, ServedModel] = OrderedDict()
        self._current: str | None = None
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()  # one load at a time: loads are memory-heavy
        root.mkdir(parents=True, exist_ok=True)

    def get(self, model_id: str | None = None) -> ServedModel:
        with self._lock:
            key = model_id or self._current
            found = self._models.get(key) if key else None
        if found is not None:
            return found
        if model_id:
            raise ServingError(
                "model_not_loaded",
                f"model {model_id!r} is not loaded here; POST it to /load first",
                status=409,
            )
        raise ServingError(
            "no_model", "no model is loaded; POST an MLflow model to /load", status=409
        )

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def load_upload(
        self, stream: BinaryIO, filename: str, model_id: str | None, max_bytes: int
    ) -> ServedModel:
        """Store an uploaded archive, extract it safely, load it and make it current."""
        work = self.root / f".incoming-{uuid.uuid4().hex}"
        work.mkdir()
        try:
            upload = work / "upload"
            digest = _receive(stream, upload, max_bytes)
            if archive_kind(upload) is None:
                raise ServingError(
                    "bad_archive",
                    f"{filename or 'the upload'} is not a zip or tar archive; upload the MLflow "
                    "model folder (the one holding MLmodel) as zip, tar or tar.gz",
                    status=400,
                )
            safe_extract(upload, work / "model", self.limits)
            upload.unlink()
            key = _check_id(model_id) or digest[:16]
            return self._install(key, _mlflow_root(work / "model", filename), work, filename)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise

    def load_path(self, path: str, model_id: str | None) -> ServedModel:
        """Load a model folder or archive from this machine and make it current."""
        source = Path(path).expanduser()
        if not source.exists():
            raise ServingError("not_found", f"{path}: no such file or folder here", status=404)
        if source.is_file():
            with open(source, "rb") as handle:
                return self.load_upload(handle, source.name, model_id, max_bytes=2**62)
        key = _check_id(model_id) or hashlib.sha256(str(source.resolve()).encode()).hexdigest()
        return self._install(key[:16], _mlflow_root(source, str(source)), None, str(source))

    def _install(self, key: str, directory: Path, owned: Path | None, source: str) -> ServedModel:
        from stream_pose_ml.learning.loading import load_model

        with self._load_lock:
            try:
                model = load_model(directory)
            except StreamPoseMLError as exc:
                raise ServingError("not_a_model", f"{source}: {exc}", status=422) from exc
            except Exception as exc:  # a third-party flavor can raise anything
                raise ServingError(
                    "not_a_model",
                    f"{source}: cannot load this MLflow model ({type(exc).__name__}: {exc})",
                    status=422,
                ) from exc
            served = ServedModel(key, model, directory, source, owned=owned is not None)
            if owned is not None:  # keep the files next to the other models, by id
                final = self.root / f"{key}-{uuid.uuid4().hex[:8]}"
                os.replace(owned, final)
                served.directory = final / directory.relative_to(owned)
            evicted = []
            with self._lock:
                previous = self._models.pop(key, None)
                if previous is not None:
                    evicted.append(previous)
                self._models[key] = served
                self._current = key
                while len(self._models) > self.cache_size:
                    evicted.append(self._models.popitem(last=False)[1])
        for old in evicted:
            if old.owned:
                shutil.rmtree(_owned_folder(self.root, old.directory), ignore_errors=True)
        logger.info(
            kv(
                "model_loaded",
                model_id=key,
                source=source,
                columns=len(model.input_columns),
                classes=len(model.classes or ()),
            )
        )
        return served


def _owned_folder(root: Path, directory: Path) -> Path:
    """The folder under ``root`` an extracted model lives in."""
    return root / directory.relative_to(root).parts[0]


def _check_id(model_id: str | None) -> str | None:
    if model_id is None or model_id == "":
        return None
    if not (1 <= len(model_id) <= 64 and all(c.isalnum() or c in "-_." for c in model_id)):
        raise ServingError(
            "bad_model_id", "model_id must be 1-64 characters of A-Z a-z 0-9 - _ .", status=400
        )
    return model_id


def _receive(stream: BinaryIO, target: Path, max_bytes: int) -> str:
    digest = hashlib.sha256()
    size = 0
    with open(target, "xb") as out:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise ServingError("too_large", f"the upload exceeds {max_bytes} bytes", 413)
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise ServingError("bad_archive", "the upload is empty", status=400)
    return digest.hexdigest()


def _mlflow_root(folder: Path, name: str) -> Path:
    """The folder holding ``MLmodel``: ``folder`` itself or its only subfolder."""
    if (folder / "MLmodel").is_file():
        return folder
    entries = [p for p in folder.iterdir() if p.name not in ("__MACOSX", ".DS_Store")]
    if len(entries) == 1 and (entries[0] / "MLmodel").is_file():
        return entries[0]
    raise ServingError(
        "not_a_model",
        f"{name}: no MLmodel file at the top of the archive (or in its only folder); this "
        "service serves MLflow models only",
        status=422,
    )


# -- scoring --------------------------------------------------------------------------------------
def _bad(message: str) -> ServingError:
    return ServingError("bad_payload", message, status=400)


def _numbers(data: Any, what: str) -> np.ndarray:
    """A float64 array of ``data`` (``null`` becomes NaN); 400 for anything not a number."""
    try:
        matrix = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise _bad(f"{what} must hold numbers (null for missing): {exc}") from exc
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2:
        raise _bad(f"{what} must be a list of rows, got an array of shape {matrix.shape}")
    return matrix


def _select(matrix: np.ndarray, names: list[str], columns: list[str]) -> np.ndarray:
    """The model's ``columns`` of ``matrix`` whose columns are ``names``, in model order."""
    if names == columns:
        return matrix
    position = {name: i for i, name in enumerate(names)}
    missing = [c for c in columns if c not in position]
    if missing:
        raise _bad(
            f"the rows lack {len(missing)} of the model's {len(columns)} input columns "
            f"(first: {missing[:3]}); GET /model lists them"
        )
    return matrix[:, [position[c] for c in columns]]


def _frame(records: Any, what: str) -> pd.DataFrame:
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise _bad(f"{what} must be a list of {{column: value}} objects")
    return pd.DataFrame.from_records(records)


def parse_rows(body: Any, columns: list[str], max_rows: int) -> np.ndarray:
    """The ``(n, len(columns))`` float64 matrix of a scoring request in MLflow's JSON protocol.

    Named columns are picked by name (extra ones ignored); unnamed rows must have the
    signature's columns in order. ``null`` is NaN (a missing feature).
    """
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object with one of " + ", ".join(INPUT_KEYS))
    keys = [k for k in INPUT_KEYS if k in body]
    if len(keys) != 1:
        raise _bad(
            f"send exactly one of {', '.join(INPUT_KEYS)} (got {sorted(body)[:6]}); e.g. "
            '{"dataframe_split": {"columns": [...], "data": [[...], ...]}}'
        )
    key, value = keys[0], body[keys[0]]
    frame: pd.DataFrame | None = None
    if key == "dataframe_split":
        if not isinstance(value, dict) or not isinstance(value.get("data"), list):
            raise _bad('dataframe_split must be {"columns": [...], "data": [[...], ...]}')
        names = value.get("columns")
        matrix = _numbers(value["data"], "dataframe_split.data")
        if names is not None:
            if not isinstance(names, list) or len(names) != matrix.shape[1]:
                raise _bad(
                    f"dataframe_split.columns must list one name per value of a row "
                    f"({matrix.shape[1]})"
                )
            matrix = _select(matrix, [str(n) for n in names], columns)
    elif key == "dataframe_records":
        frame = _frame(value, key)
    elif isinstance(value, dict):  # columnar "inputs": {column: [values]}
        try:
            frame = pd.DataFrame(value)
        except ValueError as exc:
            raise _bad(f"{key} as an object must map each column to a list: {exc}") from exc
    elif isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        frame = _frame(value, key)
    elif isinstance(value, list):
        matrix = _numbers(value, key)
    else:
        raise _bad(f"{key} must be a list of rows or of {{column: value}} objects")
    if frame is not None:
        frame.columns = [str(c) for c in frame.columns]
        _select(np.empty((0, frame.shape[1])), list(frame.columns), columns)  # names missing?
        matrix = _numbers(frame.loc[:, columns].to_numpy(dtype=object), key)
    if matrix.shape[0] == 0:
        raise _bad("no rows to score")
    if matrix.shape[0] > max_rows:
        raise ServingError("too_large", f"at most {max_rows} rows per request", status=413)
    if matrix.shape[1] != len(columns):
        raise _bad(
            f"rows have {matrix.shape[1]} values but the model takes {len(columns)} columns "
            "(in the signature's order; GET /model lists them)"
        )
    if np.isinf(matrix).any():
        raise _bad("infinite values are not features; send null for a missing value")
    return matrix


def predict_method(body: Mapping[str, Any]) -> str:
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise _bad("params must be an object")
    method = params.get("predict_method", "predict")
    if method not in PREDICT_METHODS:
        raise _bad(f"params.predict_method must be one of {', '.join(PREDICT_METHODS)}")
    return str(method)


# -- the app --------------------------------------------------------------------------------------
def _is_loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback


def _check_token(token: str | None) -> None:
    """401/403 unless the request carries the token, or comes from loopback when none is set."""
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        given = given.strip() if scheme.lower() == "bearer" else ""
        given = given or request.form.get("token", "")
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            raise ServingError(
                "unauthorized",
                "a valid token is required: send 'Authorization: Bearer <token>' "
                "(STREAM_POSE_ML_API_TOKEN on the service)",
                status=401,
            )
    elif not _is_loopback(request.remote_addr):
        raise ServingError(
            "forbidden",
            "no token is configured, so models can be loaded only from this machine; set "
            "STREAM_POSE_ML_API_TOKEN to allow remote clients",
            status=403,
        )


def _error(code: str, message: str, status: int) -> tuple[Response, int]:
    # ``error_code`` and ``message`` at the top are what MLflow's scoring server answers.
    body = {
        "error_code": code.upper(),
        "message": message,
        "error": {"code": code, "message": message},
    }
    return jsonify(body), status


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The Flask app of the service; ``config`` overrides the environment (see load_settings)."""
    settings = load_settings(config)
    logging.basicConfig(
        level=settings["LOG_LEVEL"].upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    app = Flask("mlflow_model_service")
    app.config.update(settings)
    models_dir = default_models_dir(settings["MODELS_DIR"])
    _remove_leftovers(models_dir)  # models live in memory: files of a previous run are stale
    registry = ModelRegistry(
        models_dir.resolve(),
        ArchiveLimits(settings["ARCHIVE_MAX_FILES"], settings["ARCHIVE_MAX_BYTES"]),
        settings["CACHE_SIZE"],
    )
    app.extensions["model_registry"] = registry
    started = time.time()

    @app.errorhandler(ServingError)
    def serving_error(exc: ServingError) -> tuple[Response, int]:
        logger.info(kv("request_refused", path=request.path, code=exc.code, status=exc.status))
        return _error(exc.code, exc.message, exc.status)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge) -> tuple[Response, int]:
        return _error(
            "too_large", f"the request exceeds {app.config['MAX_CONTENT_LENGTH']} bytes", 413
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        code = (exc.name or "error").lower().replace(" ", "_")
        return _error(code, exc.description or exc.name, exc.code or 500)

    @app.get("/health")
    @app.get("/ping")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "models": registry.ids(),
            "uptime_s": round(time.time() - started, 3),
        }

    @app.get("/ready")
    def ready() -> tuple[dict[str, Any], int]:
        try:
            model_id = registry.get().model_id
        except ServingError:
            return {"ready": False, "reason": "no_model", "model_id": None}, 503
        return {"ready": True, "reason": "ok", "model_id": model_id}, 200

    @app.get("/model")
    def model_info() -> dict[str, Any]:
        served = registry.get(request.args.get("model_id") or None)
        return {**served.describe(), "loaded": registry.ids()}

    @app.post("/load")
    def load() -> tuple[dict[str, Any], int]:
        _check_token(app.config["API_TOKEN"])
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            served = registry.load_upload(
                upload.stream,
                upload.filename,
                request.form.get("model_id"),
                app.config["MAX_CONTENT_LENGTH"],
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
            served = registry.load_path(path, model_id if isinstance(model_id, str) else None)
        return {"result": "loaded", **served.describe()}, 200

    @app.post("/invocations")
    def invocations() -> dict[str, Any]:
        served = registry.get(request.args.get("model_id") or None)
        body = request.get_json(silent=True)
        if body is None:
            raise ServingError(
                "bad_payload",
                "send a JSON body (Content-Type: application/json) in MLflow's scoring format",
                status=415 if not request.is_json else 400,
            )
        method = predict_method(body)
        model = served.model
        rows = parse_rows(body, list(model.input_columns), app.config["MAX_ROWS"])
        try:
            if method == "predict_proba":
                predictions = np.asarray(model.predict_proba(rows), dtype=np.float64).tolist()
            else:
                predictions = np.asarray(model.predict(rows)).tolist()
        except ServingError:
            raise
        except Exception as exc:  # third-party model code
            logger.warning(kv("predict_failed", model_id=served.model_id, error=exc))
            raise ServingError(
                "predict_failed",
                f"the model could not score these rows ({type(exc).__name__}: {exc})",
                status=422 if isinstance(exc, StreamPoseMLError) else 500,
            ) from exc
        return {"predictions": predictions, "model_id": served.model_id}

    if settings["MODEL"]:
        registry.load_path(settings["MODEL"], None)
    logger.info(
        kv("mlflow_service_start", models_dir=models_dir, token=bool(settings["API_TOKEN"]))
    )
    return app


def main(argv: list[str] | None = None) -> None:
    """``python mlflow/model_service.py``: run the service under gunicorn (one worker)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default=os.environ.get("STREAM_POSE_ML_MLFLOW_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5002")))
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--model", help="an MLflow model folder or archive to load at start")
    args = parser.parse_args(argv)
    if args.model:
        os.environ["STREAM_POSE_ML_MLFLOW_MODEL"] = str(Path(args.model).resolve())
    here = str(Path(__file__).resolve().parent)
    command = [sys.executable, "-m", "gunicorn", "--chdir", here, "-w", "1", "--threads"]
    command += [str(args.threads), "-b", f"{args.host}:{args.port}", "--timeout", "120"]
    command += ["--graceful-timeout", "5", "model_service:create_app()"]
    os.execv(sys.executable, command)  # same process: a supervisor's signals reach gunicorn


if __name__ == "__main__":
    main()

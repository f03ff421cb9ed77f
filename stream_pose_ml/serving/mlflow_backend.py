"""The ``mlflow`` prediction backend: feature rows scored by the ``mlflow/`` model service over
HTTP, with the model in this process as the fallback.

:class:`MLflowPredictor` is a :class:`~stream_pose_ml.serving.classifier.Predictor`. While the
service answers, rows go to its ``POST /invocations`` (``backend == "mlflow"``); when a request
fails (refused, timed out, an error status, a malformed answer, the model not loaded there) that
call and the following ones run in-process (``backend == "in_process"``), and after a back-off
(``retry_seconds``, doubling up to ``max_retry_seconds``) a background check makes sure the
service has the model (``POST /load`` if not) and switches back. ``backend`` is per thread: it
names who answered the last ``predict_rows`` call of the calling thread, which is what a
``frame_result`` reports.

The service is the one in ``mlflow/model_service.py`` (see docs/api.md); it answers probabilities
with ``params: {"predict_method": "predict_proba"}`` in the model's class order, so results equal
the in-process ones.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import requests
from requests.adapters import HTTPAdapter

from stream_pose_ml.errors import ServingError
from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving.classifier import InProcessPredictor, Predictor

logger = logging.getLogger(__name__)

MLFLOW_BACKEND = "mlflow"
IN_PROCESS_BACKEND = InProcessPredictor.backend


class ModelServiceError(ServingError):
    """The model service did not answer usefully; ``code`` is the reason (``unreachable``,
    ``timeout``, ``model_not_loaded``, ``http_<status>``, ``bad_answer``, ``model_mismatch``)."""

    default_code = "mlflow_unavailable"
    default_status = 503


class MLflowServiceClient:
    """HTTP client of the model service: one pooled ``requests.Session``, short timeouts.

    ``timeout`` (seconds) bounds a scoring request, ``connect_timeout`` the TCP connect,
    ``load_timeout`` a model upload and load. ``token`` is sent as ``Authorization: Bearer``.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 2.0,
        connect_timeout: float = 0.5,
        load_timeout: float = 120.0,
        pool_size: int = 8,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.load_timeout = load_timeout
        self.http = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, route: str, timeout: float, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}{route}"
        try:
            return self.http.request(method, url, timeout=(self.connect_timeout, timeout), **kwargs)
        except requests.Timeout as exc:
            raise ModelServiceError("timeout", f"{url} did not answer in {timeout} s") from exc
        except requests.RequestException as exc:
            raise ModelServiceError("unreachable", f"{url}: {exc}") from exc

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        if response.status_code != 200:
            code = "model_not_loaded" if response.status_code == 409 else None
            raise ModelServiceError(
                code or f"http_{response.status_code}",
                f"{response.url} answered {response.status_code}: {response.text[:300]}",
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise ModelServiceError("bad_answer", f"{response.url}: not JSON ({exc})") from exc
        if not isinstance(body, dict):
            raise ModelServiceError("bad_answer", f"{response.url}: not a JSON object")
        return body

    def health(self) -> bool:
        """True if ``GET /health`` answers 200."""
        try:
            return self._call("GET", "/health", self.timeout).status_code == 200
        except ModelServiceError:
            return False

    def model_info(self, model_id: str) -> dict[str, Any] | None:
        """``GET /model?model_id=...``: what the service knows of ``model_id``; None if it does
        not have it loaded."""
        try:
            return self._json(
                self._call("GET", "/model", self.timeout, params={"model_id": model_id})
            )
        except ModelServiceError as exc:
            if exc.code == "model_not_loaded":
                return None
            raise

    def load(self, model_id: str, path: Path) -> dict[str, Any]:
        """``POST /load`` the MLflow model at ``path`` (a folder, zipped in memory, or an
        archive) under ``model_id``; the service's description of the loaded model."""
        path = Path(path)
        if path.is_dir():
            data = _zip_folder(path)
            name = f"{model_id}.zip"
        else:
            data = path.read_bytes()
            name = path.name
        response = self._call(
            "POST",
            "/load",
            self.load_timeout,
            files={"file": (name, data, "application/octet-stream")},
            data={"model_id": model_id},
        )
        return self._json(response)

    def invoke(self, model_id: str, columns_json: str, rows: np.ndarray, method: str) -> list[Any]:
        """``POST /invocations`` of ``rows`` ``(k, columns)`` as ``dataframe_split`` (NaN sent
        as ``null``); the ``predictions`` list. ``columns_json`` is the JSON list of column
        names, encoded once by the caller."""
        data = json.dumps(rows.tolist()).replace("NaN", "null")  # rows hold no infinities
        body = (
            f'{{"dataframe_split":{{"columns":{columns_json},"data":{data}}},'
            f'"params":{{"predict_method":"{method}"}}}}'
        )
        response = self._call(
            "POST",
            "/invocations",
            self.timeout,
            params={"model_id": model_id},
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        predictions = self._json(response).get("predictions")
        if not isinstance(predictions, list) or len(predictions) != len(rows):
            raise ModelServiceError(
                "bad_answer", f"expected {len(rows)} predictions from {self.base_url}"
            )
        return predictions

    def close(self) -> None:
        self.http.close()


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


class BackendObserver(Protocol):
    """Where the backend counts fallbacks and predictions (``api/metrics.py``)."""

    def backend_fallback(self, reason: str) -> None: ...
    def backend_predicted(self, backend: str, n: int) -> None: ...


class _Uncounted:
    """The default observer: counts nothing."""

    def backend_fallback(self, reason: str) -> None: ...
    def backend_predicted(self, backend: str, n: int) -> None: ...


class MLflowPredictor:
    """Scores feature rows on the model service, falling back to the in-process model.

    ``model`` is the loaded model (``LoadedModel``) of the same file, used for the fallback and
    for the class names; ``model_path`` is the MLflow model folder (or archive) sent to the
    service's ``/load`` under ``model_id``. ``connect()`` runs the first load synchronously; it
    is called at construction unless ``connect=False``.
    """

    def __init__(
        self,
        client: MLflowServiceClient,
        model_id: str,
        model_path: Path,
        model: Any,
        *,
        fallback: Predictor | None = None,
        observer: BackendObserver | None = None,
        retry_seconds: float = 0.5,
        max_retry_seconds: float = 5.0,
        spawn: Callable[[Callable[[], None]], Any] | None = None,
        connect: bool = True,
    ) -> None:
        self.client = client
        self.model_id = model_id
        self.model_path = Path(model_path)
        self.model = model
        self.fallback = fallback or InProcessPredictor(model)
        self.observer: BackendObserver = observer or _Uncounted()
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max(retry_seconds, max_retry_seconds)
        self._spawn = spawn or _thread_spawn
        classes = getattr(model, "classes", None)
        self._names = None if classes is None else list(model.label(list(classes)))
        self._method = (
            "predict_proba"
            if self._names is not None and getattr(model, "has_predict_proba", False)
            else "predict"
        )
        self._columns_json = json.dumps(list(model.input_columns))
        self._lock = threading.Lock()
        self._up = False
        self._recovering = False
        self._backoff = retry_seconds
        self._next_try = 0.0
        self._local = threading.local()
        if connect:
            self.connect()

    # -- state ----------------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        """Who answered this thread's last ``predict_rows`` (before any: who would answer)."""
        return getattr(self._local, "backend", MLFLOW_BACKEND if self._up else IN_PROCESS_BACKEND)

    @property
    def service_up(self) -> bool:
        return self._up

    def connect(self) -> bool:
        """Make sure the service has the model and use it; False (and retry later) if not."""
        try:
            self._ensure_loaded()
        except ModelServiceError as exc:
            with self._lock:
                self._next_try = time.monotonic() + self._backoff
                self._backoff = min(self._backoff * 2, self.max_retry_seconds)
            retry = round(self._next_try - time.monotonic(), 2)
            self._warn("mlflow_backend_unavailable", exc, retry_s=retry)
            return False
        with self._lock:
            self._up = True
            self._backoff = self.retry_seconds
        logger.info(kv("mlflow_backend_up", model_id=self.model_id, url=self.client.base_url))
        return True

    def _ensure_loaded(self) -> None:
        info = self.client.model_info(self.model_id)
        if info is None:
            info = self.client.load(self.model_id, self.model_path)
        columns = info.get("input_columns")
        if columns is not None and list(columns) != list(self.model.input_columns):
            raise ModelServiceError(
                "model_mismatch",
                f"the service's model {self.model_id} takes other input columns than the "
                "model loaded here",
            )

    def _mark_down(self, exc: ModelServiceError) -> None:
        with self._lock:
            was_up, self._up = self._up, False
            if was_up:
                self._next_try = time.monotonic() + self._backoff
        if was_up:
            self.observer.backend_fallback(exc.code)
            self._warn("mlflow_backend_fallback", exc)

    def _warn(self, event: str, exc: ModelServiceError, **fields: Any) -> None:
        logger.warning(
            kv(
                event,
                model_id=self.model_id,
                url=self.client.base_url,
                reason=exc.code,
                error=exc.message,
                **fields,
            )
        )

    def _maybe_recover(self) -> None:
        with self._lock:
            if self._up or self._recovering or time.monotonic() < self._next_try:
                return
            self._recovering = True

        def recover() -> None:
            try:
                self.connect()
            finally:
                with self._lock:
                    self._recovering = False

        try:
            self._spawn(recover)
        except Exception as exc:  # no thread: try again at the next call
            with self._lock:
                self._recovering = False
            logger.warning(kv("mlflow_backend_recover_failed", error=exc))

    # -- Predictor ------------------------------------------------------------------------------
    def predict_rows(self, rows: np.ndarray) -> tuple[list[str], list[dict[str, float]] | None]:
        """Labels and probabilities of feature rows ``(k, columns)``, from the service when it
        answers, else from the in-process model."""
        if self._up:
            try:
                result = self._remote(rows)
            except ModelServiceError as exc:
                self._mark_down(exc)
            else:
                self._local.backend = MLFLOW_BACKEND
                self.observer.backend_predicted(MLFLOW_BACKEND, len(rows))
                return result
        else:
            self._maybe_recover()
        result = self.fallback.predict_rows(rows)
        self._local.backend = IN_PROCESS_BACKEND
        self.observer.backend_predicted(IN_PROCESS_BACKEND, len(rows))
        return result

    def _remote(self, rows: np.ndarray) -> tuple[list[str], list[dict[str, float]] | None]:
        predictions = self.client.invoke(self.model_id, self._columns_json, rows, self._method)
        if self._method == "predict":
            return list(self.model.label(predictions)), None
        names = self._names or []
        try:
            proba = np.asarray(predictions, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ModelServiceError("bad_answer", f"probabilities are not numbers: {exc}") from exc
        if proba.shape != (len(rows), len(names)):
            raise ModelServiceError(
                "bad_answer",
                f"probabilities of shape {proba.shape}, expected {(len(rows), len(names))}",
            )
        labels = [names[i] for i in proba.argmax(axis=1)]
        return labels, [dict(zip(names, map(float, row), strict=True)) for row in proba]


def _thread_spawn(fn: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=fn, daemon=True, name="mlflow-backend-recover")
    thread.start()
    return thread


def mlflow_predictor_factory(
    client: MLflowServiceClient,
    models_root: Path,
    *,
    observer: BackendObserver | None = None,
    retry_seconds: float = 0.5,
    max_retry_seconds: float = 5.0,
    spawn: Callable[[Callable[[], None]], Any] | None = None,
) -> Callable[[Any, Any], Predictor | None]:
    """A ``LiveService(predictor_factory=...)``: an :class:`MLflowPredictor` for stored models
    of format ``mlflow`` (files under ``models_root/<id>/<record.path>``), None (in-process)
    for every other format."""

    def factory(record: Any, model: Any) -> Predictor | None:
        if record.format != "mlflow":
            return None
        return MLflowPredictor(
            client,
            record.id,
            Path(models_root) / record.id / record.path,
            model,
            observer=observer,
            retry_seconds=retry_seconds,
            max_retry_seconds=max_retry_seconds,
            spawn=spawn,
        )

    return factory

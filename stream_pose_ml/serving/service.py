"""`LiveService`: live keypoints and images -> per-session windows -> classifications.

The service knows nothing about Flask or Socket.IO. The API calls ``open_session``,
``configure``, ``keypoints``, ``frame`` and ``close_session`` with the connection's ``sid`` and
passes two callables: ``emit(event, body, sid)`` to answer a client and ``spawn(fn)`` to run a
session's worker (the API submits it to a :class:`~stream_pose_ml.serving.workers.WorkerPool`).

Flow of a ``keypoints`` message: parse and validate (in the caller's thread) -> append to the
session's rolling window -> if windows are due, they become the session's pending job and the
session's worker is started unless it is running -> the worker classifies the newest pending job
and emits ``frame_result``. A job that is still pending when a newer one arrives is replaced and
its windows count as dropped, so a fast client never builds a queue. ``frame`` messages (encoded
images) take the same path after MediaPipe, which runs in the session's worker.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

from stream_pose_ml.errors import ExtractionError, ModelAssetError
from stream_pose_ml.serving.classifier import ClassificationResult, Predictor, WindowClassifier
from stream_pose_ml.serving.errors import PayloadError, ServingError
from stream_pose_ml.serving.images import decode_image
from stream_pose_ml.serving.logfmt import kv
from stream_pose_ml.serving.model_store import ActiveModel, ModelRecord, ModelStore
from stream_pose_ml.serving.payload import (
    NO_FRAME_ID,
    FrameBatch,
    ImageFrame,
    PayloadLimits,
    parse_configure,
    parse_image,
    parse_keypoints,
)
from stream_pose_ml.serving.session import ClassificationJob, Session, SessionStore
from stream_pose_ml.serving.window import RollingWindow

logger = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, Any], str], None]
Spawn = Callable[[Callable[[], None]], Any]
PredictorFactory = Callable[[ModelRecord, Any], "Predictor | None"]


class ServingObserver:
    """Hooks for metrics (see ``api/metrics.py``); this default ignores everything."""

    def session_opened(self) -> None: ...
    def session_closed(self) -> None: ...
    def session_rejected(self) -> None: ...
    def frames_received(self, n: int) -> None: ...
    def frames_dropped(self, n: int) -> None: ...
    def classified(self, n: int, latency_s: float) -> None: ...
    def payload_error(self, code: str) -> None: ...
    def model_loaded(self, source: str, ok: bool) -> None: ...


def _thread_spawn(fn: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    return thread


def _default_estimator(pose_model: str) -> Any:
    from stream_pose_ml.extraction.pose_estimator import PoseEstimator

    return PoseEstimator(complexity=pose_model, running_mode="video")


class LiveService:
    """Sessions, models and the classification path of the live API."""

    def __init__(
        self,
        models: ModelStore,
        sessions: SessionStore | None = None,
        *,
        emit: Emit,
        spawn: Spawn | None = None,
        observer: ServingObserver | None = None,
        limits: PayloadLimits | None = None,
        max_image_sessions: int = 4,
        pose_model: str = "full",
        estimator_factory: Callable[[], Any] | None = None,
        predictor_factory: PredictorFactory | None = None,
        on_model_loaded: Callable[[], None] | None = None,
    ) -> None:
        self.models = models
        self.sessions = sessions if sessions is not None else SessionStore()
        self.emit = emit
        self.spawn = spawn or _thread_spawn
        self.observer = observer or ServingObserver()
        self.limits = limits or PayloadLimits()
        self.max_image_sessions = max_image_sessions
        self.estimator_factory = estimator_factory or (lambda: _default_estimator(pose_model))
        self.predictor_factory = predictor_factory
        self.on_model_loaded = on_model_loaded
        self._classifiers: OrderedDict[str, WindowClassifier] = OrderedDict()
        self._classifiers_lock = threading.Lock()

    # -- models ---------------------------------------------------------------------------------
    def classifier(self, model_id: str) -> WindowClassifier:
        """The (cached) classifier of a stored model."""
        with self._classifiers_lock:
            found = self._classifiers.get(model_id)
            if found is not None:
                self._classifiers.move_to_end(model_id)
                return found
        model = self.models.load(model_id)
        predictor = None
        if self.predictor_factory is not None:
            predictor = self.predictor_factory(self.models.record(model_id), model)
        classifier = WindowClassifier(model, model_id=model_id, predictor=predictor)
        if self.on_model_loaded is not None:  # e.g. new native libraries to limit
            self.on_model_loaded()
        with self._classifiers_lock:
            self._classifiers[model_id] = classifier
            while len(self._classifiers) > max(2, self.models.cache_size):
                self._classifiers.popitem(last=False)
        return classifier

    def set_model(
        self,
        stream: Any,
        filename: str | None,
        *,
        window_size: int | None = None,
        overlap: int | None = None,
        max_bytes: int | None = None,
    ) -> tuple[ModelRecord, ActiveModel, list[str]]:
        """Store an upload and make it the active model (what ``POST /set_model`` does)."""
        try:
            record = self.models.add(stream, filename, max_bytes=max_bytes, window_size=window_size)
            self.classifier(record.id)
            active, warnings = self.models.activate(record.id, window_size, overlap)
        except Exception:
            self.observer.model_loaded("upload", False)
            raise
        self.observer.model_loaded("upload", True)
        return record, active, warnings

    def activate(
        self, model_id: str, window_size: int | None = None, overlap: int | None = None
    ) -> tuple[ActiveModel, list[str]]:
        """Make a stored model the active one (``POST /models/<id>/activate``)."""
        try:
            self.classifier(model_id)
            result = self.models.activate(model_id, window_size, overlap)
        except Exception:
            self.observer.model_loaded("activate", False)
            raise
        self.observer.model_loaded("activate", True)
        return result

    def restore(self) -> ActiveModel | None:
        """Load the active model remembered in the data folder (at start); None if there is none
        or it cannot be loaded (logged)."""
        active = self.models.active()
        if active is None:
            return None
        try:
            self.classifier(active.model_id)
        except Exception as exc:
            logger.error(kv("model_restore_failed", model_id=active.model_id, error=exc))
            self.observer.model_loaded("restore", False)
            return None
        logger.info(kv("model_restored", model_id=active.model_id, window=active.window_size))
        self.observer.model_loaded("restore", True)
        return active

    def ready(self) -> tuple[bool, str]:
        """``(True, "ok")`` when an active model is loaded; else False and the reason."""
        active = self.models.active()
        if active is None:
            return False, "no_model"
        try:
            self.classifier(active.model_id)
        except Exception as exc:
            return False, f"model_unavailable: {exc}"
        return True, "ok"

    # -- sessions -------------------------------------------------------------------------------
    def open_session(self, sid: str, remote_addr: str | None = None) -> Session:
        try:
            session = self.sessions.create(sid, remote_addr)
        except ServingError:
            self.observer.session_rejected()
            raise
        self.observer.session_opened()
        return session

    def close_session(self, sid: str) -> None:
        session = self.sessions.remove(sid)
        if session is None:
            return
        with session.lock:
            session.closed = True
            session.pending_job = None
            session.pending_image = None
            estimator = None if session.busy else session.estimator
            if estimator is not None:
                session.estimator = None
        if estimator is not None:
            estimator.close()
        self.observer.session_closed()

    def expire_idle(self) -> list[str]:
        """Close sessions idle for longer than the store's timeout; returns their sids."""
        expired = [s.sid for s in self.sessions.idle()]
        for sid in expired:
            self.close_session(sid)
        return expired

    def status(self, sid: str) -> dict[str, Any]:
        return self._session(sid).status()

    def _session(self, sid: str) -> Session:
        session = self.sessions.get(sid)
        if session is None:
            raise PayloadError(
                "no_session", "this connection has no live session (expired?); reconnect"
            )
        return session

    # -- messages -------------------------------------------------------------------------------
    def configure(self, sid: str, message: Any) -> dict[str, Any]:
        """Apply a ``configure`` message; returns the session's resulting settings and status."""
        session = self._session(sid)
        with self._counting(session):
            fields = parse_configure(message)
            with session.lock:
                previous = session.settings
                session.settings = replace(previous, **fields)
                try:
                    self._resolve(session)
                except PayloadError as exc:
                    if exc.code != "no_model":
                        session.settings = previous
                        raise
                except ServingError:
                    session.settings = previous
                    raise
                settings = session.settings
                status = session.status()
        return {
            **status,
            "following_active": settings.model_id is None,
            "image_size": settings.image_size,
            "include_features": settings.include_features,
        }

    def keypoints(self, sid: str, message: Any, received: float | None = None) -> None:
        """Handle a ``keypoints`` message (one frame, a batch or binary frames)."""
        received = time.perf_counter() if received is None else received
        session = self._session(sid)
        with self._counting(session):
            batch = parse_keypoints(message, self.limits)
            self._ingest(session, batch, received)

    def frame(self, sid: str, message: Any, received: float | None = None) -> None:
        """Handle a ``frame`` message (a JPEG or PNG image); MediaPipe runs in the worker."""
        received = time.perf_counter() if received is None else received
        session = self._session(sid)
        with self._counting(session):
            image = parse_image(message, self.limits)
            with session.lock:
                self._resolve(session)  # fail early without a model
                if session.estimator is None and self._image_sessions() >= self.max_image_sessions:
                    raise PayloadError(
                        "image_capacity",
                        f"{self.max_image_sessions} sessions already send images; send keypoints "
                        "(run MediaPipe in the client) or try later",
                        status=503,
                    )
                dropped = 1 if session.pending_image is not None else 0
                session.counters.frames_dropped += dropped
                session.pending_image = (image, received)
                start = not session.busy
                session.busy = True
            if dropped:
                self.observer.frames_dropped(dropped)
            if start:
                self.spawn(lambda: self._work(session))

    def record_error(self, sid: str | None, code: str) -> None:
        """Count an error the API found before the service saw the message."""
        session = self.sessions.get(sid) if sid else None
        if session is not None:
            session.counters.errors += 1
        self.observer.payload_error(code)

    @contextmanager
    def _counting(self, session: Session) -> Iterator[None]:
        """Count a message, and its error if it fails with a ServingError."""
        session.touch()
        session.counters.messages += 1
        try:
            yield
        except ServingError as exc:
            session.counters.errors += 1
            self.observer.payload_error(exc.code)
            raise

    # -- the path of a frame --------------------------------------------------------------------
    def _resolve(self, session: Session) -> tuple[WindowClassifier, RollingWindow]:
        """The session's classifier and window for its settings (call with ``session.lock``)."""
        settings = session.settings
        active = self.models.active()
        target = settings.model_id or (active.model_id if active else None)
        if target is None:
            raise PayloadError(
                "no_model",
                "no model is set: upload one with POST /set_model, or pick a stored one with "
                "configure {model_id}",
                status=409,
            )
        current = session.classifier
        classifier = (
            current
            if current is not None and current.model_id == target
            else self.classifier(target)
        )
        size = classifier.window_size
        if settings.window_size is not None and settings.window_size != size:
            raise PayloadError(
                "window_mismatch",
                f"model {target} classifies windows of {size} frames, not "
                f"{settings.window_size}; configure window_size {size} or another model",
            )
        if settings.stride is not None:
            stride = settings.stride
        elif settings.overlap is not None:
            if settings.overlap >= size:
                raise PayloadError(
                    "bad_overlap",
                    f"overlap {settings.overlap} must be smaller than the window of {size} frames",
                )
            stride = size - settings.overlap
        elif active is not None and active.model_id == target:
            stride = active.stride
        else:
            stride = max(1, int(getattr(classifier.model, "window_stride", 1) or 1))
        window = session.window
        same_window = window is not None and (window.size, window.stride) == (size, stride)
        if classifier is not current or not same_window:
            if current is not None:
                logger.info(
                    kv(
                        "session_window_reset",
                        sid=session.sid,
                        model_id=target,
                        window=size,
                        stride=stride,
                    )
                )
            session.classifier = classifier
            window = session.window = RollingWindow(size, stride)
        return classifier, window

    def _ingest(self, session: Session, batch: FrameBatch, received: float) -> None:
        """Append frames to the session's window; queue the due windows for the worker."""
        n = len(batch)
        progress = None
        dropped = 0
        with session.lock:
            classifier, window = self._resolve(session)
            ids = batch.frame_ids
            missing = ids == NO_FRAME_ID
            if missing.any():
                ids = ids.copy()
                ids[missing] = session.next_frame_id + np.arange(int(missing.sum()))
            session.next_frame_id = int(ids.max()) + 1
            if batch.image_size is not None:
                session.settings.image_size = batch.image_size
            due = window.push(batch.data, ids, batch.timestamps)
            session.counters.frames_in += n
            if len(due):
                if session.pending_job is not None:
                    dropped = len(session.pending_job.windows)
                    session.counters.frames_dropped += dropped
                session.pending_job = ClassificationJob(
                    windows=due,
                    received=received,
                    image_size=session.settings.image_size,
                    classifier=classifier,
                    window_size=window.size,
                )
                start = not session.busy
                session.busy = True
            else:
                start = False
                if window.total <= window.size:  # still filling: tell the client how far
                    progress = ClassificationResult(
                        label=None,
                        probabilities=None,
                        frame_id=int(ids[-1]),
                        window_fill=window.fill / window.size,
                        window_size=window.size,
                        processing_ms=(time.perf_counter() - received) * 1000.0,
                        dropped=session.counters.frames_dropped,
                        model_id=classifier.model_id,
                        backend=None,
                        timestamp=float(batch.timestamps[-1]),
                    ).to_message()
        self.observer.frames_received(n)
        if dropped:
            self.observer.frames_dropped(dropped)
        if progress is not None:
            self.emit("frame_result", progress, session.sid)
        if start:
            self.spawn(lambda: self._work(session))

    def _work(self, session: Session) -> None:
        """The session's worker: run pending images and jobs until there are none."""
        while True:
            image = job = estimator = None
            with session.lock:
                if session.closed:
                    session.pending_image = session.pending_job = None
                if session.pending_image is not None:
                    image, session.pending_image = session.pending_image, None
                elif session.pending_job is not None:
                    job, session.pending_job = session.pending_job, None
                else:
                    session.busy = False
                    if session.closed:
                        estimator, session.estimator = session.estimator, None
            if image is None and job is None:
                if estimator is not None:
                    estimator.close()
                return
            try:
                if image is not None:
                    self._run_image(session, *image)
                else:
                    self._run_job(session, job)
            except ServingError as exc:
                session.counters.errors += 1
                self.observer.payload_error(exc.code)
                self.emit("error", exc.to_dict(), session.sid)
            except Exception as exc:  # never let one message end the worker silently
                logger.exception(kv("worker_failed", sid=session.sid, error=exc))
                session.counters.errors += 1
                self.observer.payload_error("internal")
                self.emit(
                    "error", {"code": "internal", "message": f"server error: {exc}"}, session.sid
                )

    def _run_job(self, session: Session, job: ClassificationJob) -> None:
        windows = job.windows
        classifier = job.classifier
        rows, labels, probabilities = classifier.classify(windows.data, job.image_size)
        latency = time.perf_counter() - job.received
        k = len(windows)
        with session.lock:
            session.counters.classifications += k
            dropped = session.counters.frames_dropped
            include = session.settings.include_features
        results = [
            ClassificationResult(
                label=labels[i],
                probabilities=None if probabilities is None else probabilities[i],
                frame_id=int(windows.frame_ids[i]),
                window_fill=1.0,
                window_size=job.window_size,
                processing_ms=latency * 1000.0,
                dropped=dropped,
                model_id=classifier.model_id,
                backend=classifier.backend,
                timestamp=float(windows.timestamps[i]),
                features=[None if math.isnan(v) else v for v in rows[i].tolist()]
                if include
                else None,
            ).to_message()
            for i in range(k)
        ]
        message = dict(results[-1])
        if k > 1:
            message["results"] = results
        session.last_result = results[-1]
        self.observer.classified(k, latency)
        self.emit("frame_result", message, session.sid)

    def _run_image(self, session: Session, image: ImageFrame, received: float) -> None:
        rgb = decode_image(image.data, self.limits.max_image_pixels)
        height, width = rgb.shape[:2]
        estimator = session.estimator
        if estimator is None:
            try:
                estimator = self.estimator_factory()
            except (ModelAssetError, ExtractionError) as exc:
                raise ServingError(
                    "pose_unavailable", f"MediaPipe is not available: {exc}", 503
                ) from exc
            with session.lock:
                if session.closed:
                    estimator.close()
                    return
                session.estimator = estimator
        stamp = self._image_timestamp(session, image, received)
        try:
            landmarks = estimator.detect(rgb, stamp)
        except ExtractionError as exc:
            raise ServingError("pose_failed", str(exc), 500) from exc
        data = np.full((1, 33, 4), np.nan) if landmarks is None else landmarks[None]
        batch = FrameBatch(
            data=data,
            frame_ids=np.array([image.frame_id], dtype=np.int64),
            timestamps=np.array([image.timestamp]),
            image_size=(width, height),
        )
        self._ingest(session, batch, received)

    def _image_timestamp(self, session: Session, image: ImageFrame, received: float) -> int:
        """MediaPipe video timestamp (ms, increasing): the client's clock if it sends one, else
        the arrival time, both counted from the session's first image."""
        value = image.timestamp if not math.isnan(image.timestamp) else received * 1000.0
        if session.first_image_ms is None:
            session.first_image_ms = value
        stamp = max(round(value - session.first_image_ms), session.last_image_ms + 1)
        session.last_image_ms = stamp
        return stamp

    def _image_sessions(self) -> int:
        return sum(1 for s in self.sessions.all() if s.estimator is not None)

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

The concerns live in their own modules: models, activation and the model cache in
:mod:`~stream_pose_ml.serving.live_models`, the session's state machine in
:mod:`~stream_pose_ml.serving.session`, the worker in :mod:`~stream_pose_ml.serving.session_worker`,
message parsing in :mod:`~stream_pose_ml.serving.payload`. This module joins them: a session's
settings -> its classifier and rolling window, and frames -> due windows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

from stream_pose_ml.errors import PayloadError, ServingError
from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving.backlog import Backlog, peek_frames
from stream_pose_ml.serving.classifier import ClassificationResult, WindowClassifier
from stream_pose_ml.serving.dispatcher import WorkDispatcher
from stream_pose_ml.serving.live_models import LiveModels, PredictorFactory
from stream_pose_ml.serving.model_store import ModelStore
from stream_pose_ml.serving.payload import (
    MAX_FRAME_ID,
    NO_FRAME_ID,
    FrameBatch,
    PayloadLimits,
    parse_configure,
    parse_image,
    parse_keypoints,
)
from stream_pose_ml.serving.session import ClassificationJob, Estimator, Session, SessionStore
from stream_pose_ml.serving.session_analysis import analyze_batch, sync_analyzer
from stream_pose_ml.serving.session_people import SubjectRun, follow_people, restart_subject
from stream_pose_ml.serving.session_worker import SessionWorker, default_estimator
from stream_pose_ml.serving.window import RollingWindow

logger = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, Any], str], None]
Spawn = Callable[[Callable[[], None]], Any]


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


class LiveService:
    """Sessions and the classification path of the live API, over its models.

    ``models`` is the store of uploaded models; ``model_cache_size`` classifiers stay loaded.
    Busy sessions are served by at most ``concurrency`` dispatch loops at once (the API passes
    its worker pool's size), each classifying the due windows of many sessions in one batch.
    Frames read more than ``stale_ms`` after their client sent them (beyond the session's
    transport delay) are shed (``serving.backlog``; None: never), and windows that would be
    answered later than that are dropped (``serving.dispatcher``). ``allow_code_loading``
    False refuses models whose loading runs code (pickle, joblib, cloudpickle).
    """

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
        estimator_factory: Callable[[int], Estimator] | None = None,
        predictor_factory: PredictorFactory | None = None,
        on_model_loaded: Callable[[], None] | None = None,
        model_cache_size: int = 4,
        concurrency: int = 1,
        stale_ms: float | None = 250.0,
        allow_code_loading: bool = True,
    ) -> None:
        self.models = models
        self.sessions = sessions if sessions is not None else SessionStore()
        self.emit = emit
        self.spawn = spawn or _thread_spawn
        self.observer = observer or ServingObserver()
        self.limits = limits or PayloadLimits()
        self.max_image_sessions = max_image_sessions
        self.stale_ms = stale_ms
        self.live_models = LiveModels(
            models,
            self.observer,
            cache_size=model_cache_size,
            predictor_factory=predictor_factory,
            on_model_loaded=on_model_loaded,
            allow_code=allow_code_loading,
        )
        self.worker = SessionWorker(
            emit,
            self._ingest,
            self.observer,
            self.limits,
            estimator_factory or (lambda num_poses: default_estimator(pose_model, num_poses)),
        )
        self.dispatcher = WorkDispatcher(
            self.worker,
            self.spawn,
            workers=concurrency,
            max_wait_s=None if stale_ms is None else stale_ms / 1000.0,
        )
        # The model operations (``POST /set_model``, activation, start-up, readiness):
        self.classifier = self.live_models.classifier
        self.set_model = self.live_models.set_model
        self.activate = self.live_models.activate
        self.restore = self.live_models.restore
        self.ready = self.live_models.ready

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
            estimator = session.close()
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
                sync_analyzer(session)
                try:
                    self._resolve(session)
                except PayloadError as exc:
                    if exc.code != "no_model":
                        session.settings = previous
                        sync_analyzer(session)
                        raise
                except ServingError:
                    session.settings = previous
                    sync_analyzer(session)
                    raise
                settings = session.settings
                if settings.num_poses != previous.num_poses:  # a new tracker: ids from 0 again
                    session.people = None
                    restart_subject(session)
                status = session.status()
        return {
            **status,
            "following_active": settings.model_id is None,
            "image_size": settings.image_size,
            "include_features": settings.include_features,
            "analyzer": settings.analyzer,
        }

    def keypoints(self, sid: str, message: Any, received: float | None = None) -> None:
        """Handle a ``keypoints`` message (one frame, a batch or binary frames)."""
        received = time.perf_counter() if received is None else received
        session = self._session(sid)
        with self._counting(session):
            messages, lag_ms = self._fresh(session, message, received)
            for fresh in messages:
                batch = parse_keypoints(fresh, self.limits, session.settings.num_poses)
                self._ingest(session, batch, received, lag_ms / 1000.0)

    def _fresh(self, session: Session, message: Any, received: float) -> tuple[list[Any], float]:
        """The messages to read now: none while the session is behind (a stale message is
        kept or shed, see ``serving.backlog``), the kept ones and this one when it catches up;
        and how late this one was read (ms beyond the session's transport delay)."""
        if self.stale_ms is None:
            return [message], 0.0
        n_frames, stamp = peek_frames(message)
        warn = None
        with session.lock:
            backlog = session.backlog
            if backlog is None:
                backlog = session.backlog = Backlog(self.stale_ms, keep=1)
            backlog.keep = session.window.size if session.window is not None else 1
            lag = backlog.lag_ms(stamp, received)
            if n_frames and lag > self.stale_ms:
                dropped = backlog.shed(message, n_frames)
                if session.window is not None:  # no window spans shed frames
                    session.window.skip(dropped)
                session.counters.frames_dropped += dropped
                if backlog.should_warn(received):
                    warn = {
                        "code": "behind",
                        "message": "the server reads this session's frames late and sheds old "
                        "ones; send fewer messages (batch frames, see docs/api.md)",
                        "lag_ms": round(lag),
                        "frames_shed": backlog.frames_shed,
                    }
                fresh: list[Any] = []
            else:
                fresh = [*backlog.catch_up(), message] if backlog.behind else [message]
        if not fresh:
            self.observer.frames_dropped(dropped)
            if warn is not None:
                self.emit("warning", warn, session.sid)
        return fresh, lag

    def frame(self, sid: str, message: Any, received: float | None = None) -> None:
        """Handle a ``frame`` message (a JPEG or PNG image); MediaPipe runs in the worker."""
        received = time.perf_counter() if received is None else received
        session = self._session(sid)
        with self._counting(session):
            image = parse_image(message, self.limits)
            with session.lock:
                self._resolve(session)  # fail early without a model
                if (
                    session.estimator is None
                    and self.sessions.with_estimators() >= self.max_image_sessions
                ):
                    raise PayloadError(
                        "image_capacity",
                        f"{self.max_image_sessions} sessions already send images; send keypoints "
                        "(run MediaPipe in the client) or try later",
                        status=503,
                    )
                dropped, start = session.queue_image(image, received)
            if dropped:
                self.observer.frames_dropped(dropped)
            if start:
                self.dispatcher.ready(session)

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
        active = self.live_models.active()
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
            else self.live_models.classifier(target)
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
            stride = max(1, int(classifier.model.window_stride or 1))
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
        assert window is not None  # made above unless the session's window already fits
        return classifier, window

    def _ingest(
        self, session: Session, batch: FrameBatch, received: float, read_lag_s: float = 0.0
    ) -> None:
        """Append frames to the session's window; queue the due windows for the worker
        (``read_lag_s``: how late the message was read, which counts in their wait). With
        several people, only each frame's subject joins (``serving.session_people``)."""
        people = None
        with session.lock:
            ids = batch.frame_ids
            missing = ids == NO_FRAME_ID
            if missing.any():  # numbered after the largest id so far, 0 after MAX_FRAME_ID
                ids = ids.copy()
                numbers = session.next_frame_id + np.arange(int(missing.sum()))
                ids[missing] = numbers % (MAX_FRAME_ID + 1)
            if batch.image_size is not None:
                session.settings.image_size = batch.image_size
            if batch.people is None or session.settings.num_poses == 1:
                runs = [SubjectRun(batch, ids, None, False)]
            else:
                runs, people = follow_people(session, batch, ids)
            answers = []
            failure: Exception | None = None
            for run in runs:
                try:
                    answers.append(
                        self._push(session, run, received, read_lag_s, people is not None)
                    )
                except Exception as exc:  # the runs before it still get their answers
                    failure = exc
                    break
        if people is not None:
            self.emit("people", people, session.sid)
        if answers:
            self.observer.frames_received(len(batch))
        for analysis, progress, dropped, start in answers:
            if analysis is not None:
                self.emit("analysis", analysis, session.sid)
            if dropped:
                self.observer.frames_dropped(dropped)
            if progress is not None:
                self.emit("frame_result", progress, session.sid)
            if start:
                self.dispatcher.ready(session)
        if failure is not None:
            raise failure

    def _push(
        self, session: Session, run: SubjectRun, received: float, read_lag_s: float, tracked: bool
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, int, bool]:
        """One run of frames into the window (``lock`` held): ``(analysis event, progress
        result, windows dropped, start the worker)``; ``tracked``: the answers name the
        run's ``track_id``."""
        batch, ids = run.batch, run.ids
        n = len(batch)
        progress = None
        dropped = 0
        start = False
        if run.restart:
            restart_subject(session)
        analysis = analyze_batch(session, batch, ids)
        classifier: WindowClassifier | None
        window: RollingWindow | None
        try:
            classifier, window = self._resolve(session)
        except PayloadError as exc:  # an analyzer-only session needs no model
            if exc.code != "no_model" or session.analyzer is None:
                raise
            classifier = window = None
        session.next_frame_id = (int(ids.max()) + 1) % (MAX_FRAME_ID + 1)
        session.counters.frames_in += n
        due = None if window is None else window.push(batch.data, ids, batch.timestamps)
        if classifier is not None and window is not None and due is not None and len(due):
            job = ClassificationJob(
                windows=due,
                received=received,
                image_size=session.settings.image_size,
                classifier=classifier,
                window_size=window.size,
                read_lag_s=read_lag_s,
                tracked=tracked,
                track_id=run.track_id,
            )
            dropped, start = session.queue_job(job)
        elif classifier is not None and window is not None and window.total <= window.size:
            progress = ClassificationResult(  # still filling: tell the client how far
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
        if tracked:
            for answer in (analysis, progress):
                if answer is not None:
                    answer["track_id"] = run.track_id
        return analysis, progress, dropped, start

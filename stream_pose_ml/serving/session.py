"""Per-connection state of the live service, its state machine, and a bounded store of it.

A :class:`Session` holds one client's rolling window, settings, counters and last result, plus at
most one pending classification job and one pending image: work that arrives while the session's
worker is busy replaces the pending item (newest wins) and the replaced frames count as dropped.
Nothing grows with the client's send rate.

The worker's life cycle is a small state machine, and only the methods here move it:

- idle (``busy`` False) --:meth:`queue_job` / :meth:`queue_image`--> busy (the caller starts
  one worker, told so by the return value);
- busy --:meth:`take_work`--> the next pending item (images first), or idle when none is left;
- any --:meth:`close`--> closed: pending work is dropped, and the pose estimator is handed back
  to be closed now (idle) or by the worker when it stops (busy).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from stream_pose_ml.errors import SessionLimitError
from stream_pose_ml.serving.backlog import Backlog
from stream_pose_ml.serving.classifier import WindowClassifier
from stream_pose_ml.serving.payload import ImageFrame
from stream_pose_ml.serving.window import DueWindows, RollingWindow


class Estimator(Protocol):
    """A per-session pose estimator (``extraction.pose_estimator.PoseEstimator``)."""

    def detect(self, frame: Any, timestamp_ms: int | None = None) -> Any: ...
    def detect_people(self, frame: Any, timestamp_ms: int | None = None) -> list[Any]: ...
    def close(self) -> None: ...


@dataclass
class SessionCounters:
    """Per-session totals since connect."""

    messages: int = 0
    frames_in: int = 0
    frames_dropped: int = 0
    classifications: int = 0
    errors: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class SessionSettings:
    """What the client asked for with ``configure`` (None: the model's or active model's)."""

    window_size: int | None = None
    overlap: int | None = None
    stride: int | None = None
    model_id: str | None = None  # None: follow the active model
    image_size: tuple[int, int] | None = None
    include_features: bool = False
    analyzer: str | None = None  # a movement analyzer's name (stream_pose_ml.analysis)
    num_poses: int = 1  # people tracked per frame (serving.session_people); 1: the first pose
    subject: int | None = None  # the live track id to classify; None: the largest person


@dataclass
class ClassificationJob:
    """Due windows waiting for the session's worker, with what is needed to answer them."""

    windows: DueWindows
    received: float  # perf_counter() when the newest frame's message arrived
    image_size: tuple[int, int] | None
    classifier: WindowClassifier
    window_size: int
    read_lag_s: float = 0.0  # how late that message was read (``serving.backlog``)
    tracked: bool = False  # several people: the answer names ``track_id``
    track_id: int | None = None  # the subject whose frames the windows hold


@dataclass
class PendingImage:
    """An image waiting for the session's worker (MediaPipe runs there)."""

    image: ImageFrame
    received: float  # perf_counter() when its message arrived


@dataclass
class Session:
    """One live connection (``sid``). Mutable fields are guarded by ``lock``."""

    sid: str
    remote_addr: str | None = None
    created: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)
    settings: SessionSettings = field(default_factory=SessionSettings)
    counters: SessionCounters = field(default_factory=SessionCounters)
    last_result: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # the model and window in use (changed by the reader, under ``lock``)
    classifier: WindowClassifier | None = None
    window: RollingWindow | None = None
    next_frame_id: int = 0
    # work for the session's worker; at most one of each, newest wins
    busy: bool = False
    closed: bool = False
    pending_job: ClassificationJob | None = None
    pending_image: PendingImage | None = None
    estimator: Estimator | None = None
    backlog: Backlog | None = None  # how late frames are read (serving.backlog)
    first_image_ms: float | None = None  # clock value of the first image (MediaPipe time 0)
    last_image_ms: int = -1  # last MediaPipe timestamp given to the estimator
    analyzer: Any = None  # the session's analyzer (``analysis.Analyzer``), settings.analyzer
    people: Any = None  # tracker and subject with num_poses > 1 (``session_people.SessionPeople``)

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    def status(self) -> dict[str, Any]:
        """Counters, settings and the last answer, for heartbeats and ``configured`` answers."""
        window = self.window
        last = self.last_result or {}
        return {
            "sid": self.sid,
            "model_id": self.classifier.model_id if self.classifier is not None else None,
            "window_size": window.size if window else self.settings.window_size,
            "stride": window.stride if window else self.settings.stride,
            "window_fill": window.fill if window else 0,
            **self.counters.to_dict(),
            "last_label": last.get("label"),
            "last_frame_id": last.get("frame_id"),
            "num_poses": self.settings.num_poses,
            "subject": self.settings.subject,
        }

    # -- the worker's state machine (call with ``lock`` held) -----------------------------------
    def queue_job(self, job: ClassificationJob) -> tuple[int, bool]:
        """Make ``job`` the pending job; ``(windows dropped, start a worker)``."""
        dropped = len(self.pending_job.windows) if self.pending_job is not None else 0
        self.counters.frames_dropped += dropped
        self.pending_job = job
        return dropped, self._mark_busy()

    def queue_image(self, image: ImageFrame, received: float) -> tuple[int, bool]:
        """Make ``image`` the pending image; ``(images dropped, start a worker)``."""
        dropped = 1 if self.pending_image is not None else 0
        self.counters.frames_dropped += dropped
        self.pending_image = PendingImage(image, received)
        return dropped, self._mark_busy()

    def _mark_busy(self) -> bool:
        start = not self.busy
        self.busy = True
        return start

    def take_work(self) -> tuple[PendingImage | ClassificationJob | None, Estimator | None]:
        """The worker's next item (the pending image first), or ``(None, estimator)`` when
        there is none: the worker stops, and closes the estimator if one is handed back."""
        if self.closed:
            self.pending_image = self.pending_job = None
        if self.pending_image is not None:
            image, self.pending_image = self.pending_image, None
            return image, None
        if self.pending_job is not None:
            job, self.pending_job = self.pending_job, None
            return job, None
        self.busy = False
        estimator = None
        if self.closed:
            estimator, self.estimator = self.estimator, None
        return None, estimator

    def close(self) -> Estimator | None:
        """Mark the session closed and drop its pending work; the estimator to close now
        (None while the worker runs: it closes the estimator when it stops)."""
        self.closed = True
        self.pending_job = None
        self.pending_image = None
        if self.busy or self.estimator is None:
            return None
        estimator, self.estimator = self.estimator, None
        return estimator

    def attach_estimator(self, estimator: Estimator) -> bool:
        """Keep ``estimator`` for the session's images; False if the session closed meanwhile
        (the caller closes it)."""
        if self.closed:
            return False
        self.estimator = estimator
        return True

    def image_timestamp(self, client_ms: float, received: float) -> int:
        """MediaPipe video timestamp (ms, increasing): the client's clock if it sends one, else
        the arrival time, both counted from the session's first image."""
        value = client_ms if not math.isnan(client_ms) else received * 1000.0
        if self.first_image_ms is None:
            self.first_image_ms = value
        stamp = max(round(value - self.first_image_ms), self.last_image_ms + 1)
        self.last_image_ms = stamp
        return stamp


class SessionStore:
    """Sessions by ``sid``, at most ``max_sessions``; ``idle(now)`` lists the expired ones."""

    def __init__(self, max_sessions: int = 200, idle_timeout_s: float = 300.0) -> None:
        self.max_sessions = max_sessions
        self.idle_timeout_s = idle_timeout_s
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, sid: object) -> bool:
        return sid in self._sessions

    def create(self, sid: str, remote_addr: str | None = None) -> Session:
        with self._lock:
            if sid in self._sessions:
                return self._sessions[sid]
            if len(self._sessions) >= self.max_sessions:
                raise SessionLimitError(
                    None,
                    f"the server holds its maximum of {self.max_sessions} live sessions; "
                    "try again later",
                )
            session = Session(sid=sid, remote_addr=remote_addr)
            self._sessions[sid] = session
            return session

    def get(self, sid: str) -> Session | None:
        return self._sessions.get(sid)

    def remove(self, sid: str) -> Session | None:
        with self._lock:
            return self._sessions.pop(sid, None)

    def all(self) -> list[Session]:
        with self._lock:
            return list(self._sessions.values())

    def idle(self, now: float | None = None) -> list[Session]:
        """Sessions without a message for longer than ``idle_timeout_s``."""
        now = time.monotonic() if now is None else now
        return [s for s in self.all() if now - s.last_seen > self.idle_timeout_s]

    def with_estimators(self) -> int:
        """Sessions holding a pose estimator (sending images)."""
        return sum(1 for s in self.all() if s.estimator is not None)

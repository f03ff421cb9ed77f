"""Per-connection state of the live service, and a bounded store of it.

A :class:`Session` holds one client's rolling window, settings, counters and last result, plus at
most one pending classification job and one pending image: work that arrives while the session's
worker is busy replaces the pending item (newest wins) and the replaced frames count as dropped.
Nothing grows with the client's send rate.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from stream_pose_ml.serving.errors import SessionLimitError
from stream_pose_ml.serving.payload import ImageFrame
from stream_pose_ml.serving.window import DueWindows, RollingWindow


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


@dataclass
class ClassificationJob:
    """Due windows waiting for the session's worker, with what is needed to answer them."""

    windows: DueWindows
    received: float  # perf_counter() when the newest frame's message arrived
    image_size: tuple[int, int] | None
    classifier: Any
    window_size: int


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
    classifier: Any = None
    window: RollingWindow | None = None
    next_frame_id: int = 0
    # work for the session's worker; at most one of each, newest wins
    busy: bool = False
    closed: bool = False
    pending_job: ClassificationJob | None = None
    pending_image: tuple[ImageFrame, float] | None = None
    estimator: Any = None
    first_image_ms: float | None = None  # clock value of the first image (MediaPipe time 0)
    last_image_ms: int = -1  # last MediaPipe timestamp given to the estimator

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    def status(self) -> dict[str, Any]:
        """Counters, settings and the last answer, for heartbeats and ``configured`` answers."""
        window = self.window
        last = self.last_result or {}
        return {
            "sid": self.sid,
            "model_id": getattr(self.classifier, "model_id", None),
            "window_size": window.size if window else self.settings.window_size,
            "stride": window.stride if window else self.settings.stride,
            "window_fill": window.fill if window else 0,
            **self.counters.to_dict(),
            "last_label": last.get("label"),
            "last_frame_id": last.get("frame_id"),
        }


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

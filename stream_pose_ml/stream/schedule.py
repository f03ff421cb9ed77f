"""When an algorithm runs, and on which frames: schedules, windows and decimation.

Schedules are exact: a frame schedule names source frame indices (every ``step`` frames from
``offset``); a time schedule runs on the first frame whose presentation time is at or after
each due time ``start + k * interval``, computed from ``k`` (never accumulated, so nothing drifts
over an hour, at 29.97 fps or with a variable frame rate). A window is ``count`` frames
``step`` apart, newest last, ending at the frame that ran; frames it lacks (before the start, or
dropped in real time) are marked in its mask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stream_pose_ml.errors import StreamError

#: Times within this many seconds of a due time count as on it (float pts of 1001/30000 steps).
TIME_EPSILON_S = 1e-6


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise StreamError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _positive_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise StreamError(f"{name} must be a number > 0, got {value!r}")
    if not math.isfinite(value):
        raise StreamError(f"{name} must be finite, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Window:
    """``count`` frames ``step`` apart, newest last: indices ``i - (count - 1 - j) * step``."""

    count: int = 1
    step: int = 1

    def __post_init__(self) -> None:
        _positive_int("frame_count", self.count)
        _positive_int("frame_step", self.step)

    @property
    def span(self) -> int:
        """Source frames from the oldest to the newest frame of the window, inclusive."""
        return (self.count - 1) * self.step + 1

    def indices(self, newest: int) -> list[int]:
        return [newest - (self.count - 1 - j) * self.step for j in range(self.count)]


class Schedule:
    """Decides, frame by frame in source order, whether a run is due; counts runs it missed
    (due times or frames that passed without a frame to run on, e.g. dropped in real time)."""

    def due(self, index: int, pts_s: float) -> tuple[bool, int]:
        """``(due, missed)`` for the next frame the runner sees."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class EveryFrames(Schedule):
    """Due on frames ``offset, offset + step, offset + 2 step, ...`` (source indices)."""

    def __init__(self, step: int = 1, offset: int = 0) -> None:
        self.step = _positive_int("step", step)
        self.offset = _positive_int("offset", offset, minimum=0)
        self._last = -1  # the last index seen

    def _count(self, upto: int) -> int:
        """Due frames among ``0 .. upto``."""
        return 0 if upto < self.offset else (upto - self.offset) // self.step + 1

    def due(self, index: int, pts_s: float) -> tuple[bool, int]:
        is_due = index >= self.offset and (index - self.offset) % self.step == 0
        missed = max(0, self._count(index - 1) - self._count(self._last))
        self._last = max(self._last, index)
        return is_due, missed

    def describe(self) -> str:
        return f"every {self.step} frames from frame {self.offset}"


class EveryInterval(Schedule):
    """Due on the first frame at or after each ``start_s + k * interval_s`` (seconds of
    presentation time); due times that pass between two frames are one run and ``missed``
    counts the others."""

    def __init__(self, interval_s: float, start_s: float = 0.0) -> None:
        self.interval_s = _positive_float("interval", interval_s)
        if isinstance(start_s, bool) or not isinstance(start_s, (int, float)) or start_s < 0:
            raise StreamError(f"start must be a number >= 0, got {start_s!r}")
        self.start_s = float(start_s)
        self._next = 0  # k of the next due time

    def due_time(self, k: int) -> float:
        return self.start_s + k * self.interval_s

    def due(self, index: int, pts_s: float) -> tuple[bool, int]:
        if pts_s + TIME_EPSILON_S < self.due_time(self._next):
            return False, 0
        # the last due time at or before pts_s
        k = math.floor((pts_s + TIME_EPSILON_S - self.start_s) / self.interval_s)
        missed = k - self._next
        self._next = k + 1
        return True, missed

    def describe(self) -> str:
        return f"every {self.interval_s:g} s from {self.start_s:g} s"


class Decimator:
    """Keeps the first frame at or after each ``k / fps`` seconds: a source played at ``fps``
    at most (``None`` keeps every frame). Frames it drops are counted as decimated."""

    def __init__(self, fps: float | None = None) -> None:
        self.fps = None if fps is None else _positive_float("fps", fps)
        self._schedule = None if self.fps is None else EveryInterval(1.0 / self.fps)

    def keep(self, index: int, pts_s: float) -> bool:
        return self._schedule is None or self._schedule.due(index, pts_s)[0]


def schedule_for(
    *,
    interval: float | None = None,
    every: int | None = None,
    offset: int = 0,
    start_s: float = 0.0,
) -> Schedule:
    """A time schedule (``interval`` seconds) or a frame schedule (``every`` frames from
    ``offset``); neither: every frame."""
    if interval is not None and every is not None:
        raise StreamError("give either interval (seconds) or every (frames), not both")
    if interval is not None:
        return EveryInterval(interval, start_s)
    return EveryFrames(every or 1, offset)

"""`Pipeline`: one frame in, the scheduled algorithms run, result records out.

Offline runs, real-time runs and the stream-infer compatible `Inference` all push frames
through this one class, so schedules, windows, lateness and metrics mean the same everywhere.
Algorithms run in the order they were loaded; each sees what the earlier ones returned for the
same frame (``FrameWindow.results``), so a classifier can consume the pose of the frame.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stream_pose_ml.errors import StreamError
from stream_pose_ml.stream.algo import AlgoResult, BaseAlgo, FrameWindow, algo_name
from stream_pose_ml.stream.frames import Frame
from stream_pose_ml.stream.metrics import RunMetrics
from stream_pose_ml.stream.results import ResultRecord
from stream_pose_ml.stream.schedule import EveryFrames, Schedule, Window

logger = logging.getLogger(__name__)

#: Tracebacks logged per algorithm before its failures are only counted.
LOGGED_FAILURES = 3


@dataclass
class Scheduled:
    """An algorithm with its schedule and window. ``max_lateness_s``: in real time, a run whose
    frame is older than this when the run would start is skipped (counted); None never skips."""

    algo: BaseAlgo
    schedule: Schedule = field(default_factory=EveryFrames)
    window: Window = field(default_factory=Window)
    max_lateness_s: float | None = None

    @property
    def name(self) -> str:
        return algo_name(self.algo)


class FrameHistory:
    """The newest frames by played position, enough for the widest window (``span``)."""

    def __init__(self, span: int = 1) -> None:
        self._frames: deque[Frame] = deque(maxlen=max(1, span))

    def add(self, frame: Frame) -> None:
        self._frames.append(frame)

    def window(
        self, newest: Frame, window: Window
    ) -> tuple[tuple[int, ...], tuple[Frame | None, ...]]:
        """Source indices and frames of ``window`` ending at ``newest``: positions
        ``newest.position - (count - 1 - j) * step``; a position never played (before the
        start) or dropped is None, and its index is estimated from the positions' offset."""
        if window.count == 1:
            return (newest.index,), (newest,)
        by_position = {f.position: f for f in self._frames}
        offset = newest.index - newest.position
        frames = tuple(by_position.get(p) for p in window.indices(newest.position))
        indices = tuple(
            f.index if f is not None else p + offset
            for f, p in zip(frames, window.indices(newest.position), strict=True)
        )
        return indices, frames


class Pipeline:
    """Runs scheduled algorithms on each frame pushed; records go to ``on_result``.

    ``timings`` False (a deterministic run) leaves wall-clock values out of the records.
    """

    def __init__(
        self,
        algorithms: Sequence[Scheduled],
        *,
        run_id: str,
        source: str,
        on_result: Callable[[ResultRecord], None] | None = None,
        metrics: RunMetrics | None = None,
        timings: bool = True,
    ) -> None:
        names = [s.name for s in algorithms]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise StreamError(
                f"two algorithms are named {', '.join(duplicates)}; give each a name "
                "(e.g. MyAlgo('left'), MyAlgo('right'))"
            )
        self.algorithms = list(algorithms)
        self.run_id = run_id
        self.source = source
        self.on_result = on_result
        self.metrics = metrics or RunMetrics()
        self.timings = timings
        self.history = FrameHistory(max((s.window.span for s in self.algorithms), default=1))
        self.latest: dict[str, Any] = {}  # newest value of each algorithm
        self._played = 0  # positions given to frames pushed without one
        for scheduled in self.algorithms:
            self.metrics.algo(scheduled.name).schedule = scheduled.schedule.describe()

    def start(self) -> None:
        """Initialize every algorithm (once), in the calling thread."""
        for scheduled in self.algorithms:
            scheduled.algo.ensure_init()

    def close(self) -> None:
        for scheduled in self.algorithms:
            try:
                scheduled.algo.close()
            except Exception:
                logger.exception("closing algorithm %s failed", scheduled.name)

    def process(self, frame: Frame, realtime: bool = False) -> dict[str, Any]:
        """Run the algorithms due on ``frame``; returns their results by name. A frame without
        a ``position`` gets the next one (offline: every frame pushed is played)."""
        if frame.position < 0:
            frame = dataclasses.replace(frame, position=self._played)
        self._played = frame.position + 1
        self.metrics.frames_processed += 1
        self.history.add(frame)
        results: dict[str, Any] = {}
        for scheduled in self.algorithms:
            name = scheduled.name
            metrics = self.metrics.algo(name)
            is_due, missed = scheduled.schedule.due(frame.index, frame.pts_s)
            metrics.runs_missed += missed
            if not is_due:
                continue
            metrics.runs_due += 1
            started = time.monotonic()
            lateness_s = started - frame.received_s
            if (
                realtime
                and scheduled.max_lateness_s is not None
                and lateness_s > scheduled.max_lateness_s
            ):
                metrics.runs_skipped_late += 1
                continue
            indices, frames = self.history.window(frame, scheduled.window)
            window = FrameWindow(indices, frames, results)
            if not window.complete:
                metrics.windows_incomplete += 1
            t0 = time.perf_counter()
            try:
                value = scheduled.algo.process(window)
            except Exception:
                metrics.errors += 1
                if metrics.errors <= LOGGED_FAILURES:
                    logger.exception("algorithm %s failed on frame %d", name, frame.index)
                continue
            inference_ms = (time.perf_counter() - t0) * 1000.0
            done = time.monotonic()
            metrics.runs_done += 1
            metrics.inference_ms.add(inference_ms)
            metrics.lateness_ms.add(lateness_s * 1000.0)
            if value is None:
                continue
            first, last = indices[0], indices[-1]
            if isinstance(value, AlgoResult):
                value, first, last = value.value, value.window_start, value.window_end
            latency_ms = (done - frame.received_s) * 1000.0
            metrics.latency_ms.add(latency_ms)
            metrics.results += 1
            results[name] = value
            self.latest[name] = value
            if self.on_result is not None:
                self.on_result(
                    ResultRecord(
                        run_id=self.run_id,
                        source=self.source,
                        algorithm=name,
                        frame_index=frame.index,
                        time_s=frame.pts_s,
                        window_start=first,
                        window_end=last,
                        value=value,
                        lateness_ms=lateness_s * 1000.0 if self.timings else None,
                        inference_ms=inference_ms if self.timings else None,
                        latency_ms=latency_ms if self.timings else None,
                    )
                )
        return results

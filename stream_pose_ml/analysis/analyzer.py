"""The analyzer interface: frames in one at a time, typed events out, a per-frame signal.

An analyzer is fed ``update(landmarks, time_s, frame_index, image_size)`` for every frame, in
order, with ``None`` (or all-NaN landmarks) for a frame where nobody was detected, and returns
the events that frame completed. The same object therefore runs live (the stream runner, the
live server) and offline: :func:`analyze` feeds a `PoseSequence` frame by frame, so it gives
exactly the events of a live run over the same poses.

Missing frames are explicit: a frame without a pose adds a NaN row to the signal and advances
nothing; when detections are more than ``max_gap_s`` apart the analyzer emits a ``gap`` event,
drops what was in progress (a repetition half done is not guessed) and starts afresh.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from stream_pose_ml.analysis.events import AnalysisEvent, AnalysisInputError
from stream_pose_ml.analysis.smoothing import CausalSmoother, zero_phase
from stream_pose_ml.features.geometry import aspect_corrected, aspect_ratio
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33
from stream_pose_ml.keypoints.sequence import PoseSequence

N_LANDMARKS = len(BLAZEPOSE_33)


@dataclass(frozen=True)
class FramePose:
    """One frame as analyzers see it: ``xy`` ``(33, 2)`` smoothed, aspect-corrected coordinates
    (units of the image height, Y down), ``visibility`` ``(33,)`` (NaN when unknown)."""

    xy: np.ndarray
    visibility: np.ndarray
    frame_index: int
    time_s: float


@dataclass
class AnalysisResult:
    """What :func:`analyze` returns: the events, and the per-frame ``signal`` (``frames``,
    ``times_s`` and one array per named value, NaN where it could not be measured)."""

    events: list[AnalysisEvent]
    signal: dict[str, np.ndarray] = field(default_factory=dict)


class Analyzer(ABC):
    """Base class: subclasses set ``name``, implement ``_reset_state``, ``_step`` and
    ``signal_names``; ``params`` is a frozen dataclass with at least ``smoothing_s``,
    ``max_gap_s`` and ``min_visibility``."""

    name: ClassVar[str] = "analyzer"
    signal_names: ClassVar[tuple[str, ...]] = ()
    _rows: deque[tuple[int, float, dict[str, float]]]

    def __init__(self, params: Any) -> None:
        self.params = params
        self.prefiltered = False  # set by `analyze(..., zero_phase=True)`
        self.reset()

    # -- what subclasses implement -----------------------------------------------------------
    @abstractmethod
    def _reset_state(self) -> None:
        """Forget the movement in progress (start, or after a gap)."""

    @abstractmethod
    def _step(self, pose: FramePose) -> tuple[dict[str, float], list[AnalysisEvent]]:
        """The signal values of a detected frame and the events it completes."""

    def _without_pose(self, time_s: float) -> list[AnalysisEvent]:
        """Events that fall due at ``time_s`` when no pose comes (nobody in the frame, or before
        the state is reset after a gap): for an analyzer that holds an event back."""
        return []

    def summary(self) -> dict[str, Any]:
        """Running totals to show live (a repetition count, say)."""
        return {}

    # -- the interface -----------------------------------------------------------------------
    def keep_signal_rows(self, n: int | None) -> None:
        """Keep at most the newest ``n`` rows of the per-frame signal (None: all, the default;
        0: none, for a live session whose memory must not grow with its length)."""
        self._max_rows = n
        self._rows = deque(self._rows, maxlen=n)

    def reset(self) -> None:
        """Back to the state before the first frame."""
        self._smoother = CausalSmoother(0.0 if self.prefiltered else self.params.smoothing_s)
        self._rows = deque(maxlen=getattr(self, "_max_rows", None))
        self._last_time: float | None = None
        self._last_detected: tuple[int, float] | None = None
        self._reset_state()

    def update(
        self,
        landmarks: np.ndarray | Sequence[Sequence[float]] | None,
        time_s: float,
        frame_index: int,
        image_size: tuple[int, int] | Sequence[int] | None = None,
    ) -> list[AnalysisEvent]:
        """Feed one frame: ``landmarks`` ``(33, 4)`` (x, y normalized to the image, z,
        visibility) or None; ``time_s`` its presentation time; ``image_size`` ``(w, h)``
        pixels (None: square pixels assumed). Returns the events completed at this frame."""
        time_s = float(time_s)
        if not math.isfinite(time_s):
            raise AnalysisInputError(f"frame {frame_index}: time must be finite, got {time_s}")
        # to the microsecond, as result files keep times: events from a file's frame times then
        # equal the live ones
        time_s = round(time_s, 6)
        if self._last_time is not None and time_s < self._last_time:
            raise AnalysisInputError(
                f"frame {frame_index}: time {time_s:.4f} s is before the previous frame's "
                f"{self._last_time:.4f} s; feed frames in order"
            )
        data = self._landmark_array(landmarks, frame_index)
        self._last_time = time_s
        if data is None or np.isnan(data[:, :2]).all():
            self._rows.append((int(frame_index), time_s, {}))
            return self._without_pose(time_s)
        events: list[AnalysisEvent] = []
        if self._last_detected is not None and time_s - self._last_detected[1] > (
            self.params.max_gap_s
        ):
            last_frame, last_time = self._last_detected
            events.append(
                AnalysisEvent(
                    self.name,
                    "gap",
                    last_frame,
                    int(frame_index),
                    last_time,
                    time_s,
                    {"seconds": round(time_s - last_time, 4)},
                )
            )
            events += self._without_pose(time_s)
            self._smoother.reset()
            self._reset_state()
        self._last_detected = (int(frame_index), time_s)
        size = None if image_size is None else (int(image_size[0]), int(image_size[1]))
        xy = aspect_corrected(data[:, :2], aspect_ratio(size))
        visibility = data[:, 3].copy()
        xy[visibility < self.params.min_visibility] = np.nan
        pose = FramePose(self._smoother.update(xy, time_s), visibility, int(frame_index), time_s)
        values, found = self._step(pose)
        self._rows.append((int(frame_index), time_s, values))
        return events + found

    def signal(self) -> dict[str, np.ndarray]:
        """The per-frame signal so far: ``frames``, ``times_s`` and ``signal_names`` arrays."""
        out = {
            "frames": np.array([r[0] for r in self._rows], dtype=np.int64),
            "times_s": np.array([r[1] for r in self._rows], dtype=np.float64),
        }
        for key in self.signal_names:
            out[key] = np.array([r[2].get(key, np.nan) for r in self._rows], dtype=np.float64)
        return out

    @staticmethod
    def _landmark_array(landmarks: Any, frame_index: int) -> np.ndarray | None:
        if landmarks is None:
            return None
        data = np.asarray(landmarks, dtype=np.float64)
        if data.shape != (N_LANDMARKS, 4):
            raise AnalysisInputError(
                f"frame {frame_index}: landmarks must be ({N_LANDMARKS}, 4) x, y, z, "
                f"visibility, got shape {data.shape}"
            )
        return data


def sequence_times(sequence: PoseSequence) -> np.ndarray:
    """Presentation times of a sequence's frames: ``frame_number / fps``."""
    if sequence.fps is None or sequence.fps <= 0:
        raise AnalysisInputError(
            "the sequence has no frame rate; pass times_s or set PoseSequence.fps"
        )
    return sequence.frame_numbers.astype(np.float64) / float(sequence.fps)


def analyze(
    analyzer: Analyzer,
    sequence: PoseSequence,
    times_s: Sequence[float] | np.ndarray | None = None,
    zero_phase_smoothing: bool = False,
) -> AnalysisResult:
    """Run ``analyzer`` (reset first) over ``sequence`` frame by frame.

    ``times_s`` default to ``frame_number / fps``. With ``zero_phase_smoothing`` the landmarks
    are smoothed forward and backward first (offline only, no delay) and the analyzer's causal
    smoothing is off; the default gives exactly the events of a live run.
    """
    shape_ok = sequence.n_frames == 0 or sequence.data.shape[1:] == (N_LANDMARKS, 4)
    if sequence.channels[:2] != ("x", "y") or not shape_ok:
        raise AnalysisInputError(
            f"analyzers need BlazePose (33, 4) x, y, z, visibility frames; got "
            f"{sequence.data.shape[1:]} with channels {sequence.channels}"
        )
    times = sequence_times(sequence) if times_s is None else np.asarray(times_s, dtype=float)
    if times.shape != (sequence.n_frames,):
        raise AnalysisInputError(f"{times.size} times for {sequence.n_frames} frames")
    data = sequence.data
    if zero_phase_smoothing:
        data = data.copy()
        aspect = aspect_ratio(sequence.image_size)
        xy = zero_phase(
            aspect_corrected(data[..., :2], aspect),
            times,
            analyzer.params.smoothing_s,
            analyzer.params.max_gap_s,
        )
        data[..., 0] = xy[..., 0] / aspect
        data[..., 1] = xy[..., 1]
    analyzer.prefiltered = zero_phase_smoothing
    analyzer.reset()
    events: list[AnalysisEvent] = []
    try:
        for i in range(sequence.n_frames):
            events += analyzer.update(
                data[i], times[i], int(sequence.frame_numbers[i]), sequence.image_size
            )
        return AnalysisResult(events, analyzer.signal())
    finally:
        if zero_phase_smoothing:  # back to the live configuration
            analyzer.prefiltered = False
            analyzer.reset()


def event_counts(events: Sequence[AnalysisEvent]) -> Mapping[str, int]:
    """How many events of each kind."""
    counts: dict[str, int] = {}
    for event in events:
        counts[event.kind] = counts.get(event.kind, 0) + 1
    return counts

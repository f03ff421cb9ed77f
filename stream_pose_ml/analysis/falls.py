"""Fall detection: per-window features, a rule baseline giving a fall probability, fall events.

Every ``window_stride_s`` a window of the last ``window_s`` seconds is scored. Its features
(docs/analysis.md): the torso angle to vertical (the ``trunk_lean`` angle of docs/features.md,
degrees), the keypoint box aspect (width / height), the hip height above the floor in body lengths,
the hip's vertical velocity in body lengths per second (its fastest descent in the window) and the
head's acceleration in body lengths per second squared. The floor is the lowest foot point seen so
far and a body length the longest shoulder-hip + thigh + shin chain seen so far (both causal).

The rule baseline: a fall is a fast descent followed by a body lying (torso near horizontal, a
wide box, or the hip on the floor). Its score is ``sigmoid(descent) * max(sigmoid(torso),
sigmoid(aspect), sigmoid(hip low))``,
a number in [0, 1] that is *not* calibrated; it is averaged over the last ``average_s`` seconds
of windows (the sliding average of PoseSpotterPro) into the per-window fall probability. A
``fall`` event is emitted as soon as it reaches ``threshold``, with the onset (the first frame of
the fast descent); the next fall can be reported once the probability stayed below the
threshold for ``rearm_s``. A trained model replaces the rule through `fall_feature_table`
(see `stream_pose_ml.analysis.fall_model`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from stream_pose_ml.analysis.analyzer import Analyzer, FramePose
from stream_pose_ml.analysis.events import AnalysisEvent, EventValue
from stream_pose_ml.features.geometry import (
    ANGLES,
    DIRECTIONS,
    POINT_NAMES,
    norm,
    orientation_angles,
    positive_or_nan,
    with_virtual_points,
)
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, BLAZEPOSE_INDEX

TRUNK = next(a for a in ANGLES if a.name == "trunk_lean")
TRUNK_PAIR = np.array([[POINT_NAMES.index(TRUNK.vertex), POINT_NAMES.index(TRUNK.a)]])
UP = np.array([DIRECTIONS[TRUNK.c][:2]])
FOOT = [
    BLAZEPOSE_INDEX[f"{s}_{n}"] for s in ("left", "right") for n in ("ankle", "heel", "foot_index")
]
NOSE = BLAZEPOSE_INDEX["nose"]
LEG = ("hip", "knee", "ankle")
MID_HIP, MID_SHOULDER = POINT_NAMES.index("mid_hip"), POINT_NAMES.index("mid_shoulder")

#: The per-window features, in the order of `FallAnalyzer.window_features`.
FALL_FEATURES: tuple[str, ...] = (
    "torso_deg",
    "box_aspect",
    "hip_height",
    "min_hip_velocity",
    "max_head_accel",
    "hip_height_drop",
    "torso_change_deg",
)


@dataclass(frozen=True)
class FallParams:
    """Parameters of the fall analyzer. Times in seconds, speeds in body lengths per second,
    angles in degrees.

    ``window_s``: the trailing window scored every ``window_stride_s`` (the first frame at or after
    each stride ends one; frames between keep its score); ``velocity_span_s``: the time over which
    velocities and accelerations are differenced; ``fall_speed``: the descent speed at the middle of
    the score's sigmoid (``fall_speed_width`` its width); ``lying_torso_deg`` and ``lying_aspect``
    the lying body's torso angle and box aspect, and ``ground_hip_height`` its hip height (body
    lengths), at the middle of theirs (a body lying along the camera's axis shows neither a
    horizontal torso nor a wide box, but its hip is on the floor); ``onset_speed``: the descent
    speed where the fall's onset is put; ``average_s``: the sliding average of window scores;
    ``threshold``: the probability that raises a fall; ``rearm_s``: how long it must stay below it
    before another fall counts.
    """

    window_s: float = 1.5
    window_stride_s: float = 0.1
    velocity_span_s: float = 0.1
    fall_speed: float = 1.0
    fall_speed_width: float = 0.15
    lying_torso_deg: float = 60.0
    lying_aspect: float = 1.3
    ground_hip_height: float = 0.2
    onset_speed: float = 0.15
    average_s: float = 0.3
    threshold: float = 0.5
    rearm_s: float = 2.0
    smoothing_s: float = 0.05
    max_gap_s: float = 0.5
    min_visibility: float = 0.3


def sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(x, -50.0, 50.0))))


class FallAnalyzer(Analyzer):
    """Fall probability per window and fall events with their onset; see `FallParams`.

    ``model`` (optional) is a fitted classifier with ``predict_proba`` over the
    `FALL_FEATURES` columns (class 1 = fall); it replaces the rule's score.
    """

    name: ClassVar[str] = "falls"
    signal_names: ClassVar[tuple[str, ...]] = (
        "torso_deg",
        "box_aspect",
        "hip_height",
        "hip_velocity",
        "head_accel",
        "score",
        "probability",
    )

    def __init__(self, params: FallParams | None = None, model: Any = None) -> None:
        self.model = model
        super().__init__(params or FallParams())

    def summary(self) -> dict[str, Any]:
        """Falls so far, the current fall probability (to 0.01: a live session gets an
        ``analysis`` event when it moves by that), the threshold and whether a fall is on."""
        return {
            "falls": self.falls,
            "probability": round(self._probability, 2),
            "threshold": self.params.threshold,
            "fallen": self._fallen,
        }

    def reset(self) -> None:
        self.falls = 0
        super().reset()

    def _reset_state(self) -> None:
        self._floor = np.nan
        self._body = np.nan
        self._history: deque[_Sample] = deque()
        self._scores: deque[tuple[float, float]] = deque()
        self._fallen = False
        self._below_since: float | None = None
        self._last_window: float | None = None
        self._last_score = 0.0
        self._probability = 0.0

    def _frame_values(self, pose: FramePose) -> tuple[float, float, float, np.ndarray]:
        """Torso angle, box aspect, hip height (body lengths), head position (body lengths)."""
        points = with_virtual_points(pose.xy, BLAZEPOSE_33)
        torso = float(orientation_angles(points, TRUNK_PAIR, UP)[0])
        seen = pose.xy[~np.isnan(pose.xy).any(axis=1)]
        aspect = float(np.ptp(seen[:, 0]) / positive_or_nan(np.array(np.ptp(seen[:, 1]))))
        feet = pose.xy[FOOT, 1]
        if np.isfinite(feet).any() and not np.nanmax(feet) <= self._floor:
            self._floor = float(np.nanmax(feet))
        chain = norm(points[MID_SHOULDER] - points[MID_HIP])
        for side in ("left", "right"):
            hip, knee, ankle = (pose.xy[BLAZEPOSE_INDEX[f"{side}_{n}"]] for n in LEG)
            chain = chain + 0.5 * (norm(hip - knee) + norm(knee - ankle))
        if np.isfinite(chain) and not chain <= self._body:
            self._body = float(chain)
        body = positive_or_nan(np.array(self._body))
        hip_height = float((self._floor - points[MID_HIP, 1]) / body)
        return torso, aspect, hip_height, pose.xy[NOSE] / body

    def _before(self, time_s: float) -> _Sample | None:
        """The oldest sample at most ``velocity_span_s`` before ``time_s`` (None: none older)."""
        for sample in self._history:
            if time_s - sample.time_s <= self.params.velocity_span_s + 1e-9:
                return sample if sample.time_s < time_s else None
        return None

    def window_features(self) -> np.ndarray:
        """The `FALL_FEATURES` of the window ending at the newest frame."""
        rows = self._history
        newest, first = rows[-1], rows[0]

        def extreme(values: list[float], how: str) -> float:
            array = np.array(values, dtype=np.float64)
            if not np.isfinite(array).any():
                return np.nan
            return float(np.nanmin(array) if how == "min" else np.nanmax(array))

        return np.array(
            [
                newest.torso,
                newest.aspect,
                newest.hip_height,
                extreme([r.hip_velocity for r in rows], "min"),
                extreme([r.head_accel for r in rows], "max"),
                extreme([r.hip_height for r in rows], "max") - newest.hip_height,
                newest.torso - first.torso,
            ]
        )

    def _rule_score(self, features: np.ndarray) -> float:
        p = self.params
        torso, aspect, hip, velocity = features[0], features[1], features[2], features[3]
        if not np.isfinite(velocity):
            return 0.0
        descent = sigmoid((-velocity - p.fall_speed) / (p.fall_speed_width * p.fall_speed))
        lying = max(
            sigmoid((torso - p.lying_torso_deg) / 8.0) if np.isfinite(torso) else 0.0,
            sigmoid((aspect - p.lying_aspect) / 0.15) if np.isfinite(aspect) else 0.0,
            sigmoid((p.ground_hip_height - hip) / 0.025) if np.isfinite(hip) else 0.0,
        )
        return descent * lying

    def _score(self, features: np.ndarray) -> float:
        if self.model is None:
            return self._rule_score(features)
        if not np.isfinite(features).all():
            return 0.0  # a window the model cannot judge (start, occlusion) is not a fall
        row: Any = features[None]
        if hasattr(self.model, "feature_names_in_"):  # fitted on a table (ModelBuilder)
            import pandas as pd

            row = pd.DataFrame(row, columns=list(self.model.feature_names_in_))
        return float(self.model.predict_proba(row)[0, 1])

    def _step(self, pose: FramePose) -> tuple[dict[str, float], list[AnalysisEvent]]:
        p, time = self.params, pose.time_s
        torso, aspect, hip_height, head = self._frame_values(pose)
        before = self._before(time)
        sample = _Sample(pose.frame_index, time, hip_height, head, torso, aspect)
        if before is not None:
            dt = time - before.time_s
            sample.hip_velocity = (hip_height - before.hip_height) / dt
            sample.head_velocity = (head - before.head) / dt
            sample.head_accel = float(norm(sample.head_velocity - before.head_velocity) / dt)
        self._history.append(sample)
        while time - self._history[0].time_s > p.window_s + 1e-9:
            self._history.popleft()
        features = self.window_features()
        due = self._last_window is None or time - self._last_window >= p.window_stride_s - 1e-9
        if due:
            self._last_window, self._last_score = time, self._score(features)
            self._scores.append((time, self._last_score))
        score = self._last_score
        while time - self._scores[0][0] > p.average_s + 1e-9:
            self._scores.popleft()
        probability = float(np.mean([s for _, s in self._scores]))
        self._probability = probability
        values = {
            "torso_deg": torso,
            "box_aspect": aspect,
            "hip_height": hip_height,
            "hip_velocity": sample.hip_velocity,
            "head_accel": sample.head_accel,
            "score": score,
            "probability": probability,
        }
        events: list[AnalysisEvent] = []
        if probability >= p.threshold:
            self._below_since = None
            if not self._fallen:
                self._fallen = True
                self.falls += 1
                events.append(self._fall_event(pose, probability, features))
        elif self._fallen:
            self._below_since = time if self._below_since is None else self._below_since
            if time - self._below_since >= p.rearm_s:
                self._fallen, self._below_since = False, None
        return values, events

    def _fall_event(
        self, pose: FramePose, probability: float, features: np.ndarray
    ) -> AnalysisEvent:
        rows = list(self._history)
        velocity = np.array([r.hip_velocity for r in rows])
        fastest = int(np.nanargmin(velocity))
        onset = fastest
        while onset > 0 and velocity[onset - 1] < -self.params.onset_speed:
            onset -= 1
        start = rows[onset]
        values: dict[str, EventValue] = {
            "fall": self.falls,
            "probability": round(probability, 4),
            "onset_frame": start.frame_index,
            "onset_s": start.time_s,
            "delay_s": round(pose.time_s - start.time_s, 4),
            "max_descent_speed": round(float(-velocity[fastest]), 3),
            "torso_deg": round(float(features[0]), 2),
            "box_aspect": round(float(features[1]), 3),
            "hip_height": round(float(features[2]), 3),
        }
        return AnalysisEvent(
            self.name,
            "fall",
            start.frame_index,
            pose.frame_index,
            start.time_s,
            pose.time_s,
            values,
        )


@dataclass
class _Sample:
    """One detected frame of the trailing window (body lengths, seconds, degrees)."""

    frame_index: int
    time_s: float
    hip_height: float
    head: np.ndarray
    torso: float
    aspect: float
    hip_velocity: float = np.nan
    head_velocity: np.ndarray = field(default_factory=lambda: np.full(2, np.nan))
    head_accel: float = np.nan

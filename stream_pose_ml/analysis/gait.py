"""Gait events from 2-D keypoints: initial contact and toe-off per foot, by the coordinate
method (Zeni et al. 2008), with cadence, step and stride times and stance share.

Along the walking direction (the heel-to-toe direction of the feet), initial contact is a
maximum of the heel's position relative to the pelvis (mid hip), toe-off a minimum of the toe's
(``foot_index``). Positions are in leg lengths (the longest hip-knee-ankle chain seen so far).
Extrema are found causally: one is confirmed when the signal has come back from it by
``prominence`` leg lengths, so a live event comes a few frames after the frame it names. With
``contact_rule="heel_speed"`` (the default) a contact is then placed where the heel's forward
speed falls below ``heel_speed_share`` of the walking speed (Ghoussayni et al. 2004, with the
threshold of Bruening & Ridge 2014), the walking speed being the heel's backward speed
relative to the pelvis in early stance; that holds the event back ``speed_window_s`` after
the peak. Gaps up to ``max_fill_s`` are filled by linear interpolation before the next frame is
used. Works on side views, overground or on a treadmill (the pelvis is the reference either way).

``method="floor_line"`` is the running-gait notebook's approach instead: a floor line fitted
(least squares, automatically, to the lower envelope of the foot points) and contact when the
heel comes down to it; it needs no walking direction, so it also works on frontal views.

``method="classifier"`` is the notebook's other approach: a trained per-frame classifier
(`stream_pose_ml.analysis.gait_model`) finds the contacts; toe-offs stay the coordinate method's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from stream_pose_ml.analysis.analyzer import Analyzer, FramePose
from stream_pose_ml.analysis.events import AnalysisEvent, AnalysisInputError, EventValue
from stream_pose_ml.features.geometry import norm
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_INDEX

if TYPE_CHECKING:
    from stream_pose_ml.analysis.gait_model import GaitContactModel

FEET = ("left", "right")


@dataclass(frozen=True)
class GaitParams:
    """Gait parameters (lengths in leg lengths, times in seconds).

    ``method``: ``"coordinate"`` (Zeni), ``"floor_line"`` or ``"classifier"`` (needs a model).
    ``prominence``: how far a signal must come back from an extremum to confirm it (coordinate
    method). ``contact_rule``: ``"heel_speed"`` moves each heel peak to the frame nearest the
    moment the heel's forward speed falls below ``heel_speed_share`` of the walking speed,
    which is measured over the ``speed_window_s`` after the peak; ``"peak"`` keeps the peak
    (Zeni alone). Floor line: the floor is fitted over the last ``floor_window_s`` to the lower
    envelope of the heel and toe points; a foot whose heel has been ``lift_height`` leg lengths
    above it makes contact when the heel comes within ``contact_tolerance`` of it, and leaves
    (toe-off) when the toe rises above that.
    ``max_fill_s``: the longest run of missing frames filled by interpolation; ``smoothing_s``,
    ``max_gap_s``, ``min_visibility`` as for every analyzer (seconds)."""

    method: Literal["coordinate", "floor_line", "classifier"] = "coordinate"
    prominence: float = 0.1
    contact_rule: Literal["heel_speed", "peak"] = "heel_speed"
    heel_speed_share: float = 0.78
    speed_window_s: float = 0.2
    floor_window_s: float = 3.0
    contact_tolerance: float = 0.015
    lift_height: float = 0.05
    max_fill_s: float = 0.2
    smoothing_s: float = 0.02
    max_gap_s: float = 0.5
    min_visibility: float = 0.3


class _Extrema:
    """Causal alternating maxima / minima with a prominence."""

    def __init__(self, prominence: float) -> None:
        self.prominence = prominence
        self.mode = "max"
        self.best: tuple[float, int, float] | None = None  # value, frame, time
        self.first: int | None = None  # an extremum at the first frame seen is not one

    def push(self, value: float, frame: int, time: float) -> tuple[str, int, float] | None:
        if not np.isfinite(value):
            return None
        if self.first is None:
            self.first = frame
        best = self.best
        better = best is None or (value > best[0] if self.mode == "max" else value < best[0])
        if better:
            self.best = (value, frame, time)
            return None
        assert best is not None
        if abs(value - best[0]) < self.prominence:
            return None
        found = (self.mode, best[1], best[2])
        self.mode = "min" if self.mode == "max" else "max"
        self.best = (value, frame, time)
        return None if best[1] == self.first else found


class GaitAnalyzer(Analyzer):
    """Initial contacts and toe-offs of both feet; see `GaitParams` and docs/analysis.md.

    ``model`` (a `GaitContactModel`) is required by, and only used with, ``method="classifier"``.
    ``pushed_features`` holds the (frame named, its time, ``(2, columns)`` features) rows of the
    frames the last update analyzed (classifier method; filled frames included)."""

    name: ClassVar[str] = "gait"
    signal_names: ClassVar[tuple[str, ...]] = (
        "left_heel_rel",
        "right_heel_rel",
        "left_toe_rel",
        "right_toe_rel",
        "left_heel_height",
        "right_heel_height",
        "left_toe_height",
        "right_toe_height",
    )

    def __init__(
        self, params: GaitParams | None = None, model: GaitContactModel | None = None
    ) -> None:
        params = params or GaitParams()
        if (params.method == "classifier") != (model is not None):
            raise AnalysisInputError(
                "a gait model goes with method='classifier', and that method needs one "
                "(stream_pose_ml.analysis.gait_model: train_gait_model or load_gait_model)"
            )
        self.model = model
        self.pushed_features: list[tuple[int, float, np.ndarray]] = []
        super().__init__(params)

    def summary(self) -> dict[str, Any]:
        steps = np.diff(sorted(t for times in self._contacts.values() for t in times))
        step_s = float(np.median(steps[-6:])) if len(steps) else 0.0
        cadence = round(60.0 / step_s, 1) if step_s > 0 else None  # both feet in one frame: 0
        return {"contacts": sum(len(v) for v in self._contacts.values()), "cadence": cadence}

    def update(
        self,
        landmarks: np.ndarray | Sequence[Sequence[float]] | None,
        time_s: float,
        frame_index: int,
        image_size: tuple[int, int] | Sequence[int] | None = None,
    ) -> list[AnalysisEvent]:
        self.pushed_features = []
        return super().update(landmarks, time_s, frame_index, image_size)

    def _reset_state(self) -> None:
        p = self.params
        self._leg = np.nan
        self._last: tuple[int, float, dict[str, float]] | None = None
        self._detectors = {
            (foot, part): _Extrema(p.prominence) for foot in FEET for part in ("heel", "toe")
        }
        self._heels: dict[str, deque[tuple[int, float, float]]] = {f: deque() for f in FEET}
        self._pending: dict[str, tuple[int, float]] = {}  # foot: its heel peak (frame, time)
        self._contacts: dict[str, list[float]] = {foot: [] for foot in FEET}
        self._contact_frames: dict[str, list[int]] = {foot: [] for foot in FEET}
        self._toe_offs: dict[str, list[float]] = {foot: [] for foot in FEET}
        self._feet: deque[tuple[float, np.ndarray]] = deque()  # (time, (4, 2) heel/toe points)
        self._floor_since: float | None = None
        self._phase = {foot: "unknown" for foot in FEET}
        if self.model is not None:
            from stream_pose_ml.analysis.gait_model import ContactDetector

            self._contact_detector = ContactDetector(self.model)

    def _measure(self, pose: FramePose) -> dict[str, float]:
        xy = pose.xy
        point = {
            f"{foot}_{n}": xy[BLAZEPOSE_INDEX[f"{foot}_{n}"]]
            for foot in FEET
            for n in ("hip", "knee", "ankle", "heel", "foot_index")
        }
        pelvis = (point["left_hip"] + point["right_hip"]) / 2.0
        for foot in FEET:
            chain = norm(point[f"{foot}_hip"] - point[f"{foot}_knee"]) + norm(
                point[f"{foot}_knee"] - point[f"{foot}_ankle"]
            )
            if np.isfinite(chain) and not chain <= self._leg:
                self._leg = float(chain)
        facing = np.sign(
            np.nansum([point[f"{f}_foot_index"][0] - point[f"{f}_heel"][0] for f in FEET])
        )
        scale = facing / self._leg if self._leg > 0 else np.nan
        values = {}
        for foot in FEET:
            values[f"{foot}_heel_rel"] = float((point[f"{foot}_heel"][0] - pelvis[0]) * scale)
            values[f"{foot}_toe_rel"] = float((point[f"{foot}_foot_index"][0] - pelvis[0]) * scale)
        if self.params.method != "coordinate":
            feet = np.stack([point[f"{f}_{n}"] for f in FEET for n in ("heel", "foot_index")])
            slope, intercept = self._floor(pose.time_s, feet)
            for foot in FEET:
                for name, part in (("heel", "heel"), ("toe", "foot_index")):
                    x, y = point[f"{foot}_{part}"]
                    values[f"{foot}_{name}_height"] = float((slope * x + intercept - y) / self._leg)
        return values

    def _floor(self, time_s: float, feet: np.ndarray) -> tuple[float, float]:
        """The floor line ``y = slope x + intercept`` under the recent foot points: least squares
        (as the running-gait notebook fits its floor), refitted twice to the points below."""
        self._feet.append((time_s, feet))
        self._floor_since = time_s if self._floor_since is None else self._floor_since
        while time_s - self._feet[0][0] > self.params.floor_window_s:
            self._feet.popleft()
        points = np.concatenate([f for _, f in self._feet])
        points = points[np.isfinite(points).all(axis=1)]
        if len(points) < 8:
            return np.nan, np.nan
        chosen = points
        slope, intercept = 0.0, float(np.max(points[:, 1]))
        for _ in range(3):
            if np.ptp(chosen[:, 0]) > 1e-3:
                a = np.stack([chosen[:, 0], np.ones(len(chosen))], axis=1)
                slope, intercept = np.linalg.lstsq(a, chosen[:, 1], rcond=None)[0]
            else:
                slope, intercept = 0.0, float(np.mean(chosen[:, 1]))
            below = points[points[:, 1] >= slope * points[:, 0] + intercept]
            if len(below) < 4:
                break
            chosen = below
        return float(slope), float(intercept)

    def _step(self, pose: FramePose) -> tuple[dict[str, float], list[AnalysisEvent]]:
        values = self._measure(pose)
        events: list[AnalysisEvent] = []
        for frame, time, filled in self._filled(pose, values):
            events += self._push(frame, time, filled)
        events += self._push(pose.frame_index, pose.time_s, values)
        self._last = (pose.frame_index, pose.time_s, values)
        return values, events

    def _filled(
        self, pose: FramePose, values: dict[str, float]
    ) -> list[tuple[int, float, dict[str, float]]]:
        """Interpolated values for the missing frames since the last detection (short gaps)."""
        if self._last is None or pose.time_s - self._last[1] > self.params.max_fill_s:
            return []
        frame0, time0, values0 = self._last
        missing = [row for row in self._rows if frame0 < row[0] < pose.frame_index]
        out = []
        for frame, time, row_values in missing:
            share = (time - time0) / (pose.time_s - time0)
            filled = {k: values0[k] + share * (values[k] - values0[k]) for k in values}
            row_values.update(filled)  # the plotted signal shows the filled values too
            out.append((frame, time, filled))
        return out

    def _push(self, frame: int, time: float, values: dict[str, float]) -> list[AnalysisEvent]:
        if self.params.method == "floor_line":
            return self._push_floor(frame, time, values)
        events = []
        if self.model is not None:
            detector = self._contact_detector
            features = detector.features(frame, time, values)
            named = detector.named_frame()
            if named is not None:
                self.pushed_features.append((*named, features))
                probabilities = self.model.probabilities(features)
                for foot, at, at_s, _ in detector.pick(named, probabilities):
                    events.append(self._contact(foot, at, at_s))
        for foot in FEET:
            heel = self._detectors[(foot, "heel")].push(values[f"{foot}_heel_rel"], frame, time)
            if heel is not None and heel[0] == "max" and self.model is None:
                if self.params.contact_rule == "peak":
                    events.append(self._contact(foot, heel[1], heel[2]))
                else:
                    events += self._settle(foot, time, force=True)  # one held back goes now
                    self._pending[foot] = (heel[1], heel[2])
            toe = self._detectors[(foot, "toe")].push(values[f"{foot}_toe_rel"], frame, time)
            if toe is not None and toe[0] == "min":
                events.append(self._toe_off(foot, toe[1], toe[2]))
            if self.params.contact_rule == "heel_speed" and self.model is None:
                self._remember_heel(foot, frame, time, values[f"{foot}_heel_rel"])
                events += self._settle(foot, time)
        return events

    def _without_pose(self, time_s: float) -> list[AnalysisEvent]:
        # a frame with nobody (or the next one after a gap) still sends the contacts now due
        return [e for foot in FEET for e in self._settle(foot, time_s)]

    def _remember_heel(self, foot: str, frame: int, time: float, value: float) -> None:
        heels = self._heels[foot]
        heels.append((frame, time, value))
        while time - heels[0][1] > 2 * self.params.speed_window_s + self.params.max_fill_s:
            heels.popleft()

    def _settle(self, foot: str, time: float, force: bool = False) -> list[AnalysisEvent]:
        """The held-back contact of ``foot`` once its speed window has passed (or ``force``)."""
        pending = self._pending.get(foot)
        if pending is None or not (force or time - pending[1] >= self.params.speed_window_s):
            return []
        del self._pending[foot]
        frame, at = heel_speed_contact(
            list(self._heels[foot]),
            pending,
            self.params.heel_speed_share,
            self.params.speed_window_s,
        )
        return [self._contact(foot, frame, at)]

    def _push_floor(self, frame: int, time: float, values: dict[str, float]) -> list[AnalysisEvent]:
        p, events = self.params, []
        if self._floor_since is None or time - self._floor_since < 1.0:
            return []  # the floor needs a second of steps
        for foot in FEET:
            heel, toe = values[f"{foot}_heel_height"], values[f"{foot}_toe_height"]
            if not (np.isfinite(heel) and np.isfinite(toe)):
                continue
            phase = self._phase[foot]
            if heel > p.lift_height and toe > p.contact_tolerance:
                if phase == "stance":
                    events.append(self._toe_off(foot, frame, time))
                self._phase[foot] = "swing"
            elif phase == "stance" and toe > p.contact_tolerance:
                events.append(self._toe_off(foot, frame, time))
                self._phase[foot] = "leaving"
            elif phase == "swing" and heel <= p.contact_tolerance:
                events.append(self._contact(foot, frame, time))
                self._phase[foot] = "stance"
            elif phase == "unknown" and heel <= p.contact_tolerance and toe <= p.contact_tolerance:
                self._phase[foot] = "stance"
        return events

    def _toe_off(self, foot: str, frame: int, time: float) -> AnalysisEvent:
        self._toe_offs[foot].append(time)
        return AnalysisEvent(self.name, "toe_off", frame, frame, time, time, {"foot": foot})

    def _contact(self, foot: str, frame: int, time: float) -> AnalysisEvent:
        other = "right" if foot == "left" else "left"
        previous = self._contacts[foot][-1] if self._contacts[foot] else None
        values: dict[str, EventValue] = {"foot": foot, "stride_time_s": None, "step_time_s": None}
        if previous is not None:
            stride = time - previous
            values["stride_time_s"] = round(stride, 4)
            offs = [t for t in self._toe_offs[foot] if previous < t < time]
            if offs:
                values["stance_share"] = round((offs[0] - previous) / stride, 3)
        if self._contacts[other] and self._contacts[other][-1] < time:
            step = time - self._contacts[other][-1]
            values["step_time_s"] = round(step, 4)
            values["cadence_steps_per_min"] = round(60.0 / step, 1)
        self._contacts[foot].append(time)
        self._contact_frames[foot].append(frame)
        return AnalysisEvent(self.name, "initial_contact", frame, frame, time, time, values)


def heel_speed_contact(
    heels: Sequence[tuple[int, float, float]],
    peak: tuple[int, float],
    share: float,
    window_s: float,
) -> tuple[int, float]:
    """The (frame, time) of ``heels`` (frame, time, heel position relative to the pelvis)
    nearest the moment after ``peak`` when the heel's forward speed falls below ``share`` of
    the walking speed; the peak itself when that cannot be measured.

    Speeds are finite differences between consecutive frames, taken at their midpoints; the
    walking speed is the median backward speed over the last two thirds of ``window_s``
    after the peak (the heel is on the floor by then), and the crossing is interpolated
    linearly between two midpoints."""
    rows = [r for r in heels if r[1] >= peak[1] - window_s / 2 and np.isfinite(r[2])]
    if len(rows) < 4:
        return peak
    times = np.array([r[1] for r in rows])
    values = np.array([r[2] for r in rows])
    mids = (times[1:] + times[:-1]) / 2
    speeds = np.diff(values) / np.maximum(np.diff(times), 1e-9)
    late = speeds[(mids > peak[1] + window_s / 3) & (mids <= peak[1] + window_s)]
    walking = -float(np.median(late)) if len(late) >= 2 else np.nan
    if not walking > 0:
        return peak
    threshold = -(1.0 - share) * walking  # relative to the pelvis, the heel moves at -walking
    for k in range(len(speeds) - 1):
        if mids[k + 1] <= peak[1] or not speeds[k] >= threshold > speeds[k + 1]:
            continue
        crossing = mids[k] + (speeds[k] - threshold) / (speeds[k] - speeds[k + 1]) * (
            mids[k + 1] - mids[k]
        )
        nearest = int(np.argmin(np.abs(times - crossing)))
        return rows[nearest][0], rows[nearest][1]
    return peak

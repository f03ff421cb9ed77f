"""Squat analysis: repetitions by hysteresis, depth, trunk lean, knee over toe, knee valgus.

The camera view decides what can be judged. From the **side** (shoulders and hips overlap in
the image) repetitions are counted on the knee angle of the side facing the camera (the
``left_knee``/``right_knee`` angle of docs/features.md, 180 degrees straight), and depth, trunk
lean and knee over toe are measured. From the **front** the knee angle is foreshortened, so
repetitions are counted on the hip height (mid hip above the ankles, as a share of its standing
height) and knee valgus is screened. An **oblique** view gives a ``camera_angle`` event and no
repetitions: its angles would be guesses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import numpy as np

from stream_pose_ml.analysis.analyzer import Analyzer, FramePose
from stream_pose_ml.analysis.events import AnalysisEvent, EventValue, FormError, span_errors
from stream_pose_ml.features.geometry import (
    ANGLES,
    DIRECTIONS,
    joint_angles,
    norm,
    orientation_angles,
    positive_or_nan,
)
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_INDEX

View = Literal["side", "front", "oblique"]
SIDES = ("left", "right")


@dataclass(frozen=True)
class SquatParams:
    """Thresholds of the squat analyzer. Angles in degrees, times in seconds; lengths are
    shares of a body segment, as named.

    Repetitions (hysteresis): a repetition starts at the last frame the person stood
    (knee angle >= ``standing_knee_deg``; front view: hip height ratio >= ``standing_hip_ratio``),
    counts once the signal went below ``descent_knee_deg`` (``descent_hip_ratio``) and ends at
    the first frame standing again; shorter than ``min_rep_s`` it is noise, not a repetition.

    Form (per repetition): ``shallow`` when the smallest knee angle is above
    ``max_bottom_knee_deg`` (front view: the lowest hip height ratio above
    ``front_max_hip_ratio``), or, with ``require_hip_below_knee``, when the hip never went below
    the knee; ``trunk_lean`` above ``max_trunk_lean_deg`` (shoulder-hip segment to vertical);
    ``knee_over_toe`` when the knee is ahead of the toes by more than ``max_knee_over_toe`` shin
    lengths; ``knee_valgus`` (front view, a screening flag) when the knee gap is below
    ``min_knee_ankle_ratio`` times the ankle gap.

    View: the shoulder and hip widths over twice the torso length; below
    ``side_max_width_ratio`` is a side view, above ``front_min_width_ratio`` a front view, in
    between oblique, judged while standing between repetitions; a new view must hold
    ``view_confirm_s`` to count.
    ``view`` ``"auto"`` detects it; ``"side"`` or ``"front"`` forces it.

    Input: landmarks with visibility below ``min_visibility`` are ignored; landmark
    coordinates are smoothed causally with time constant ``smoothing_s``; detections more than
    ``max_gap_s`` apart end what was in progress.
    """

    standing_knee_deg: float = 160.0
    descent_knee_deg: float = 140.0
    standing_hip_ratio: float = 0.96
    descent_hip_ratio: float = 0.92
    min_rep_s: float = 0.4
    max_bottom_knee_deg: float = 100.0
    front_max_hip_ratio: float = 0.75
    require_hip_below_knee: bool = False
    max_trunk_lean_deg: float = 45.0
    max_knee_over_toe: float = 0.3
    min_knee_ankle_ratio: float = 0.8
    side_max_width_ratio: float = 0.25
    front_min_width_ratio: float = 0.45
    view: Literal["auto", "side", "front"] = "auto"
    view_confirm_s: float = 0.4
    smoothing_s: float = 0.05
    max_gap_s: float = 0.5
    min_visibility: float = 0.3

    def __post_init__(self) -> None:
        if not self.descent_knee_deg < self.standing_knee_deg:
            raise ValueError("descent_knee_deg must be below standing_knee_deg")
        if not self.descent_hip_ratio < self.standing_hip_ratio:
            raise ValueError("descent_hip_ratio must be below standing_hip_ratio")
        if not self.side_max_width_ratio < self.front_min_width_ratio:
            raise ValueError("side_max_width_ratio must be below front_min_width_ratio")
        if self.view not in ("auto", "side", "front"):
            raise ValueError(f"view must be 'auto', 'side' or 'front', got {self.view!r}")


#: Threshold profiles: a beginner is judged more leniently than an expert.
SQUAT_PROFILES: dict[str, SquatParams] = {
    "beginner": SquatParams(
        max_bottom_knee_deg=110.0,
        front_max_hip_ratio=0.8,
        max_trunk_lean_deg=50.0,
        max_knee_over_toe=0.4,
        min_knee_ankle_ratio=0.7,
    ),
    "standard": SquatParams(),
    "expert": SquatParams(
        max_bottom_knee_deg=90.0,
        front_max_hip_ratio=0.7,
        require_hip_below_knee=True,
        max_trunk_lean_deg=40.0,
        max_knee_over_toe=0.2,
        min_knee_ankle_ratio=0.85,
    ),
}


def squat_params(profile: str = "standard", **overrides: Any) -> SquatParams:
    """The parameters of a profile (``beginner``, ``standard``, ``expert``), with overrides."""
    try:
        base = SQUAT_PROFILES[profile]
    except KeyError:
        raise ValueError(
            f"unknown squat profile {profile!r}; have {sorted(SQUAT_PROFILES)}"
        ) from None
    return replace(base, **overrides)


def _index(name: str) -> int:
    return BLAZEPOSE_INDEX[name]


def _knee_triplet(side: str) -> np.ndarray:
    angle = next(a for a in ANGLES if a.name == f"{side}_knee")
    return np.array([[_index(angle.a), _index(angle.vertex), _index(angle.c)]])


KNEE_TRIPLETS = {side: _knee_triplet(side) for side in SIDES}
UP = np.array([DIRECTIONS["image_up"][:2]])
LEG = ("hip", "knee", "ankle", "heel", "foot_index")


class SquatAnalyzer(Analyzer):
    """Counts squats and judges their form; see `SquatParams` and docs/analysis.md."""

    name: ClassVar[str] = "squat"
    signal_names: ClassVar[tuple[str, ...]] = (
        "knee_angle_deg",
        "hip_height_ratio",
        "trunk_lean_deg",
        "knee_over_toe",
        "knee_ankle_ratio",
        "hip_minus_knee",
        "width_ratio",
    )

    def __init__(self, params: SquatParams | None = None, profile: str | None = None) -> None:
        super().__init__(params or squat_params(profile or "standard"))

    def summary(self) -> dict[str, Any]:
        return {"repetitions": self.repetitions, "view": self.view}

    def reset(self) -> None:
        self.repetitions = 0
        super().reset()

    def _reset_state(self) -> None:
        forced = self.params.view
        self.view: View | None = None if forced == "auto" else forced
        self._candidate: tuple[View, int, float] | None = None
        self._hip_reference = np.nan
        self._last_standing: tuple[int, float] | None = None
        self._rep: list[tuple[int, float, dict[str, float]]] | None = None
        self._side = "left"
        self._armed = False
        self._standing_row: dict[str, float] = {}

    # -- per frame --------------------------------------------------------------------------
    def _measure(self, pose: FramePose, side: str) -> dict[str, float]:
        xy = pose.xy
        point = {name: xy[_index(f"{side}_{name}")] for name in LEG}
        ls, rs = xy[_index("left_shoulder")], xy[_index("right_shoulder")]
        lh, rh = xy[_index("left_hip")], xy[_index("right_hip")]
        lk, rk = xy[_index("left_knee")], xy[_index("right_knee")]
        la, ra = xy[_index("left_ankle")], xy[_index("right_ankle")]
        shoulder = xy[_index(f"{side}_shoulder")]
        torso = positive_or_nan(norm((ls + rs) / 2 - (lh + rh) / 2))
        width = (abs(ls[0] - rs[0]) + abs(lh[0] - rh[0])) / (2.0 * torso)
        knee = float(joint_angles(xy, KNEE_TRIPLETS[side])[0])
        trunk = np.stack([point["hip"], shoulder])
        lean = float(orientation_angles(trunk, np.array([[0, 1]]), UP)[0])
        facing = np.sign(point["foot_index"][0] - point["heel"][0])
        shin = positive_or_nan(norm(point["knee"] - point["ankle"]))
        over_toe = (point["knee"][0] - point["foot_index"][0]) * facing / shin
        thigh = positive_or_nan(norm(point["hip"] - point["knee"]))
        hip_minus_knee = (point["hip"][1] - point["knee"][1]) / thigh
        if self.view == "front":
            hip_minus_knee = ((lh[1] + rh[1]) - (lk[1] + rk[1])) / 2.0 / thigh
        height = (la[1] + ra[1]) / 2.0 - (lh[1] + rh[1]) / 2.0
        if np.isfinite(height) and not height <= self._hip_reference:
            self._hip_reference = float(height)  # the standing hip height: its running maximum
        ankle_gap = abs(la[0] - ra[0])
        return {
            "knee_angle_deg": knee,
            "hip_height_ratio": float(height / positive_or_nan(np.array(self._hip_reference))),
            "trunk_lean_deg": lean,
            "knee_over_toe": float(over_toe),
            "knee_ankle_ratio": float(abs(lk[0] - rk[0]) / positive_or_nan(np.array(ankle_gap))),
            "hip_minus_knee": float(hip_minus_knee),
            "width_ratio": float(width),
        }

    def _facing_side(self, pose: FramePose) -> str:
        score = {
            side: np.nansum([pose.visibility[_index(f"{side}_{n}")] for n in LEG]) for side in SIDES
        }
        return "right" if score["right"] > score["left"] else "left"

    def _depth(self, values: dict[str, float]) -> tuple[float, float, float]:
        """(signal, standing threshold, descent threshold) for the current view."""
        p = self.params
        if self.view == "front":
            return values["hip_height_ratio"], p.standing_hip_ratio, p.descent_hip_ratio
        return values["knee_angle_deg"], p.standing_knee_deg, p.descent_knee_deg

    def _step(self, pose: FramePose) -> tuple[dict[str, float], list[AnalysisEvent]]:
        if self._rep is None:
            self._side = self._facing_side(pose)
        values = self._measure(pose, self._side)
        # the view is judged standing (hip height near its standing level), between repetitions
        standing_now = values["hip_height_ratio"] >= self.params.standing_hip_ratio
        events = (
            self._update_view(values["width_ratio"], pose)
            if self._rep is None and standing_now
            else []
        )
        if self.view in (None, "oblique"):
            self._last_standing = None
            return values, events
        signal, standing, descent = self._depth(values)
        if not np.isfinite(signal):
            return values, events
        frame, time = pose.frame_index, pose.time_s
        if self._rep is None:
            if signal >= standing:
                self._last_standing = (frame, time)
            elif self._last_standing is not None:
                self._rep, self._armed = [], False
                self._rep.append((*self._last_standing, self._standing_row))
        if self._rep is not None:
            self._rep.append((frame, time, values))
            self._armed = self._armed or signal < descent
            if signal >= standing:
                rows, armed = self._rep, self._armed
                self._rep, self._last_standing = None, (frame, time)
                if armed and time - rows[0][1] >= self.params.min_rep_s:
                    self.repetitions += 1
                    events.append(self._repetition(rows))
        if signal >= standing:
            self._standing_row = values
        return values, events

    def _update_view(self, width: float, pose: FramePose) -> list[AnalysisEvent]:
        p = self.params
        if p.view != "auto" or not np.isfinite(width):
            return []
        found: View = (
            "side"
            if width <= p.side_max_width_ratio
            else "front"
            if width >= p.front_min_width_ratio
            else "oblique"
        )
        if found == self.view:
            self._candidate = None
            return []
        if self._candidate is None or self._candidate[0] != found:
            self._candidate = (found, pose.frame_index, pose.time_s)
        view, since_frame, since_s = self._candidate
        if pose.time_s - since_s < p.view_confirm_s:
            return []
        self.view, self._candidate = view, None
        if view != "oblique":
            return []
        values: dict[str, EventValue] = {"view": "oblique", "width_ratio": round(width, 3)}
        event = AnalysisEvent(
            self.name, "camera_angle", since_frame, pose.frame_index, since_s, pose.time_s, values
        )
        return [event]

    # -- per repetition ---------------------------------------------------------------------
    def _repetition(self, rows: list[tuple[int, float, dict[str, float]]]) -> AnalysisEvent:
        p, front = self.params, self.view == "front"
        frames = [r[0] for r in rows]
        column = {k: np.array([r[2].get(k, np.nan) for r in rows]) for k in self.signal_names}
        depth = column["hip_height_ratio" if front else "knee_angle_deg"]
        bottom = int(np.nanargmin(depth))
        lowest = float(depth[bottom])
        hip_below = bool(np.nanmax(column["hip_minus_knee"]) > 0.0)
        shallow = lowest > (p.front_max_hip_ratio if front else p.max_bottom_knee_deg)
        shallow = shallow or (p.require_hip_below_knee and not hip_below)
        errors: list[FormError | None] = []
        if shallow:
            near = np.flatnonzero(depth <= lowest + (0.02 if front else 5.0))
            errors.append(FormError("shallow", frames[near[0]], frames[near[-1]], round(lowest, 3)))

        def check(key: str, bad: np.ndarray, kind: str, worst: str) -> None:
            idx = np.flatnonzero(bad)
            errors.append(
                span_errors(kind, [frames[i] for i in idx], list(column[key][idx]), worst)
            )

        with np.errstate(invalid="ignore"):
            if front:
                ratio = column["knee_ankle_ratio"]
                check("knee_ankle_ratio", ratio < p.min_knee_ankle_ratio, "knee_valgus", "min")
            else:
                lean, toe = column["trunk_lean_deg"], column["knee_over_toe"]
                check("trunk_lean_deg", lean > p.max_trunk_lean_deg, "trunk_lean", "max")
                check("knee_over_toe", toe > p.max_knee_over_toe, "knee_over_toe", "max")

        def worst(key: str, how: str) -> float | None:
            col = column[key]
            if not np.isfinite(col).any():
                return None
            return round(float(np.nanmax(col) if how == "max" else np.nanmin(col)), 3)

        values: dict[str, EventValue] = {
            "repetition": self.repetitions,
            "view": self.view,
            "side": self._side,
            "bottom_frame": frames[bottom],
            "bottom_s": rows[bottom][1],
            "duration_s": round(rows[-1][1] - rows[0][1], 4),
            "min_knee_angle_deg": None if front else round(lowest, 2),
            "min_hip_height_ratio": worst("hip_height_ratio", "min"),
            "hip_below_knee": hip_below,
            "max_trunk_lean_deg": None if front else worst("trunk_lean_deg", "max"),
            "max_knee_over_toe": None if front else worst("knee_over_toe", "max"),
            "min_knee_ankle_ratio": worst("knee_ankle_ratio", "min") if front else None,
            "shallow": shallow,
        }
        found = tuple(e for e in errors if e is not None)
        return AnalysisEvent(
            self.name, "repetition", frames[0], frames[-1], rows[0][1], rows[-1][1], values, found
        )

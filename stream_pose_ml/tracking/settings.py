"""`TrackerSettings`: every parameter of the pose tracker, with its default and unit."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from stream_pose_ml.errors import PoseDataError

#: Frame rate assumed for frame numbers when a sequence has no ``fps`` (frames per second).
ASSUMED_FPS = 30.0


@dataclass(frozen=True)
class TrackerSettings:
    """Parameters of `PoseTracker`. Lengths are in image heights (x is scaled by the aspect
    ratio when the image size is known), times in seconds.

    ``min_similarity``: gate; a detection is never given to a track whose keypoint similarity
    (OKS, in ``[0, 1]``) with it is lower. ``predict``: constant-velocity prediction of each
    track's position from its last ``velocity_weight``-smoothed body velocity (image heights per
    second). ``prediction_doubt``: the prediction may be wrong (a stop, a jump) by this fraction
    of the distance it moves the track, added in quadrature to each landmark's falloff: nothing
    at 30 fps, and at 5 fps the demo's man is still matched when he lands from his jump.
    ``scale_growth_per_s``: the track's size used in the similarity grows by this
    fraction per second unseen, so that a person coming back after an occlusion is still
    matched. ``min_hits``: detections a new (tentative) track needs, in consecutive frames,
    before it is confirmed and given an id; a tentative track missed once is dropped.
    ``max_unseen_s``: a confirmed track not seen for longer than this (seconds) ends.
    ``max_tracks``: most tracks alive at once (tentative ones included); further detections
    start no track. ``min_visibility``: landmarks with a lower ``visibility`` are not compared
    (NaN visibility counts as visible). ``min_landmarks``: fewest landmarks two poses must share
    to be compared; a detection with fewer usable landmarks is ignored.
    ``duplicate_similarity``: of two detections in one frame this similar, only the one with
    more usable landmarks is kept (MediaPipe sometimes reports one person twice).
    ``duplicate_iou``: an unmatched detection whose box has at least this intersection over
    union with a matched or fuller one starts no track, and a tentative track whose detection
    overlaps a confirmed track's this much loses the match (the browser's model repeats a person
    with slightly different landmarks, which would otherwise keep two tracks on them).
    ``swap_correction`` and ``swap_margin``: a left/right group (face, arms, legs) of a matched
    detection is swapped back when its mirrored landmarks match the track by more than
    ``swap_margin`` (mean per-landmark similarity) than the landmarks as given.
    """

    min_similarity: float = 0.05
    predict: bool = True
    velocity_weight: float = 0.5
    prediction_doubt: float = 0.3
    scale_growth_per_s: float = 1.0
    min_hits: int = 5
    confirm_s: float = 0.4
    max_unseen_s: float = 2.0
    max_tracks: int = 10
    min_visibility: float = 0.5
    min_landmarks: int = 4
    duplicate_similarity: float = 0.5
    duplicate_iou: float = 0.7
    swap_correction: bool = True
    swap_margin: float = 0.15

    def __post_init__(self) -> None:
        for name in ("min_similarity", "velocity_weight", "min_visibility", "swap_margin"):
            _check(name, getattr(self, name), 0.0, 1.0)
        _check("duplicate_similarity", self.duplicate_similarity, 0.0, 1.0, low_open=True)
        _check("duplicate_iou", self.duplicate_iou, 0.0, 1.0, low_open=True)
        _check("scale_growth_per_s", self.scale_growth_per_s, 0.0, math.inf)
        _check("max_unseen_s", self.max_unseen_s, 0.0, math.inf)
        _check("prediction_doubt", self.prediction_doubt, 0.0, math.inf)
        _check("confirm_s", self.confirm_s, 0.0, math.inf, low_open=True)
        for name in ("min_hits", "max_tracks", "min_landmarks"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PoseDataError(f"tracker setting {name} must be a whole number >= 1")
        for name in ("predict", "swap_correction"):
            if not isinstance(getattr(self, name), bool):
                raise PoseDataError(f"tracker setting {name} must be true or false")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable settings (for sequence metadata)."""
        return asdict(self)


def _check(name: str, value: Any, low: float, high: float, low_open: bool = False) -> None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if (
        not number
        or math.isnan(value)
        or value < low
        or value > high
        or (low_open and value == low)
    ):
        raise PoseDataError(
            f"tracker setting {name} must be a number in {'(' if low_open else '['}{low}, {high}],"
            f" got {value!r}"
        )

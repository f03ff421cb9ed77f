"""Choosing the subject: the person to analyze among `People`, by rule or by id.

Every rule looks at each person's frames where they are seen, in image heights (x scaled by
the aspect ratio when the image size is known), and returns a track id:

* ``largest``: the largest median box around the person's landmarks (nearest the camera);
* ``longest_visible``: seen in the most frames (ties: the largest);
* ``nearest``: the median centre nearest a point ``(x, y)`` (normalized image coordinates);
* ``inside``: centre inside a region ``(x0, y0, x1, y1)`` (normalized) in the most frames;
* ``moves_most``: the centre covers the largest extent (the diagonal of the box its positions
  span), e.g. the person walking across rather than the one exercising in place;
* ``by_id``: the given track id.

The centre is the mean of the person's landmarks in a frame. `parse_subject` reads a rule
written as text (the command line's ``--subject``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.tracking.people import People


def _units(people: People) -> np.ndarray:
    """Scale from normalized coordinates to image heights."""
    if not len(people):
        raise PoseDataError("there is nobody to choose from")
    first = people[people.ids[0]]
    if first.image_size is None:
        return np.ones(2)
    width, height = first.image_size
    return np.array([width / height, 1.0])


def _centres(people: People) -> dict[int, np.ndarray]:
    """Per person, ``(seen frames, 2)`` centres in image heights."""
    units = _units(people)
    centres = {}
    for track_id, seq in people.items():
        xy = seq.data[..., :2] * units
        seen = seq.detected
        with np.errstate(all="ignore"):
            centres[track_id] = np.nanmean(xy[seen], axis=1) if seen.any() else np.zeros((0, 2))
    return centres


def _best(scores: dict[int, float], what: str, highest: bool = True) -> int:
    valid = {k: v for k, v in scores.items() if np.isfinite(v)}
    if not valid:
        raise PoseDataError(f"no person {what}")
    sign = 1.0 if highest else -1.0
    return max(valid, key=lambda k: (sign * valid[k], -k))  # ties: the lowest id


def box_areas(seq: PoseSequence, units: np.ndarray | None = None) -> np.ndarray:
    """``(frames,)`` area of the box around the landmarks (NaN where the person is unseen)."""
    xy = seq.data[..., :2] * (np.ones(2) if units is None else units)
    present = seq.present[..., None]
    extent = np.where(present, xy, -np.inf).max(axis=1) - np.where(present, xy, np.inf).min(axis=1)
    area = extent[:, 0] * extent[:, 1]
    return np.where(seq.detected, area, np.nan)


def largest(people: People) -> int:
    """The largest median box around the landmarks."""
    units = _units(people)
    scores = {}
    for k, seq in people.items():
        areas = box_areas(seq, units)[seq.detected]
        scores[k] = float(np.median(areas)) if areas.size else np.nan
    return _best(scores, "is seen")


def longest_visible(people: People) -> int:
    """Seen in the most frames; ties: the largest."""
    counts = {k: int(seq.detected.sum()) for k, seq in people.items()}
    most = max(counts.values(), default=0)
    if not most:
        raise PoseDataError("no person is seen")
    return largest(People({k: people[k] for k, n in counts.items() if n == most}))


def nearest(people: People, point: Sequence[float]) -> int:
    """The median centre nearest ``point`` ``(x, y)``, normalized."""
    target = np.asarray(point, dtype=np.float64).reshape(-1)
    if target.shape != (2,):
        raise PoseDataError(f"the point must be (x, y) in normalized image coordinates: {point}")
    target = target * _units(people)
    scores = {
        k: float(np.median(np.linalg.norm(c - target, axis=1))) if len(c) else np.inf
        for k, c in _centres(people).items()
    }
    return _best(scores, "is seen", highest=False)


def inside(people: People, region: Sequence[float]) -> int:
    """Centre inside ``region`` ``(x0, y0, x1, y1)``, normalized, in the most frames."""
    box = np.asarray(region, dtype=np.float64).reshape(-1)
    if box.shape != (4,) or not (box[0] < box[2] and box[1] < box[3]):
        raise PoseDataError(f"the region must be (x0, y0, x1, y1) with x0 < x1, y0 < y1: {region}")
    units = _units(people)
    low, high = box[:2] * units, box[2:] * units
    scores = {
        k: float(((c >= low) & (c <= high)).all(axis=1).sum()) or np.nan
        for k, c in _centres(people).items()
    }
    return _best(scores, f"is inside {tuple(region)}")


def moves_most(people: People) -> int:
    """The centre's positions span the largest box diagonal."""
    scores = {
        k: float(np.linalg.norm(np.ptp(c, axis=0))) if len(c) else np.nan
        for k, c in _centres(people).items()
    }
    return _best(scores, "is seen")


def by_id(people: People, track_id: int) -> int:
    """``track_id``, if there is such a person."""
    people[track_id]  # a clear error naming the ids if it is not there
    return int(track_id)


#: Rule name -> function ``(people, *option) -> track id``.
SUBJECT_RULES: dict[str, Callable[..., int]] = {
    "largest": largest,
    "longest_visible": longest_visible,
    "nearest": nearest,
    "inside": inside,
    "moves_most": moves_most,
    "by_id": by_id,
}


def choose_subject(people: People, rule: str = "largest", *option: Any) -> int:
    """The track id ``rule`` picks (see `SUBJECT_RULES`; ``nearest`` takes a point,
    ``inside`` a region and ``by_id`` an id as ``option``)."""
    try:
        chooser = SUBJECT_RULES[rule]
    except KeyError:
        raise PoseDataError(
            f"unknown subject rule {rule!r}; use one of {', '.join(SUBJECT_RULES)}"
        ) from None
    try:
        return chooser(people, *option)
    except TypeError as exc:
        raise PoseDataError(f"subject rule {rule!r}: {exc}") from exc


def subject(people: People, rule: str = "largest", *option: Any) -> PoseSequence:
    """The chosen person's `PoseSequence`."""
    return people[choose_subject(people, rule, *option)]


#: Rules that need the whole video; a live choice (one frame at a time) cannot use them.
WHOLE_VIDEO_RULES = ("longest_visible", "moves_most")


def choose_in_frame(
    poses: dict[int, np.ndarray],
    rule: str,
    options: tuple[Any, ...] = (),
    image_size: tuple[int, int] | None = None,
) -> int | None:
    """The track id ``rule`` picks among one frame's ``poses`` (track id -> ``(landmarks,
    channels)``), or None when nobody qualifies (nobody in view, the id absent, nobody inside
    the region). ``rule`` is one of `SUBJECT_RULES` but the `WHOLE_VIDEO_RULES`."""
    if rule in WHOLE_VIDEO_RULES:
        raise PoseDataError(f"subject rule {rule!r} needs the whole video, not one frame")
    if rule == "by_id":
        return int(options[0]) if options[0] in poses else None
    if not poses:
        return None
    people = People(
        {k: PoseSequence(np.asarray(p)[None], image_size=image_size) for k, p in poses.items()}
    )
    try:
        return choose_subject(people, rule, *options)
    except PoseDataError:
        if rule == "inside":  # nobody inside the region
            return None
        raise


def parse_subject(text: str | int) -> tuple[str, tuple[Any, ...]]:
    """``(rule, options)`` for `choose_subject` from text: a track id (``3``), a rule name
    (``largest``, ``moves_most``...), ``nearest:X,Y`` or ``inside:X0,Y0,X1,Y1`` (normalized)."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        raise PoseDataError(f"a subject is a track id or a rule name, got {text!r}")
    rule, _, argument = text.strip().partition(":")
    if rule.isdigit() and not argument:
        return "by_id", (int(rule),)
    if rule not in SUBJECT_RULES:
        raise PoseDataError(
            f"unknown subject {text!r}; use a track id, one of {', '.join(SUBJECT_RULES)}, "
            "nearest:X,Y or inside:X0,Y0,X1,Y1"
        )
    wanted = {"nearest": 2, "inside": 4, "by_id": 1}.get(rule, 0)
    parts = [p.strip() for p in argument.split(",")] if argument else []
    try:
        values = [int(p) if rule == "by_id" else float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != wanted or len(parts) != wanted:
        example = {"nearest": "nearest:0.5,0.5", "inside": "inside:0,0,0.5,1", "by_id": "by_id:3"}
        hint = f"e.g. {example[rule]}" if rule in example else "it takes no value"
        raise PoseDataError(f"subject {text!r}: {hint}")
    if rule == "by_id":
        return rule, (values[0],)
    if rule == "inside" and not (values[0] < values[2] and values[1] < values[3]):
        raise PoseDataError(f"subject {text!r}: the region needs x0 < x1 and y0 < y1")
    return rule, (tuple(values),) if values else ()

"""Self-describing feature column names: build them from a spec and parse them back.

Grammar (docs/architecture.md, docs/features.md)::

    joint_<landmark>_<x|y|z>      raw normalized image coordinate
    norm_<landmark>_<x|y|z>       (p - mid_hip) / torso_length
    angle_<name>                  named angle, degrees
    dist_<a>-<b>                  |b - a| / torso_length
    vec_<a>-<b>_<x|y|z>           (b - a) / torso_length

followed, for rows made from a window of ``W > 1`` frames, by ``__t00`` ... (frame index, oldest
first, zero-padded to ``max(2, len(str(W)))`` digits) or ``__mean`` / ``__std`` / ``__min`` /
``__max`` (pooled over the window). A window of one frame has no suffix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from stream_pose_ml.errors import FeatureSpecError
from stream_pose_ml.features.geometry import ANGLES, BONES, DISTANCES
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33

if TYPE_CHECKING:
    from stream_pose_ml.features.spec import FeatureSpec

#: Feature kinds in column order, with their column prefixes.
KIND_PREFIXES: dict[str, str] = {
    "joints": "joint",
    "normalized": "norm",
    "angles": "angle",
    "distances": "dist",
    "vectors": "vec",
}
PREFIX_KINDS: dict[str, str] = {prefix: kind for kind, prefix in KIND_PREFIXES.items()}

#: Statistics a pooled window can report, in their canonical order.
POOL_STATS: tuple[str, ...] = ("mean", "std", "min", "max")

#: Columns a dataset carries next to the features; never features themselves.
META_COLUMNS: tuple[str, ...] = (
    "video_id",
    "step_frame_id",
    "frame_number",
    "frame_start",
    "frame_end",
    "window_start",
    "window_end",
    "clip_id",
    "label",
)

ANGLE_NAMES: tuple[str, ...] = tuple(angle.name for angle in ANGLES)
_ANGLE_SET = frozenset(ANGLE_NAMES)
_LANDMARK_SET = frozenset(BLAZEPOSE_33)
_DISTANCE_SET = frozenset(DISTANCES)
_BONE_SET = frozenset(BONES)
_SUFFIX = re.compile(r"^(?P<base>.+?)__(?:t(?P<time>\d{2,})|(?P<stat>[a-z]+))$")


class FeatureColumn(NamedTuple):
    """One parsed feature column.

    ``base`` is the per-frame feature name (the column without its window suffix); ``subject`` is a
    landmark, an angle name or a point pair ``"a-b"``; ``axis`` is ``"x"``/``"y"``/``"z"`` or None;
    ``time`` (with its digit count ``time_digits``) or ``stat`` is the window suffix, if any.
    """

    name: str
    base: str
    kind: str
    subject: str
    axis: str | None
    time: int | None = None
    time_digits: int | None = None
    stat: str | None = None


def axes(include_z: bool) -> tuple[str, ...]:
    """Coordinate axes of coordinate-valued features."""
    return ("x", "y", "z") if include_z else ("x", "y")


def pair_name(a: str, b: str) -> str:
    return f"{a}-{b}"


def time_digits(window: int) -> int:
    """Digits of the ``__tNN`` suffix for a window of ``window`` frames: 2, more from 100 frames."""
    return max(2, len(str(window)))


def time_suffix(t: int, window: int) -> str:
    """``__t03``: frame ``t`` (0 = oldest) of a window of ``window`` frames."""
    return f"__t{t:0{time_digits(window)}d}"


def frame_feature_names(spec: FeatureSpec) -> tuple[str, ...]:
    """Per-frame feature names of ``spec``, in column order (no window suffix)."""
    return _frame_feature_names(spec)


@lru_cache(maxsize=256)
def _frame_feature_names(spec: FeatureSpec) -> tuple[str, ...]:
    coords = axes(spec.include_z)
    landmarks = spec.landmarks if spec.landmarks is not None else BLAZEPOSE_33
    names: list[str] = []
    if spec.joints:
        names += [f"joint_{lm}_{ax}" for lm in landmarks for ax in coords]
    if spec.normalized:
        names += [f"norm_{lm}_{ax}" for lm in landmarks for ax in coords]
    if spec.angles:
        names += [f"angle_{name}" for name in ANGLE_NAMES]
    if spec.distances:
        names += [f"dist_{pair_name(a, b)}" for a, b in DISTANCES]
    if spec.vectors:
        names += [f"vec_{pair_name(a, b)}_{ax}" for a, b in BONES for ax in coords]
    return tuple(names)


def window_column_names(
    frame_names: Sequence[str], window: int, window_mode: str, pool_stats: Sequence[str]
) -> tuple[str, ...]:
    """Row column names from per-frame names: frame-major for flatten, statistic-major for pool."""
    if window == 1:
        return tuple(frame_names)
    if window_mode == "flatten":
        return tuple(f"{n}{time_suffix(t, window)}" for t in range(window) for n in frame_names)
    return tuple(f"{n}__{stat}" for stat in pool_stats for n in frame_names)


def feature_columns(spec: FeatureSpec) -> tuple[str, ...]:
    """Every output column of ``spec``, in order."""
    return _feature_columns(spec)


@lru_cache(maxsize=256)
def _feature_columns(spec: FeatureSpec) -> tuple[str, ...]:
    return window_column_names(
        _frame_feature_names(spec), spec.window, spec.window_mode, spec.pool_stats
    )


def parse_column(name: str) -> FeatureColumn:
    """Parse one feature column name; FeatureSpecError if it is not one this package makes."""
    parsed = _parse_column(name)
    if isinstance(parsed, str):
        raise FeatureSpecError(f"column {name!r} is not a feature column: {parsed}")
    return parsed


def is_feature_column(name: str) -> bool:
    """True for a feature column this package makes; False for meta, label or other columns."""
    return isinstance(name, str) and not isinstance(_parse_column(name), str)


def parse_columns(names: Iterable[str]) -> list[FeatureColumn]:
    """Parse many column names; FeatureSpecError listing every unrecognised one."""
    parsed, bad = [], []
    for name in names:
        item = _parse_column(name) if isinstance(name, str) else "not a string"
        if isinstance(item, str):
            bad.append(f"{name!r} ({item})")
        else:
            parsed.append(item)
    if bad:
        shown = ", ".join(bad[:20]) + (f", ... ({len(bad)} in all)" if len(bad) > 20 else "")
        raise FeatureSpecError(f"unrecognised feature columns: {shown}")
    return parsed


@lru_cache(maxsize=65536)
def _parse_column(name: str) -> FeatureColumn | str:
    """The parsed column, or a string saying why ``name`` is not a feature column."""
    base, time, digits, stat = name, None, None, None
    match = _SUFFIX.match(name)
    if match:
        base = match["base"]
        if match["time"] is not None:
            time, digits = int(match["time"]), len(match["time"])
        elif match["stat"] in POOL_STATS:
            stat = match["stat"]
        else:
            return f"unknown window suffix '__{match['stat']}' (known: __tNN, {POOL_STATS})"
    prefix, sep, rest = base.partition("_")
    kind = PREFIX_KINDS.get(prefix)
    if not sep or kind is None:
        return f"no known prefix ({', '.join(p + '_' for p in PREFIX_KINDS.values())})"
    axis = None
    if kind in ("joints", "normalized", "vectors"):
        rest, sep, axis = rest.rpartition("_")
        if not sep or axis not in ("x", "y", "z"):
            return "a coordinate column must end in _x, _y or _z"
    if kind in ("joints", "normalized"):
        if rest not in _LANDMARK_SET:
            return f"unknown landmark {rest!r}"
    elif kind == "angles":
        if rest not in _ANGLE_SET:
            return f"unknown angle {rest!r} (see docs/features.md)"
    else:
        a, sep, b = rest.partition("-")
        table = _DISTANCE_SET if kind == "distances" else _BONE_SET
        if not sep or (a, b) not in table:
            what = "distance" if kind == "distances" else "bone vector"
            return f"unknown {what} {rest!r} (see docs/features.md)"
    return FeatureColumn(name, base, kind, rest, axis, time, digits, stat)

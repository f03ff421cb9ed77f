"""`FeatureSpec`: a small, JSON-serializable description of the features to compute."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from stream_pose_ml.errors import FeatureSpecError
from stream_pose_ml.features.columns import (
    KIND_PREFIXES,
    POOL_STATS,
    feature_columns,
    frame_feature_names,
    parse_columns,
    time_digits,
)
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, BLAZEPOSE_INDEX

#: Version of the spec format written by :meth:`FeatureSpec.to_dict`.
SPEC_VERSION = 1

WINDOW_MODES: tuple[str, ...] = ("flatten", "pool")
_BOOL_FIELDS = ("joints", "normalized", "angles", "distances", "vectors", "include_z")
_MAX_DECIMALS = 15


@dataclass(frozen=True)
class FeatureSpec:
    """Which features a row holds and how frames of a window are combined.

    Kinds (see docs/features.md): ``joints`` raw normalized coordinates, ``normalized``
    body-centred scale-free coordinates, ``angles`` named joint angles in degrees, ``distances``
    named distances over torso length, ``vectors`` bone vectors over torso length. ``include_z``
    adds MediaPipe's depth to coordinates and makes angles and distances 3-D. ``landmarks`` limits
    the joint and normalized coordinates to a subset (stored in BlazePose order; None = all 33).
    A row covers ``window`` frames, either flattened (one column per frame) or pooled
    (``pool_stats`` over the frames). ``decimal_precision`` rounds the output (None: no rounding).
    """

    joints: bool = False
    normalized: bool = True
    angles: bool = True
    distances: bool = True
    vectors: bool = False
    include_z: bool = False
    decimal_precision: int | None = 4
    window: int = 1
    window_mode: str = "flatten"
    pool_stats: tuple[str, ...] = POOL_STATS
    landmarks: tuple[str, ...] | None = None
    version: int = SPEC_VERSION

    def __post_init__(self) -> None:
        for name in _BOOL_FIELDS:
            if not isinstance(getattr(self, name), bool):
                raise FeatureSpecError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if not any(getattr(self, kind) for kind in KIND_PREFIXES):
            raise FeatureSpecError(
                f"the spec enables no features; set at least one of {', '.join(KIND_PREFIXES)}"
            )
        precision = self.decimal_precision
        if precision is not None and (
            not _is_int(precision) or not 0 <= precision <= _MAX_DECIMALS
        ):
            raise FeatureSpecError(
                f"decimal_precision must be null or an integer 0..{_MAX_DECIMALS}, "
                f"got {precision!r}"
            )
        if not _is_int(self.window) or self.window < 1:
            raise FeatureSpecError(f"window must be an integer >= 1, got {self.window!r}")
        if self.window_mode not in WINDOW_MODES:
            raise FeatureSpecError(
                f"window_mode must be one of {WINDOW_MODES}, got {self.window_mode!r}"
            )
        if self.window_mode == "pool" and self.window == 1:
            raise FeatureSpecError("window_mode 'pool' needs window > 1; use 'flatten' for 1")
        object.__setattr__(self, "pool_stats", _check_pool_stats(self.pool_stats))
        object.__setattr__(self, "landmarks", _check_landmarks(self.landmarks))
        if not _is_int(self.version) or not 1 <= self.version <= SPEC_VERSION:
            raise FeatureSpecError(
                f"feature spec version {self.version!r} is not supported (this package reads "
                f"versions 1..{SPEC_VERSION}); upgrade stream_pose_ml"
            )

    # -- columns ----------------------------------------------------------------------------
    @property
    def frame_feature_names(self) -> tuple[str, ...]:
        """Per-frame feature names, without window suffixes."""
        return frame_feature_names(self)

    @property
    def columns(self) -> tuple[str, ...]:
        """The output column names, in order."""
        return feature_columns(self)

    def missing_columns(self, columns: Iterable[str]) -> list[str]:
        """The ``columns`` this spec does not make, in their order."""
        made = set(self.columns)
        return [c for c in columns if c not in made]

    @classmethod
    def from_columns(
        cls,
        columns: Iterable[str],
        *,
        window: int | None = None,
        include_z: bool | None = None,
        decimal_precision: int | None = 4,
    ) -> FeatureSpec:
        """The spec whose output contains ``columns`` (for example a model's input columns).

        Read from the names: which kinds, the landmarks, the window mode and pooled statistics
        (in order of first appearance), ``include_z`` when a coordinate column is present and
        the window as ``1 + the newest __tNN index``. Not in the names, so given here: the window
        of pooled columns (``window`` is required then), a larger window than the columns show
        (when the newest frames' columns were dropped), ``include_z`` when only angles and
        distances are present (default False) and ``decimal_precision``.
        Unrecognised or inconsistent columns raise FeatureSpecError.
        """
        names = list(columns)
        if not names:
            raise FeatureSpecError("no columns to read a feature spec from")
        parsed = parse_columns(names)
        duplicates = sorted(n for n, count in Counter(names).items() if count > 1)
        if duplicates:
            raise FeatureSpecError(f"duplicate feature columns: {duplicates}")
        suffixes = {
            "time" if p.time is not None else "stat" if p.stat is not None else "none"
            for p in parsed
        }
        if len(suffixes) > 1:
            raise FeatureSpecError(
                "columns mix window suffixes (none, __tNN and __mean/...): "
                f"{sorted(suffixes)}; one model's columns share one window layout"
            )
        layout = suffixes.pop()
        kinds = {p.kind for p in parsed}
        params: dict[str, Any] = {kind: kind in kinds for kind in KIND_PREFIXES}
        params["decimal_precision"] = decimal_precision

        z_values = {p.axis == "z" for p in parsed if p.axis is not None}
        column_z = True in z_values if z_values else None
        if include_z is not None and column_z is not None and include_z != column_z:
            raise FeatureSpecError(
                f"include_z={include_z} contradicts the columns, which "
                f"{'have' if column_z else 'lack'} z coordinates"
            )
        params["include_z"] = bool(column_z if column_z is not None else include_z)

        landmarks = {p.subject for p in parsed if p.kind in ("joints", "normalized")}
        if landmarks and len(landmarks) < len(BLAZEPOSE_33):
            params["landmarks"] = tuple(landmarks)

        if layout == "none":
            if window not in (None, 1):
                raise FeatureSpecError(
                    f"columns without a window suffix mean window 1, not {window}"
                )
        elif layout == "time":
            newest = max(p.time for p in parsed if p.time is not None)
            digits = {p.time_digits for p in parsed}
            window = newest + 1 if window is None else window
            if window <= newest:
                raise FeatureSpecError(
                    f"window {window} is too small for column suffix __t{newest}"
                )
            if digits != {time_digits(window)}:
                raise FeatureSpecError(
                    f"__tNN suffixes with {sorted(d for d in digits if d is not None)} digits do "
                    f"not fit a window of {window} frames ({time_digits(window)} digits); pass "
                    "the window size"
                )
            params["window"] = window
        else:
            if window is None:
                raise FeatureSpecError(
                    "pooled columns (__mean, __std, ...) do not record the window size; "
                    "pass window=N"
                )
            params["window"], params["window_mode"] = window, "pool"
            params["pool_stats"] = tuple(dict.fromkeys(p.stat for p in parsed))
        spec = cls(**params)
        missing = set(names) - set(spec.columns)
        if missing:  # a column the spec cannot make, e.g. a landmark-subset inconsistency
            raise FeatureSpecError(f"no feature spec produces columns {sorted(missing)}")
        return spec

    # -- serialization ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict (tuples become lists)."""
        out = asdict(self)
        out["pool_stats"] = list(self.pool_stats)
        out["landmarks"] = None if self.landmarks is None else list(self.landmarks)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Build from :meth:`to_dict` output; unknown keys or bad values raise FeatureSpecError."""
        if not isinstance(data, Mapping):
            raise FeatureSpecError(f"a feature spec must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FeatureSpecError(
                f"unknown feature spec keys {unknown}; known keys are {sorted(known)}"
            )
        values = dict(data)
        for key in ("pool_stats", "landmarks"):
            if isinstance(values.get(key), list):
                values[key] = tuple(values[key])
        return cls(**values)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise FeatureSpecError(f"feature spec is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def coerce(cls, spec: FeatureSpec | Mapping[str, Any] | None) -> FeatureSpec:
        """A FeatureSpec from a spec, a dict or None (the defaults)."""
        if spec is None:
            return cls()
        if isinstance(spec, FeatureSpec):
            return spec
        if isinstance(spec, Mapping):
            return cls.from_dict(spec)
        raise FeatureSpecError(
            f"spec must be a FeatureSpec, a dict or None, got {type(spec).__name__}"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_pool_stats(stats: Any) -> tuple[str, ...]:
    if isinstance(stats, str) or not isinstance(stats, Iterable):
        raise FeatureSpecError(f"pool_stats must be a list of statistics, got {stats!r}")
    stats = tuple(stats)
    bad = [s for s in stats if s not in POOL_STATS]
    if not stats or bad or len(set(stats)) != len(stats):
        raise FeatureSpecError(
            f"pool_stats must be distinct names from {POOL_STATS}, got {list(stats)}"
        )
    return stats


def _check_landmarks(landmarks: Any) -> tuple[str, ...] | None:
    if landmarks is None:
        return None
    if isinstance(landmarks, str) or not isinstance(landmarks, Iterable):
        raise FeatureSpecError(f"landmarks must be a list of landmark names, got {landmarks!r}")
    names = tuple(landmarks)
    unknown = [n for n in names if n not in BLAZEPOSE_INDEX]
    if unknown:
        raise FeatureSpecError(f"unknown landmarks {unknown}; use BlazePose names")
    if not names or len(set(names)) != len(names):
        raise FeatureSpecError(f"landmarks must be a non-empty list without repeats, got {names}")
    ordered = tuple(sorted(names, key=BLAZEPOSE_INDEX.__getitem__))
    return None if ordered == BLAZEPOSE_33 else ordered

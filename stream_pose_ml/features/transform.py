"""`PoseFeatureTransform`: pose windows -> feature rows, for datasets, training and serving alike.

A row is made from a window of ``spec.window`` frames. Per-frame features are computed once for all
frames of a batch of windows (leading axes ``(windows, frames)``), then the window is flattened
(one column per frame) or pooled (NaN-aware statistics over the frames). The same code runs for a
whole video offline and for the live server's rolling window, so both give the same row for the
same frames.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, TransformerMixin

from stream_pose_ml.errors import FeatureSpecError, PoseDataError
from stream_pose_ml.features import geometry
from stream_pose_ml.features.columns import (
    FeatureColumn,
    parse_column,
    window_column_names,
)
from stream_pose_ml.features.geometry import ANGLES, DIRECTIONS, VIRTUAL_POINTS
from stream_pose_ml.features.spec import FeatureSpec
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, BLAZEPOSE_INDEX, CHANNELS
from stream_pose_ml.keypoints.sequence import PoseSequence

logger = logging.getLogger(__name__)

_ANGLE_DEFS = {angle.name: angle for angle in ANGLES}
_AXIS_INDEX = {"x": 0, "y": 1, "z": 2}
_CHUNK_FRAMES = 512


def sliding_windows(seq: PoseSequence, window: int, stride: int = 1) -> np.ndarray:
    """Windows of ``window`` consecutive frames, every ``stride`` frames, as a read-only view.

    Returns ``(n_windows, window, landmarks, channels)`` with
    ``n_windows = (len(seq) - window) // stride + 1`` (0 when the sequence is shorter than the
    window); window ``i`` starts at frame ``i * stride``.
    """
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise PoseDataError(f"window must be an integer >= 1, got {window!r}")
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise PoseDataError(f"stride must be an integer >= 1, got {stride!r}")
    data = seq.data
    if data.shape[0] < window:
        return np.empty((0, window, *data.shape[1:]), dtype=data.dtype)
    view = sliding_window_view(data, window, axis=0)  # (n, landmarks, channels, window)
    return np.moveaxis(view, -1, 1)[::stride]


# -- the computation plan -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Group:
    """A block of per-frame features: where they go (``positions``) and their index data."""

    positions: np.ndarray  # (K,) positions in the per-frame feature vector
    index: np.ndarray  # point indices: (K,) or (K, 2) or (K, 3)
    axes: np.ndarray | None = None  # (K,) coordinate axis of each feature, if coordinate-valued
    directions: np.ndarray | None = None  # (K, D) reference directions of orientation angles


@dataclass(frozen=True)
class _Plan:
    """What to compute for one (spec, columns) pair; built once and cached."""

    spec: FeatureSpec
    output_names: tuple[str, ...]
    n_frame_features: int
    dims: int  # 2 or 3
    stats: tuple[str, ...]  # pooled statistics to compute
    select: np.ndarray | None  # output columns taken from the full window layout, or None = all
    geometry_landmarks: np.ndarray  # (U,) BlazePose indices the geometry needs
    point_names: tuple[str, ...]  # the U landmarks, then the virtual points
    needs_torso: bool
    joints: _Group | None
    normalized: _Group | None
    angles: _Group | None
    orientations: _Group | None
    distances: _Group | None
    vectors: _Group | None


@lru_cache(maxsize=128)
def _build_plan(spec: FeatureSpec, columns: tuple[str, ...] | None) -> _Plan:
    all_columns = spec.columns
    frame_names = spec.frame_feature_names
    stats = spec.pool_stats if spec.window_mode == "pool" and spec.window > 1 else ()
    select = None
    if columns is not None:
        duplicates = sorted(c for c, count in Counter(columns).items() if count > 1)
        if duplicates:
            raise FeatureSpecError(f"columns repeat {duplicates}")
        produced = set(all_columns)
        missing = [c for c in columns if c not in produced]
        if missing:
            raise FeatureSpecError(
                f"the feature spec does not produce the columns {missing[:20]}"
                f"{' ...' if len(missing) > 20 else ''} ({len(missing)} missing); "
                "use the spec the model was trained with, or FeatureSpec.from_columns(columns)"
            )
        parsed = [parse_column(c) for c in columns]
        needed = {p.base for p in parsed}
        frame_names = tuple(n for n in frame_names if n in needed)
        if stats:
            used = {p.stat for p in parsed}
            stats = tuple(s for s in stats if s in used)
        layout = window_column_names(frame_names, spec.window, spec.window_mode, stats)
        position = {name: i for i, name in enumerate(layout)}
        select = np.array([position[c] for c in columns], dtype=np.intp)
    output_names = tuple(columns) if columns is not None else all_columns

    by_kind: dict[str, list[tuple[int, FeatureColumn]]] = {}
    for i, name in enumerate(frame_names):
        parsed_name = parse_column(name)
        by_kind.setdefault(parsed_name.kind, []).append((i, parsed_name))

    # Landmarks the geometry needs, in BlazePose order, then the virtual points.
    geometric: set[str] = set()
    for kind, items in by_kind.items():
        for _, col in items:
            if kind == "normalized":
                geometric.add(col.subject)
            elif kind == "angles":
                angle = _ANGLE_DEFS[col.subject]
                geometric.update(p for p in (angle.a, angle.vertex, angle.c) if p not in DIRECTIONS)
            elif kind in ("distances", "vectors"):
                geometric.update(col.subject.split("-"))
    needs_torso = bool({"normalized", "distances", "vectors"} & set(by_kind))
    if needs_torso:
        geometric.update(("mid_hip", "mid_shoulder"))
    for virtual, parts in VIRTUAL_POINTS.items():
        if virtual in geometric:
            geometric.discard(virtual)
            geometric.update(parts)
    landmarks = sorted(geometric, key=BLAZEPOSE_INDEX.__getitem__)
    point_names = tuple(landmarks) + tuple(VIRTUAL_POINTS)
    point = {name: i for i, name in enumerate(point_names)}
    dims = 3 if spec.include_z else 2

    def group(kind: str) -> list[tuple[int, FeatureColumn]]:
        return by_kind.get(kind, [])

    def positions(items: list[tuple[int, Any]]) -> np.ndarray:
        return np.array([i for i, _ in items], dtype=np.intp)

    def axes(items: list[tuple[int, FeatureColumn]]) -> np.ndarray:
        return np.array([_AXIS_INDEX[c.axis] for _, c in items], dtype=np.intp)

    def pairs(items: list[tuple[int, FeatureColumn]]) -> np.ndarray:
        return np.array([[point[p] for p in c.subject.split("-")] for _, c in items], dtype=np.intp)

    joints = normalized = angles = orientations = distances = vectors = None
    if group("joints"):
        items = group("joints")
        lms = np.array([BLAZEPOSE_INDEX[c.subject] for _, c in items], dtype=np.intp)
        joints = _Group(positions(items), lms, axes(items))
    if group("normalized"):
        items = group("normalized")
        pts = np.array([point[c.subject] for _, c in items], dtype=np.intp)
        normalized = _Group(positions(items), pts, axes(items))
    if group("angles"):
        defs = [(i, _ANGLE_DEFS[c.subject]) for i, c in group("angles")]
        at_vertex = [(i, d) for i, d in defs if d.c not in DIRECTIONS]
        oriented = [(i, d) for i, d in defs if d.c in DIRECTIONS]
        if at_vertex:
            triplets = [[point[d.a], point[d.vertex], point[d.c]] for _, d in at_vertex]
            angles = _Group(positions(at_vertex), np.array(triplets, dtype=np.intp))
        if oriented:
            segments = [[point[d.vertex], point[d.a]] for _, d in oriented]
            directions = np.array([DIRECTIONS[d.c][:dims] for _, d in oriented])
            orientations = _Group(
                positions(oriented), np.array(segments, dtype=np.intp), None, directions
            )
    if group("distances"):
        distances = _Group(positions(group("distances")), pairs(group("distances")))
    if group("vectors"):
        items = group("vectors")
        vectors = _Group(positions(items), pairs(items), axes(items))

    return _Plan(
        spec=spec,
        output_names=output_names,
        n_frame_features=len(frame_names),
        dims=dims,
        stats=stats,
        select=select,
        geometry_landmarks=np.array([BLAZEPOSE_INDEX[n] for n in landmarks], dtype=np.intp),
        point_names=point_names,
        needs_torso=needs_torso,
        joints=joints,
        normalized=normalized,
        angles=angles,
        orientations=orientations,
        distances=distances,
        vectors=vectors,
    )


@lru_cache(maxsize=32)
def _spec_from_columns(columns: tuple[str, ...]) -> FeatureSpec:
    return FeatureSpec.from_columns(columns)


def _frame_features(plan: _Plan, coords: np.ndarray, aspect: float | np.ndarray) -> np.ndarray:
    """Per-frame features ``(..., F)`` from BlazePose coordinates ``(..., 33, D)``."""
    out = np.empty((*coords.shape[:-2], plan.n_frame_features), dtype=np.float64)
    if plan.joints is not None:
        out[..., plan.joints.positions] = coords[..., plan.joints.index, plan.joints.axes]
    if plan.geometry_landmarks.size == 0:
        return out
    points = geometry.aspect_corrected(coords[..., plan.geometry_landmarks, :], aspect)
    points = geometry.with_virtual_points(points, plan.point_names[: -len(VIRTUAL_POINTS)])
    torso = None
    if plan.needs_torso:
        mid_hip = points[..., plan.point_names.index("mid_hip"), :]
        mid_shoulder = points[..., plan.point_names.index("mid_shoulder"), :]
        torso = geometry.torso_length(mid_shoulder, mid_hip)
    if plan.normalized is not None:
        group = plan.normalized
        norm = geometry.normalized_coordinates(points[..., group.index, :], mid_hip, torso)
        out[..., group.positions] = norm[..., np.arange(group.index.size), group.axes]
    if plan.angles is not None:
        out[..., plan.angles.positions] = geometry.joint_angles(points, plan.angles.index)
    if plan.orientations is not None:
        group = plan.orientations
        out[..., group.positions] = geometry.orientation_angles(
            points, group.index, group.directions
        )
    if plan.distances is not None:
        group = plan.distances
        out[..., group.positions] = geometry.pairwise_distances(points, group.index, torso)
    if plan.vectors is not None:
        group = plan.vectors
        vecs = geometry.bone_vectors(points, group.index, torso)
        out[..., group.positions] = vecs[..., np.arange(group.index.shape[0]), group.axes]
    return out


def _pool(frames: np.ndarray, stats: tuple[str, ...]) -> np.ndarray:
    """NaN-aware statistics over the window axis: ``(n, W, F)`` -> ``(n, len(stats), F)``.

    A feature that is NaN in every frame of a window gives NaN; ``std`` is the population
    standard deviation (ddof 0) of the frames that have a value.
    """
    valid = ~np.isnan(frames)
    count = valid.sum(axis=1)
    values = np.where(valid, frames, 0.0)
    mean = values.sum(axis=1) / count
    out = []
    for stat in stats:
        if stat == "mean":
            out.append(mean)
        elif stat == "std":
            deviation = np.where(valid, frames - mean[:, None, :], 0.0)
            out.append(np.sqrt((deviation * deviation).sum(axis=1) / count))
        elif stat == "min":
            out.append(np.fmin.reduce(frames, axis=1))
        else:
            out.append(np.fmax.reduce(frames, axis=1))
    return np.stack(out, axis=1)


# -- input handling -------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _coordinate_index(
    landmark_names: tuple[str, ...], channels: tuple[str, ...], dims: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Index arrays mapping input landmarks/channels to BlazePose x, y(, z); None if identical."""
    wanted = ("x", "y", "z")[:dims]
    missing_channels = [c for c in wanted if c not in channels]
    if missing_channels:
        raise PoseDataError(
            f"pose data has channels {channels}; the feature spec needs {wanted} "
            "(set include_z=False for data without depth)"
        )
    channel_index = np.array([channels.index(c) for c in wanted], dtype=np.intp)
    if landmark_names == BLAZEPOSE_33 and np.array_equal(channel_index, np.arange(dims)):
        return None
    absent = [n for n in BLAZEPOSE_33 if n not in landmark_names]
    if absent:
        logger.warning(
            "pose data lacks %d BlazePose landmarks (%s); features using them are NaN",
            len(absent),
            ", ".join(absent),
        )
    landmark_index = np.array(
        [
            landmark_names.index(n) if n in landmark_names else len(landmark_names)
            for n in BLAZEPOSE_33
        ],
        dtype=np.intp,
    )
    return landmark_index, channel_index


def _blazepose_coords(
    data: np.ndarray, landmark_names: tuple[str, ...], channels: tuple[str, ...], dims: int
) -> np.ndarray:
    """``(..., L, C)`` pose data -> ``(..., 33, dims)`` BlazePose x, y(, z); absent ones NaN."""
    index = _coordinate_index(tuple(landmark_names), tuple(channels), dims)
    if index is None:
        return data[..., :dims]
    landmark_index, channel_index = index
    if landmark_index.max(initial=-1) >= data.shape[-2]:  # absent landmarks point at a NaN row
        pad = np.full((*data.shape[:-2], 1, data.shape[-1]), np.nan)
        data = np.concatenate([data, pad], axis=-2)
    return data[..., landmark_index[:, None], channel_index[None, :]]


def _windows(
    X: Any,
    window: int,
    image_size: tuple[int, int] | None,
    landmark_names: Sequence[str] | None,
    channels: Sequence[str] | None,
) -> tuple[np.ndarray, float | np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Input -> ``(n_windows, window, L, C)`` data, aspect ratio(s), landmark names, channels."""
    if isinstance(X, PoseSequence) or (
        isinstance(X, (list, tuple)) and X and all(isinstance(s, PoseSequence) for s in X)
    ):
        if image_size is not None or landmark_names is not None or channels is not None:
            raise PoseDataError(
                "image_size, landmark_names and channels are for array input; "
                "a PoseSequence carries its own"
            )
        if isinstance(X, PoseSequence):
            if window == 1:
                return X.data[:, None], _aspect(X.image_size), X.landmark_names, X.channels
            _check_length(X, window, "the sequence")
            return X.data[None], _aspect(X.image_size), X.landmark_names, X.channels
        first = X[0]
        for i, seq in enumerate(X):
            _check_length(seq, window, f"window {i}")
            if seq.landmark_names != first.landmark_names or seq.channels != first.channels:
                raise PoseDataError(f"window {i} has other landmarks or channels than window 0")
        aspects = np.array([_aspect(seq.image_size) for seq in X])
        aspect = aspects[0] if np.all(aspects == aspects[0]) else aspects
        data = np.stack([seq.data for seq in X])
        return data, aspect, first.landmark_names, first.channels
    if isinstance(X, np.ndarray) or (isinstance(X, (list, tuple)) and not X):
        data = np.asarray(X, dtype=np.float64)
        names = tuple(landmark_names) if landmark_names is not None else BLAZEPOSE_33
        chans = tuple(channels) if channels is not None else CHANNELS
        if data.ndim == 1 and data.size == 0:
            data = data.reshape(0, window, len(names), len(chans))
        if data.ndim == 3 and window == 1:
            data = data[:, None]
        if data.ndim != 4 or data.shape[1] != window:
            raise PoseDataError(
                f"pose array of shape {data.shape} does not fit the feature spec: expected "
                f"(n_windows, {window}, landmarks, channels)"
                + (" or (frames, landmarks, channels)" if window == 1 else "")
            )
        if data.shape[2:] != (len(names), len(chans)):
            raise PoseDataError(
                f"pose array of shape {data.shape} has not {len(names)} landmarks x "
                f"{len(chans)} channels; pass landmark_names= and channels= for other layouts"
            )
        return data, _aspect(image_size), names, chans
    raise PoseDataError(
        "features are computed from a PoseSequence, a list of PoseSequence windows or a "
        f"(n_windows, window, landmarks, channels) array, not {type(X).__name__}"
    )


def _aspect(image_size: tuple[int, int] | None) -> float:
    try:
        return geometry.aspect_ratio(image_size)
    except (TypeError, ValueError) as exc:
        raise PoseDataError(f"bad image_size {image_size!r}: expected (width, height)") from exc


def _check_length(seq: PoseSequence, window: int, what: str) -> None:
    if len(seq) != window:
        raise PoseDataError(
            f"{what} has {len(seq)} frames but the feature spec's window is {window}; "
            "cut sequences with sliding_windows(seq, window) or slice them to the window"
        )


# -- the estimator --------------------------------------------------------------------------------
class PoseFeatureTransform(TransformerMixin, BaseEstimator):
    """Pose windows -> feature rows, as a scikit-learn transformer.

    Parameters
    ----------
    spec : FeatureSpec, dict or None
        The features. None means the defaults, or, when ``columns`` is given,
        ``FeatureSpec.from_columns(columns)``.
    columns : sequence of str or None
        Output exactly these columns in this order (a model's input columns); they must be
        columns the spec produces. Only the per-frame features they need are computed.

    ``transform`` accepts a ``PoseSequence`` of ``spec.window`` frames (one row) or, for window 1,
    of any length (one row per frame); a list of such windows (one row each); or an array
    ``(n_windows, window, landmarks, channels)`` (or ``(frames, landmarks, channels)`` for window 1)
    with keywords ``image_size=(width, height)`` (aspect ratio 1 if omitted), ``landmark_names``
    and ``channels`` (BlazePose-33 and x, y, z, visibility if omitted). The transform is stateless:
    ``fit`` only validates the parameters and records ``spec_`` and ``feature_names_out_``.
    """

    def __init__(
        self,
        spec: FeatureSpec | Mapping[str, Any] | None = None,
        columns: Sequence[str] | None = None,
    ) -> None:
        self.spec = spec
        self.columns = columns

    # -- parameters -> plan ------------------------------------------------------------------
    def _plan(self) -> _Plan:
        columns = None
        if self.columns is not None:
            if isinstance(self.columns, str):
                raise FeatureSpecError("columns must be a list of column names, not one string")
            columns = tuple(str(c) for c in self.columns)
        if self.spec is None and columns is not None:
            spec = _spec_from_columns(columns)
        else:
            spec = FeatureSpec.coerce(self.spec)
        return _build_plan(spec, columns)

    def fit(self, X: Any = None, y: Any = None) -> PoseFeatureTransform:
        """Validate the parameters; ``X`` and ``y`` are ignored (the transform learns nothing)."""
        plan = self._plan()
        self.spec_ = plan.spec
        self.feature_names_out_ = np.asarray(plan.output_names, dtype=object)
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names ``(n_columns,)``."""
        return np.asarray(self._plan().output_names, dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.allow_nan = True
        return tags

    # -- transform -------------------------------------------------------------------------
    def transform(
        self,
        X: Any,
        *,
        image_size: tuple[int, int] | None = None,
        landmark_names: Sequence[str] | None = None,
        channels: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Feature rows ``(n_rows, n_columns)`` float64 (NaN where a feature has no value)."""
        plan = self._plan()
        spec = plan.spec
        data, aspect, names, chans = _windows(X, spec.window, image_size, landmark_names, channels)
        coords = _blazepose_coords(data, names, chans, plan.dims)
        n_windows, window = data.shape[:2]
        rows = np.empty((n_windows, len(plan.output_names)), dtype=np.float64)
        # Chunks of about _CHUNK_FRAMES frames keep the intermediate arrays in the CPU cache.
        step = max(1, _CHUNK_FRAMES // window)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for start in range(0, n_windows, step):
                part = slice(start, start + step)
                chunk_aspect = aspect[part] if isinstance(aspect, np.ndarray) else aspect
                frames = _frame_features(plan, coords[part], chunk_aspect)  # (n, W, F)
                if plan.stats:
                    chunk = _pool(frames, plan.stats).reshape(frames.shape[0], -1)
                else:
                    chunk = frames.reshape(frames.shape[0], -1)
                if plan.select is not None:
                    chunk = chunk[:, plan.select]
                if spec.decimal_precision is not None:
                    chunk = np.round(chunk, spec.decimal_precision, out=chunk)
                rows[part] = chunk
        return rows

    def transform_frame(
        self,
        X: Any,
        *,
        image_size: tuple[int, int] | None = None,
        landmark_names: Sequence[str] | None = None,
        channels: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Like :meth:`transform`, as a DataFrame with the feature column names."""
        rows = self.transform(
            X, image_size=image_size, landmark_names=landmark_names, channels=channels
        )
        return pd.DataFrame(rows, columns=list(self._plan().output_names))

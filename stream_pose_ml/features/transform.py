"""`PoseFeatureTransform`: pose windows -> feature rows, for datasets, training and serving alike.

A row is made from a window of ``spec.window`` frames. Per-frame features are computed once for all
frames of a batch of windows (leading axes ``(windows, frames)``), then the window is flattened
(one column per frame) or pooled (NaN-aware statistics over the frames). The same code runs for a
whole video offline and for the live server's rolling window, so both give the same row for the
same frames.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from stream_pose_ml.errors import FeatureSpecError, PoseDataError
from stream_pose_ml.features import geometry
from stream_pose_ml.features.plan import (
    FeaturePlan,
    build_plan,
    frame_features,
    pool_frames,
    spec_from_columns,
)
from stream_pose_ml.features.spec import FeatureSpec
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, CHANNELS
from stream_pose_ml.keypoints.sequence import PoseSequence

logger = logging.getLogger(__name__)

_CHUNK_FRAMES = 512


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
                "image_size, landmark_names and channels describe array input; "
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


def _window_rows(plan: FeaturePlan, frames: np.ndarray) -> np.ndarray:
    """Rows of windows of per-frame features ``(n, W, F)``: pooled or flattened, the plan's
    columns, the spec's precision."""
    if plan.stats:
        rows = pool_frames(frames, plan.stats).reshape(frames.shape[0], -1)
    else:
        rows = frames.reshape(frames.shape[0], -1)
    if plan.select is not None:
        rows = rows[:, plan.select]
    if plan.spec.decimal_precision is not None:
        rows = np.round(rows, plan.spec.decimal_precision)
    return rows


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
    image_size : (width, height) or None
        Pixels of the video that array input comes from (aspect ratio 1 if None).
    landmark_names, channels : sequences of str or None
        Layout of array input (BlazePose-33 and ``x, y, z, visibility`` if None).

    ``transform`` accepts a ``PoseSequence`` of ``spec.window`` frames (one row) or, for window 1,
    of any length (one row per frame); a list of such windows (one row each); or an array
    ``(n_windows, window, landmarks, channels)`` (for window 1 also ``(frames, landmarks,
    channels)``), e.g. ``sliding_windows(seq, window, stride)``. A ``PoseSequence`` carries its
    own image size, landmarks and channels; the ``image_size``, ``landmark_names`` and
    ``channels`` parameters describe array input. ``fit`` learns nothing from data: it validates
    the parameters and computes the plan once (``spec_``, ``feature_names_out_``); an unfitted
    transform, or one whose ``spec``/``columns`` changed since ``fit``, computes it when called.
    """

    def __init__(
        self,
        spec: FeatureSpec | Mapping[str, Any] | None = None,
        columns: Sequence[str] | None = None,
        image_size: tuple[int, int] | None = None,
        landmark_names: Sequence[str] | None = None,
        channels: Sequence[str] | None = None,
    ) -> None:
        self.spec = spec
        self.columns = columns
        self.image_size = image_size
        self.landmark_names = landmark_names
        self.channels = channels

    # -- parameters -> plan ------------------------------------------------------------------
    def _build_plan(self) -> FeaturePlan:
        columns = None
        if self.columns is not None:
            if isinstance(self.columns, str):
                raise FeatureSpecError("columns must be a list of column names, not one string")
            columns = tuple(str(c) for c in self.columns)
        if self.spec is None and columns is not None:
            spec = spec_from_columns(columns)
        else:
            spec = FeatureSpec.coerce(self.spec)
        return build_plan(spec, columns)

    def _plan(self) -> FeaturePlan:
        """The plan of ``fit``, unless ``spec`` or ``columns`` were set since (or no fit)."""
        fitted = self.__dict__.get("_fitted_params")
        if fitted is not None and fitted[0] is self.spec and fitted[1] is self.columns:
            return self.plan_
        return self._build_plan()

    def fit(self, X: Any = None, y: Any = None) -> PoseFeatureTransform:
        """Validate the parameters and compute the plan; ``X`` and ``y`` are ignored."""
        plan = self._build_plan()
        _aspect(self.image_size)
        self._array_layout()
        self.plan_ = plan
        self.spec_ = plan.spec
        self.feature_names_out_ = np.asarray(plan.output_names, dtype=object)
        self._fitted_params = (self.spec, self.columns)
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

    def _array_layout(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        names = BLAZEPOSE_33 if self.landmark_names is None else tuple(self.landmark_names)
        chans = CHANNELS if self.channels is None else tuple(self.channels)
        return names, chans

    # -- transform -------------------------------------------------------------------------
    def transform(self, X: Any, **deprecated: Any) -> np.ndarray:
        """Feature rows ``(n_rows, n_columns)`` float64 (NaN where a feature has no value)."""
        if deprecated:
            return self._with_call_options(deprecated).transform(X)
        plan = self._plan()
        spec = plan.spec
        data, aspect, names, chans = _windows(
            X, spec.window, self.image_size, self.landmark_names, self.channels
        )
        coords = _blazepose_coords(data, names, chans, plan.dims)
        n_windows, window = data.shape[:2]
        rows = np.empty((n_windows, len(plan.output_names)), dtype=np.float64)
        # Chunks of about _CHUNK_FRAMES frames keep the intermediate arrays in the CPU cache.
        step = max(1, _CHUNK_FRAMES // window)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for start in range(0, n_windows, step):
                part = slice(start, start + step)
                chunk_aspect = aspect[part] if isinstance(aspect, np.ndarray) else aspect
                frames = frame_features(plan, coords[part], chunk_aspect)  # (n, W, F)
                rows[part] = _window_rows(plan, frames)
        return rows

    def frame_features(self, frames: np.ndarray) -> np.ndarray:
        """Per-frame features ``(n, F)`` of array frames ``(n, landmarks, channels)`` in this
        transform's layout and image size: the first half of :meth:`transform`, for a caller
        that keeps each frame's features for the several windows it is part of."""
        plan = self._plan()
        names, chans = self._array_layout()
        data = np.asarray(frames, dtype=np.float64)
        if data.ndim != 3 or data.shape[1:] != (len(names), len(chans)):
            raise PoseDataError(
                f"frames of shape {data.shape} are not (n, {len(names)} landmarks, "
                f"{len(chans)} channels)"
            )
        coords = _blazepose_coords(data, names, chans, plan.dims)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return frame_features(plan, coords, _aspect(self.image_size))

    def rows_from_frame_features(self, frames: np.ndarray) -> np.ndarray:
        """Feature rows ``(n_windows, n_columns)`` of windows of per-frame features
        ``(n_windows, window, F)`` (:meth:`frame_features` of each window's frames, oldest
        first): the second half of :meth:`transform`, with the same result."""
        plan = self._plan()
        frames = np.asarray(frames, dtype=np.float64)
        if frames.ndim != 3 or frames.shape[1:] != (plan.spec.window, plan.n_frame_features):
            raise PoseDataError(
                f"frame features of shape {frames.shape} are not (n_windows, "
                f"{plan.spec.window}, {plan.n_frame_features})"
            )
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return _window_rows(plan, frames)

    def transform_frame(self, X: Any, **deprecated: Any) -> pd.DataFrame:
        """Like :meth:`transform`, as a DataFrame with the feature column names."""
        if deprecated:
            return self._with_call_options(deprecated).transform_frame(X)
        rows = self.transform(X)
        return pd.DataFrame(rows, columns=list(self._plan().output_names))

    def with_input(
        self,
        image_size: tuple[int, int] | None = None,
        landmark_names: Sequence[str] | None = None,
        channels: Sequence[str] | None = None,
    ) -> PoseFeatureTransform:
        """A copy for array input of another layout or image size; it shares the fitted plan."""
        other = copy.copy(self)
        other.image_size = image_size
        other.landmark_names = landmark_names
        other.channels = channels
        return other

    def _with_call_options(self, options: Mapping[str, Any]) -> PoseFeatureTransform:
        unknown = set(options) - {"image_size", "landmark_names", "channels"}
        if unknown:
            raise TypeError(f"transform() got unexpected keyword arguments {sorted(unknown)}")
        warnings.warn(
            "transform(X, image_size=..., landmark_names=..., channels=...) is deprecated: give "
            "them to PoseFeatureTransform(...) (or with_input(...)), or pass a PoseSequence",
            DeprecationWarning,
            stacklevel=3,
        )
        return self.with_input(
            options.get("image_size", self.image_size),
            options.get("landmark_names", self.landmark_names),
            options.get("channels", self.channels),
        )

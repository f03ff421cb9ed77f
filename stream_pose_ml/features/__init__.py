"""The feature transform: pose windows -> feature rows (NumPy and scikit-learn only)."""

from stream_pose_ml.features.columns import (
    META_COLUMNS,
    FeatureColumn,
    feature_columns,
    is_feature_column,
    parse_column,
)
from stream_pose_ml.features.geometry import ANGLES, BONES, DISTANCES, AngleDef
from stream_pose_ml.features.spec import SPEC_VERSION, FeatureSpec
from stream_pose_ml.features.transform import PoseFeatureTransform
from stream_pose_ml.features.windows import (
    cut_windows,
    sliding_windows,
    window_count,
    window_starts,
)

__all__ = [
    "ANGLES",
    "BONES",
    "DISTANCES",
    "META_COLUMNS",
    "SPEC_VERSION",
    "AngleDef",
    "FeatureColumn",
    "FeatureSpec",
    "PoseFeatureTransform",
    "cut_windows",
    "feature_columns",
    "is_feature_column",
    "parse_column",
    "sliding_windows",
    "window_count",
    "window_starts",
]

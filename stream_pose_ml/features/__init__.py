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
from stream_pose_ml.features.transform import PoseFeatureTransform, sliding_windows

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
    "feature_columns",
    "is_feature_column",
    "parse_column",
    "sliding_windows",
]

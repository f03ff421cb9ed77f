"""Datasets: annotation files + pose sequences -> labelled frames -> segmented rows."""

from stream_pose_ml.datasets.annotations import (
    AnnotationFile,
    AnnotationProblem,
    AnnotationSchema,
    read_annotation_file,
)
from stream_pose_ml.datasets.dataset import Dataset, load_sequence
from stream_pose_ml.datasets.feature_table import feature_table
from stream_pose_ml.datasets.segmentation import (
    STRATEGIES,
    SegmentationError,
    SegmentationOptions,
    Windows,
    register_strategy,
    segment,
)

__all__ = [
    "STRATEGIES",
    "AnnotationFile",
    "AnnotationProblem",
    "AnnotationSchema",
    "Dataset",
    "SegmentationError",
    "SegmentationOptions",
    "Windows",
    "feature_table",
    "load_sequence",
    "read_annotation_file",
    "register_strategy",
    "segment",
]

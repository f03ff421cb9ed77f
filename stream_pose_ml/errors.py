"""Typed errors. Each carries a message a user can act on (which file, which entry, what to do)."""

from __future__ import annotations


class StreamPoseMLError(Exception):
    """Base class of every error this package raises on purpose."""


class PoseDataError(StreamPoseMLError, ValueError):
    """Keypoint data of the wrong shape, content or file format."""


class FeatureSpecError(StreamPoseMLError, ValueError):
    """A feature spec, or column names, that cannot be understood."""


class AnnotationError(StreamPoseMLError, ValueError):
    """An annotation file or entry that does not fit the schema or the video."""


class SegmentationError(StreamPoseMLError, ValueError):
    """An unknown segmentation strategy, or options that do not fit the chosen strategy."""


class ExtractionError(StreamPoseMLError, RuntimeError):
    """A video that could not be decoded or run through the pose model."""


class ModelAssetError(StreamPoseMLError, FileNotFoundError):
    """A pose model file that is missing and could not be built."""


class PoseModelConfigError(StreamPoseMLError, ValueError):
    """A pose model setting (complexity, running mode, configuration key) that is not valid."""


class DemoDataError(StreamPoseMLError, RuntimeError):
    """The demo video could not be fetched or does not match its checksum."""


class ModelLoadError(StreamPoseMLError, ValueError):
    """A saved model (bundle, pickle, joblib or MLflow model) that cannot be loaded or used."""


class TrainingDataError(StreamPoseMLError, ValueError):
    """A training table, target or split that the model builder cannot use as given."""

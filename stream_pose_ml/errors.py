"""Typed errors. Each carries a message a user can act on (which file, which entry, what to do)."""

from __future__ import annotations


class StreamPoseMLError(Exception):
    """Base class of every error this package raises on purpose."""


class PoseDataError(StreamPoseMLError, ValueError):
    """Keypoint data of the wrong shape, content or file format."""


class LandmarkFormatError(PoseDataError):
    """Landmarks that cannot be read as 33 BlazePose points; ``code`` says why (``bad_type``,
    ``landmark_count``, ``non_finite``, ``out_of_range``: the live API's error codes)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


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


class StreamError(StreamPoseMLError, RuntimeError):
    """A stream run that cannot start or go on: bad schedule, algorithm or output settings."""


class SourceError(StreamError):
    """A video file, camera, image folder or network stream that cannot be opened or read."""


# -- errors with a stable ``code`` and an HTTP ``status`` (the live API and the model service) ----
# ``code`` strings are part of the Socket.IO and REST contract (docs/api.md); ``status`` is the
# HTTP status a REST route answers with.
class ServingError(StreamPoseMLError):
    """A request the live service refuses, with a stable ``code`` and an HTTP ``status``."""

    default_code = "bad_request"
    default_status = 400

    def __init__(self, code: str | None, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.status = status or self.default_status

    def to_dict(self) -> dict[str, str]:
        """``{"code", "message"}``: the body of an ``error`` event."""
        return {"code": self.code, "message": self.message}


class PayloadError(ServingError, ValueError):
    """A Socket.IO message that cannot be used (bad JSON, wrong landmark count, NaN, ...)."""


class ArchiveError(ServingError, ValueError):
    """An uploaded archive that is corrupt or unsafe to extract (``..``, links, too big, ...)."""

    default_code = "unsafe_archive"


class ModelStoreError(ServingError):
    """A model upload or model choice the model store refuses (not a model, unknown id, ...)."""

    default_code = "not_a_model"
    default_status = 422


class CodeLoadingRefusedError(ServingError):
    """A model format that runs code when loaded (pickle, joblib, cloudpickle), refused where
    loading code is turned off (``serialization.code_loading(False)``)."""

    default_code = "format_refused"
    default_status = 415


class SessionLimitError(ServingError):
    """No room for another live session (``max_sessions`` reached)."""

    default_code = "too_many_sessions"
    default_status = 503

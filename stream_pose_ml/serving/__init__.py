"""Live classification of pose keypoints: payloads, rolling windows, sessions, models (no Flask).

The API in ``api/`` is a thin Socket.IO/REST shell around :class:`LiveService`.
"""

from stream_pose_ml.errors import (
    ArchiveError,
    ModelStoreError,
    PayloadError,
    ServingError,
    SessionLimitError,
)
from stream_pose_ml.serving.classifier import (
    ClassificationResult,
    InProcessPredictor,
    Predictor,
    WindowClassifier,
)
from stream_pose_ml.serving.live_models import LiveModels
from stream_pose_ml.serving.model_cache import ModelCache
from stream_pose_ml.serving.model_store import ActiveModel, ModelRecord, ModelStore, Upload
from stream_pose_ml.serving.payload import (
    FrameBatch,
    ImageFrame,
    PayloadLimits,
    decode_frames,
    encode_frames,
    parse_configure,
    parse_image,
    parse_keypoints,
)
from stream_pose_ml.serving.servable import ServableModel
from stream_pose_ml.serving.service import LiveService, ServingObserver
from stream_pose_ml.serving.session import Session, SessionCounters, SessionStore
from stream_pose_ml.serving.window import DueWindows, RollingWindow
from stream_pose_ml.serving.workers import WorkerPool, limit_native_threads

__all__ = [
    "ActiveModel",
    "ArchiveError",
    "ClassificationResult",
    "DueWindows",
    "FrameBatch",
    "ImageFrame",
    "InProcessPredictor",
    "LiveModels",
    "LiveService",
    "ModelCache",
    "ModelRecord",
    "ModelStore",
    "ModelStoreError",
    "PayloadError",
    "PayloadLimits",
    "Predictor",
    "RollingWindow",
    "ServableModel",
    "ServingError",
    "ServingObserver",
    "Session",
    "SessionCounters",
    "SessionLimitError",
    "SessionStore",
    "Upload",
    "WindowClassifier",
    "WorkerPool",
    "decode_frames",
    "encode_frames",
    "limit_native_threads",
    "parse_configure",
    "parse_image",
    "parse_keypoints",
]

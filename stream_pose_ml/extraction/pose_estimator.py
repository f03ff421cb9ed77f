"""`PoseEstimator`: MediaPipe Tasks ``PoseLandmarker`` over RGB frames, one or several people."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from stream_pose_ml.errors import ExtractionError, ModelAssetError, PoseModelConfigError
from stream_pose_ml.extraction.model_assets import normalize_complexity, pose_model_path
from stream_pose_ml.keypoints.landmark_parser import landmark_array

logger = logging.getLogger(__name__)

RUNNING_MODES: tuple[str, ...] = ("video", "image")

_PARAMS = (
    "complexity",
    "running_mode",
    "min_pose_detection_confidence",
    "min_pose_presence_confidence",
    "min_tracking_confidence",
    "model_path",
    "num_poses",
)
#: ``mediapipe.solutions.pose.Pose`` arguments with no counterpart in the Tasks API.
_NOT_APPLICABLE = {
    "smooth_landmarks": "the Tasks PoseLandmarker does no landmark smoothing",
    "enable_segmentation": "segmentation masks are not used",
    "smooth_segmentation": "segmentation masks are not used",
}


@dataclass(frozen=True)
class PoseSettings:
    """Validated `PoseEstimator` settings, checked without loading MediaPipe.

    Values are normalized on construction (``complexity`` to ``"lite"``/``"full"``/``"heavy"``,
    ``running_mode`` to lower case, confidences to floats in ``[0, 1]``);
    `PoseModelConfigError` names a bad one.
    """

    complexity: int | str = "full"
    running_mode: str = "video"
    min_pose_detection_confidence: float = 0.5
    min_pose_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    model_path: str | Path | None = None
    num_poses: int = 1

    def __post_init__(self) -> None:
        normalized = {
            "complexity": normalize_complexity(self.complexity),
            "running_mode": _normalize_running_mode(self.running_mode),
            **{
                name: _confidence(name, getattr(self, name))
                for name in (
                    "min_pose_detection_confidence",
                    "min_pose_presence_confidence",
                    "min_tracking_confidence",
                )
            },
            "model_path": None if self.model_path is None else Path(self.model_path),
            "num_poses": _num_poses(self.num_poses),
        }
        for name, value in normalized.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any] | None = None) -> PoseSettings:
        """Build from a configuration mapping.

        Accepts the keyword arguments of ``mediapipe.solutions.pose.Pose`` (the original's
        ``configuration``) and this class's own arguments. ``model_complexity`` selects the
        bundle; ``min_detection_confidence`` is the detector threshold; ``static_image_mode``
        selects image mode. ``min_tracking_confidence`` in ``Pose`` is the threshold on the
        landmark model's presence score, so it sets ``min_pose_presence_confidence`` (unless
        that is given) as well as the Tasks option of the same name. ``smooth_landmarks``,
        ``enable_segmentation`` and ``smooth_segmentation`` are accepted and ignored: the Tasks
        landmarker does no smoothing and no mask is needed.
        """
        config = dict(configuration or {})
        unknown = sorted(set(config) - set(_PARAMS) - set(_SOLUTIONS_KEYS) - set(_NOT_APPLICABLE))
        if unknown:
            accepted = ", ".join((*_PARAMS, *_SOLUTIONS_KEYS, *_NOT_APPLICABLE))
            raise PoseModelConfigError(
                f"unknown pose model configuration key(s) {', '.join(map(repr, unknown))}; "
                f"accepted keys: {accepted}"
            )
        for key, reason in _NOT_APPLICABLE.items():
            if key in config:
                logger.info("pose configuration %s=%r ignored: %s", key, config[key], reason)
        params = {key: config[key] for key in _PARAMS if key in config}
        for pose_key, (target, convert) in _SOLUTIONS_KEYS.items():
            if pose_key not in config:
                continue
            value = convert(config[pose_key])
            if target in params and _differs(target, params[target], value):
                raise PoseModelConfigError(
                    f"pose configuration sets both {pose_key}={config[pose_key]!r} and "
                    f"{target}={params[target]!r}; keep one"
                )
            params[target] = value
        if "min_tracking_confidence" in config:
            params.setdefault("min_pose_presence_confidence", config["min_tracking_confidence"])
        return cls(**params)

    def bundle_path(self) -> Path:
        """The ``.task`` bundle these settings select; a missing default bundle is built.

        Raises `ModelAssetError` if an explicit ``model_path`` does not exist.
        """
        if self.model_path is None:
            return pose_model_path(self.complexity)
        path = Path(self.model_path)
        if not path.is_file():
            raise ModelAssetError(f"pose model {path} does not exist")
        return path


class PoseEstimator:
    """BlazePose landmarks of the people in RGB frames, with MediaPipe's Tasks API on the CPU.

    ``running_mode="video"`` tracks the person from frame to frame (frames must come in order,
    with increasing timestamps); ``"image"`` runs the detector on every frame independently.
    The confidences are MediaPipe's ``PoseLandmarkerOptions`` thresholds in ``[0, 1]``.
    ``model_path`` overrides the bundle chosen by ``complexity`` (``"lite"``, ``"full"``,
    ``"heavy"`` or 0/1/2); a missing bundle is built on first use (see ``model_assets``).
    ``num_poses`` is the most people MediaPipe looks for per frame (default 1): `detect` gives
    the first of them, `detect_people` all of them, in MediaPipe's order (which can change from
    frame to frame; `stream_pose_ml.tracking` gives them stable identities).
    """

    def __init__(
        self,
        complexity: int | str = "full",
        running_mode: str = "video",
        min_pose_detection_confidence: float = 0.5,
        min_pose_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        model_path: str | Path | None = None,
        num_poses: int = 1,
    ) -> None:
        settings = PoseSettings(
            complexity=complexity,
            running_mode=running_mode,
            min_pose_detection_confidence=min_pose_detection_confidence,
            min_pose_presence_confidence=min_pose_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
            model_path=model_path,
            num_poses=num_poses,
        )
        self.complexity = settings.complexity
        self.running_mode = settings.running_mode
        self.min_pose_detection_confidence = settings.min_pose_detection_confidence
        self.min_pose_presence_confidence = settings.min_pose_presence_confidence
        self.min_tracking_confidence = settings.min_tracking_confidence
        self.num_poses = settings.num_poses
        self.model_path = settings.bundle_path()
        model = self.model_path.read_bytes()
        self._model_sha256 = hashlib.sha256(model).hexdigest()
        self._last_timestamp_ms = -1
        self._landmarker = self._create_landmarker(model)

    def _create_landmarker(self, model: bytes) -> Any:
        from mediapipe.tasks.python import BaseOptions, vision

        mode = (
            vision.RunningMode.VIDEO if self.running_mode == "video" else vision.RunningMode.IMAGE
        )
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=model, delegate=BaseOptions.Delegate.CPU),
            running_mode=mode,
            num_poses=self.num_poses,
            min_pose_detection_confidence=self.min_pose_detection_confidence,
            min_pose_presence_confidence=self.min_pose_presence_confidence,
            min_tracking_confidence=self.min_tracking_confidence,
            output_segmentation_masks=False,
        )
        try:
            return vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            raise ModelAssetError(
                f"{self.model_path} is not a usable pose landmarker bundle ({exc}); delete it "
                "to have it rebuilt"
            ) from exc

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any] | None = None) -> PoseEstimator:
        """Build from a configuration mapping (see `PoseSettings.from_configuration`)."""
        return cls(**asdict(PoseSettings.from_configuration(configuration)))

    # -- inference ---------------------------------------------------------------------------
    def detect(self, rgb: np.ndarray, timestamp_ms: int | None = None) -> np.ndarray | None:
        """``(33, 4)`` x, y, z, visibility of the person in an ``(H, W, 3)`` uint8 RGB frame.

        ``x``, ``y`` are normalized to the frame's width and height, ``z`` is MediaPipe's
        relative depth, ``visibility`` is in ``[0, 1]``. Returns ``None`` if nobody is found.
        In video mode ``timestamp_ms`` must increase from call to call; if omitted, it is the
        previous one plus 1 ms. With ``num_poses > 1`` this is the first person MediaPipe lists.
        """
        return landmark_array(self._landmarker_result(rgb, timestamp_ms))

    def detect_people(self, rgb: np.ndarray, timestamp_ms: int | None = None) -> list[np.ndarray]:
        """One ``(33, 4)`` array per person found (at most ``num_poses``), in MediaPipe's order.

        Channels and timestamps as in `detect`; an empty list if nobody is found.
        """
        result = self._landmarker_result(rgb, timestamp_ms)
        people = [landmark_array(pose) for pose in result.pose_landmarks or []]
        return [pose for pose in people if pose is not None]

    def _landmarker_result(self, rgb: np.ndarray, timestamp_ms: int | None) -> Any:
        """The Tasks ``PoseLandmarkerResult`` of one frame (checks the frame and timestamp)."""
        import mediapipe as mp

        if self._landmarker is None:
            raise ExtractionError("this PoseEstimator is closed; create a new one")
        frame = np.asarray(rgb)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ExtractionError(
                f"expected an (H, W, 3) uint8 RGB frame, got shape {frame.shape} {frame.dtype}"
            )
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame))
        try:
            if self.running_mode == "image":
                result = self._landmarker.detect(image)
            else:
                stamp = self._next_timestamp(timestamp_ms)
                result = self._landmarker.detect_for_video(image, stamp)
        except (RuntimeError, ValueError) as exc:
            raise ExtractionError(f"MediaPipe pose landmarker failed on a frame: {exc}") from exc
        return result

    def _next_timestamp(self, timestamp_ms: int | None) -> int:
        stamp = self._last_timestamp_ms + 1 if timestamp_ms is None else int(timestamp_ms)
        if stamp <= self._last_timestamp_ms:
            raise ExtractionError(
                f"video-mode timestamps must increase: got {stamp} ms after "
                f"{self._last_timestamp_ms} ms; use a new PoseEstimator for a new video"
            )
        self._last_timestamp_ms = stamp
        return stamp

    # -- description -------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        """The bundle's name without suffix, e.g. ``"pose_landmarker_full"``."""
        return self.model_path.stem

    @property
    def model_sha256(self) -> str:
        """Hex SHA-256 of the bundle in use."""
        return self._model_sha256

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serializable (for sequence metadata)."""
        return {
            "complexity": self.complexity,
            "running_mode": self.running_mode,
            "min_pose_detection_confidence": self.min_pose_detection_confidence,
            "min_pose_presence_confidence": self.min_pose_presence_confidence,
            "min_tracking_confidence": self.min_tracking_confidence,
            "model_path": str(self.model_path),
            "num_poses": self.num_poses,
        }

    def __repr__(self) -> str:
        return (
            f"PoseEstimator(model={self.model_name!r}, running_mode={self.running_mode!r}, "
            f"min_pose_detection_confidence={self.min_pose_detection_confidence}, "
            f"min_pose_presence_confidence={self.min_pose_presence_confidence}, "
            f"min_tracking_confidence={self.min_tracking_confidence}, num_poses={self.num_poses})"
        )

    # -- lifetime ----------------------------------------------------------------------------
    def close(self) -> None:
        """Release the MediaPipe graph; further ``detect`` calls raise. Safe to call twice."""
        landmarker, self._landmarker = getattr(self, "_landmarker", None), None
        if landmarker is not None:
            landmarker.close()

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown nothing more can be done
            self.close()


def _normalize_running_mode(value: str) -> str:
    mode = str(value).strip().lower()
    if mode not in RUNNING_MODES:
        raise PoseModelConfigError(
            f"unknown running mode {value!r}; use 'video' (tracking across frames) or 'image'"
        )
    return mode


def _confidence(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise PoseModelConfigError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def _num_poses(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise PoseModelConfigError(f"num_poses must be a whole number >= 1, got {value!r}")
    return int(value)


def _static_image_mode(value: Any) -> str:
    if not isinstance(value, bool):
        raise PoseModelConfigError(f"static_image_mode must be true or false, got {value!r}")
    return "image" if value else "video"


def _differs(target: str, a: Any, b: Any) -> bool:
    if target == "complexity":
        return normalize_complexity(a) != normalize_complexity(b)
    if target == "running_mode":
        return _normalize_running_mode(a) != _normalize_running_mode(b)
    return a != b


#: ``mediapipe.solutions.pose.Pose`` argument -> (our argument, value conversion).
_SOLUTIONS_KEYS: dict[str, tuple[str, Any]] = {
    "model_complexity": ("complexity", normalize_complexity),
    "min_detection_confidence": ("min_pose_detection_confidence", lambda v: v),
    "static_image_mode": ("running_mode", _static_image_mode),
}

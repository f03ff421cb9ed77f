"""`PoseSequence`: the one pose data type, a `(frames, landmarks, channels)` array with names."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints.landmark_parser import landmark_array
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, CHANNELS

NPZ_FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class PoseSequence:
    """Keypoints of one person over a run of frames.

    ``data`` has shape ``(frames, landmarks, channels)`` (float64). With the default channels
    ``("x", "y", "z", "visibility")``, ``x`` and ``y`` are normalized to ``[0, 1]`` of the image
    width and height. A frame without a detection (or a landmark without a value) is NaN, never
    dropped: ``present`` and ``detected`` are the masks.
    """

    data: np.ndarray
    # None: 0 .. n-1; always an int64 array after construction
    frame_numbers: np.ndarray = None  # type: ignore[assignment]
    fps: float | None = None
    image_size: tuple[int, int] | None = None  # (width, height) in pixels
    landmark_names: tuple[str, ...] = BLAZEPOSE_33
    channels: tuple[str, ...] = CHANNELS
    source: str = "unknown"
    name: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = np.asarray(self.data, dtype=np.float64)
        if data.ndim != 3:
            raise PoseDataError(
                f"pose data must be 3-D (frames, landmarks, channels), got {data.shape}"
            )
        names, channels = tuple(self.landmark_names), tuple(self.channels)
        if data.shape[1] != len(names) or data.shape[2] != len(channels):
            raise PoseDataError(
                f"pose data shape {data.shape} does not match {len(names)} landmarks "
                f"x {len(channels)} channels"
            )
        if self.frame_numbers is None:
            frames = np.arange(data.shape[0], dtype=np.int64)
        else:
            frames = np.asarray(self.frame_numbers, dtype=np.int64).reshape(-1)
            if frames.shape[0] != data.shape[0]:
                raise PoseDataError(
                    f"{frames.shape[0]} frame numbers for {data.shape[0]} frames of pose data"
                )
        size = (
            None if self.image_size is None else (int(self.image_size[0]), int(self.image_size[1]))
        )
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "frame_numbers", frames)
        object.__setattr__(self, "landmark_names", names)
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "image_size", size)
        object.__setattr__(self, "fps", None if self.fps is None else float(self.fps))
        object.__setattr__(self, "metadata", dict(self.metadata))

    # -- shape and masks -------------------------------------------------------------------
    def __len__(self) -> int:
        return self.data.shape[0]

    @property
    def n_frames(self) -> int:
        return self.data.shape[0]

    @property
    def present(self) -> np.ndarray:
        """``(frames, landmarks)`` bool: the landmark has coordinates in that frame."""
        return ~np.isnan(self.data[..., :2]).any(axis=-1)

    @property
    def detected(self) -> np.ndarray:
        """``(frames,)`` bool: a pose was detected in that frame."""
        return self.present.any(axis=1)

    def index(self, landmark: str) -> int:
        try:
            return self.landmark_names.index(landmark)
        except ValueError:
            raise PoseDataError(f"unknown landmark {landmark!r}") from None

    def channel(self, name: str) -> np.ndarray:
        """``(frames, landmarks)`` values of one channel."""
        try:
            return self.data[..., self.channels.index(name)]
        except ValueError:
            raise PoseDataError(f"unknown channel {name!r}; have {self.channels}") from None

    def pixel_xy(self) -> np.ndarray:
        """``(frames, landmarks, 2)`` pixel coordinates; needs ``image_size``."""
        if self.image_size is None:
            raise PoseDataError("pixel coordinates need the image size; this sequence has none")
        width, height = self.image_size
        return self.data[..., :2] * np.array([width, height], dtype=np.float64)

    # -- slicing and combining -------------------------------------------------------------
    def __getitem__(self, key: int | slice | Sequence[int] | np.ndarray) -> PoseSequence:
        """Frames by index, slice, index array or boolean mask; always a ``PoseSequence``."""
        if isinstance(key, (int, np.integer)):
            key = slice(int(key), int(key) + 1 if int(key) != -1 else None)
        return replace(self, data=self.data[key], frame_numbers=self.frame_numbers[key])

    def with_metadata(self, **items: Any) -> PoseSequence:
        return replace(self, metadata={**self.metadata, **items})

    @classmethod
    def concatenate(cls, sequences: Iterable[PoseSequence]) -> PoseSequence:
        """Join sequences with the same landmarks and channels; the first one's fields win."""
        items = list(sequences)
        if not items:
            raise PoseDataError("nothing to concatenate")
        first = items[0]
        for other in items[1:]:
            if other.landmark_names != first.landmark_names or other.channels != first.channels:
                raise PoseDataError("cannot concatenate sequences with different landmarks")
        return replace(
            first,
            data=np.concatenate([s.data for s in items]),
            frame_numbers=np.concatenate([s.frame_numbers for s in items]),
        )

    @classmethod
    def empty(cls, n_frames: int, **fields: Any) -> PoseSequence:
        """All-missing sequence of ``n_frames`` frames."""
        names = fields.pop("landmark_names", BLAZEPOSE_33)
        channels = fields.pop("channels", CHANNELS)
        data = np.full((n_frames, len(names), len(channels)), np.nan)
        return cls(data=data, landmark_names=names, channels=channels, **fields)

    def equals(self, other: PoseSequence, atol: float = 0.0) -> bool:
        """Same values (NaN equal to NaN), frames, names and fields."""
        return (
            isinstance(other, PoseSequence)
            and self.data.shape == other.data.shape
            and np.allclose(self.data, other.data, rtol=0.0, atol=atol, equal_nan=True)
            and np.array_equal(self.frame_numbers, other.frame_numbers)
            and self.landmark_names == other.landmark_names
            and self.channels == other.channels
            and self.fps == other.fps
            and self.image_size == other.image_size
            and self.source == other.source
            and self.name == other.name
            and dict(self.metadata) == dict(other.metadata)
        )

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def from_mediapipe(
        cls, frames: Iterable[Any], frame_numbers: Sequence[int] | None = None, **fields: Any
    ) -> PoseSequence:
        """Build from MediaPipe output, one item per frame.

        An item may be a ``mediapipe.solutions.pose`` result, a Tasks ``PoseLandmarkerResult``
        (first pose), a list of landmark objects with ``x``/``y``/``z``/``visibility`` attributes,
        a list of such dicts (the browser's JSON), or ``None`` for a frame with no detection.
        """
        rows = [landmark_array(item, f"frame {i}") for i, item in enumerate(frames)]
        data = np.full((len(rows), len(BLAZEPOSE_33), len(CHANNELS)), np.nan)
        for i, row in enumerate(rows):
            if row is not None:
                data[i] = row
        fields.setdefault("source", "mediapipe")
        if frame_numbers is not None:
            fields["frame_numbers"] = np.asarray(frame_numbers, dtype=np.int64)
        return cls(data=data, **fields)

    # -- other formats (stream_pose_ml.keypoints.formats) ------------------------------------
    @classmethod
    def from_legacy_frames(cls, frames: Sequence[Mapping[str, Any]], **fields: Any) -> PoseSequence:
        """From the original StreamPoseML's per-frame keypoint dicts; see
        `formats.legacy_json_reader.from_legacy_frames`."""
        from stream_pose_ml.keypoints.formats.legacy_json_reader import from_legacy_frames

        return from_legacy_frames(frames, **fields)

    def to_legacy_frames(self) -> list[dict[str, Any]]:
        """The original StreamPoseML's per-frame keypoint dicts; see
        `formats.legacy_json_writer.to_legacy_frames`."""
        from stream_pose_ml.keypoints.formats.legacy_json_writer import to_legacy_frames

        return to_legacy_frames(self)

    @classmethod
    def from_legacy_sequence(cls, obj: Mapping[str, Any]) -> PoseSequence:
        """From the original StreamPoseML's serialized sequence dict; see
        `formats.legacy_json_reader.from_legacy_sequence`."""
        from stream_pose_ml.keypoints.formats.legacy_json_reader import from_legacy_sequence

        return from_legacy_sequence(obj)

    def to_legacy_sequence(self) -> dict[str, Any]:
        """The original StreamPoseML's per-video serialized sequence dict; see
        `formats.legacy_json_writer.to_legacy_sequence`."""
        from stream_pose_ml.keypoints.formats.legacy_json_writer import to_legacy_sequence

        return to_legacy_sequence(self)

    @classmethod
    def from_openpose_json(
        cls, frames_or_paths: Any, image_size: tuple[int, int], **kwargs: Any
    ) -> PoseSequence:
        """From OpenPose BODY-25 JSON; see `formats.openpose.from_openpose_json`."""
        from stream_pose_ml.keypoints.formats.openpose import from_openpose_json

        return from_openpose_json(frames_or_paths, image_size, **kwargs)

    def to_openpose_json(self, **kwargs: Any) -> list[dict[str, Any]]:
        """OpenPose frame dicts of a BODY-25 sequence; see `formats.openpose.to_openpose_json`."""
        from stream_pose_ml.keypoints.formats.openpose import to_openpose_json

        return to_openpose_json(self, **kwargs)

    @classmethod
    def from_coco(
        cls, keypoints: Any, image_size: tuple[int, int] | None, **kwargs: Any
    ) -> PoseSequence:
        """From COCO-17 keypoint arrays; see `formats.coco.from_coco`."""
        from stream_pose_ml.keypoints.formats.coco import from_coco

        return from_coco(keypoints, image_size, **kwargs)

    def to_coco(self, normalized: bool = False) -> np.ndarray:
        """``(frames, 17, 3)`` COCO-17 ``x, y, score``; see `formats.coco.to_coco`."""
        from stream_pose_ml.keypoints.formats.coco import to_coco

        return to_coco(self, normalized=normalized)

    # -- compact file format -----------------------------------------------------------------
    def header(self) -> dict[str, Any]:
        """JSON-serializable description of everything but the arrays."""
        return {
            "format_version": NPZ_FORMAT_VERSION,
            "fps": self.fps,
            "image_size": list(self.image_size) if self.image_size else None,
            "landmark_names": list(self.landmark_names),
            "channels": list(self.channels),
            "source": self.source,
            "name": self.name,
            "metadata": dict(self.metadata),
        }

    def to_npz(self, path: str | Path) -> Path:
        """Write one compressed ``.npz`` file (arrays plus a JSON header); no pickles."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial.npz")
        np.savez_compressed(
            tmp,
            data=self.data,
            frame_numbers=self.frame_numbers,
            header=np.array(json.dumps(self.header())),
        )
        tmp.replace(path)
        return path

    @classmethod
    def from_npz(cls, path: str | Path) -> PoseSequence:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as archive:
                header = json.loads(str(archive["header"]))
                data, frame_numbers = archive["data"], archive["frame_numbers"]
        except (OSError, KeyError, ValueError) as exc:
            raise PoseDataError(f"{path}: not a pose sequence file ({exc})") from exc
        if header.get("format_version") != NPZ_FORMAT_VERSION:
            raise PoseDataError(f"{path}: unknown format version {header.get('format_version')}")
        size = header.get("image_size")
        return cls(
            data=data,
            frame_numbers=frame_numbers,
            fps=header.get("fps"),
            image_size=tuple(size) if size else None,
            landmark_names=tuple(header["landmark_names"]),
            channels=tuple(header["channels"]),
            source=header.get("source", "unknown"),
            name=header.get("name", ""),
            metadata=header.get("metadata", {}),
        )

"""Writing the original StreamPoseML's keypoint JSON: per-frame dicts and files, sequence JSON.

The layout, its key names and file names are described in `legacy_json_layout`;
`legacy_json_reader` reads what this module writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints.formats.json_io import write_json
from stream_pose_ml.keypoints.formats.legacy_json_layout import (
    FRAME_FILE_GLOB,
    FRAME_TYPE,
    JOINT_KEYS,
    JOINT_TYPE,
    LEGACY_SEQUENCE_FORMAT_VERSION,
    SEQUENCE_TYPE,
    legacy_frame_file_name,
)
from stream_pose_ml.keypoints.landmarks import CHANNELS
from stream_pose_ml.keypoints.sequence import PoseSequence


def to_legacy_frames(seq: PoseSequence) -> list[dict[str, Any]]:
    """One per-frame keypoint dict per frame of ``seq`` (layout: `legacy_json_layout`).

    ``sequence_id`` comes from ``seq.metadata["sequence_id"]`` (null without it) and
    ``sequence_source`` from ``seq.source``. Needs the channels ``x, y, z, visibility``.
    """
    if seq.channels != CHANNELS:
        raise PoseDataError(
            f"the legacy keypoint JSON holds the channels {CHANNELS}; this sequence has "
            f"{seq.channels}"
        )
    if not np.isfinite(seq.data[~np.isnan(seq.data)]).all():
        raise PoseDataError("pose data holds infinite values; JSON cannot store them")
    dims = None
    scale = np.ones(2)
    if seq.image_size is not None:
        width, height = seq.image_size
        dims = {"height": height, "width": width}
        scale = np.array([width, height], dtype=np.float64)
    data = seq.data
    table = np.stack(
        [
            data[..., 0] * scale[0],
            data[..., 1] * scale[1],
            data[..., 2],
            data[..., 0],
            data[..., 1],
            data[..., 2],
            data[..., 3],
        ],
        axis=-1,
    )
    rows = _json_values(table)
    has_values = (~np.isnan(data)).any(axis=(1, 2))
    sequence_id = seq.metadata.get("sequence_id")
    names = seq.landmark_names
    frames = []
    for i, frame_number in enumerate(seq.frame_numbers.tolist()):
        joints = (
            {
                name: dict(zip(JOINT_KEYS, row, strict=True))
                for name, row in zip(names, rows[i], strict=True)
            }
            if has_values[i]
            else {}
        )
        frames.append(
            {
                "sequence_id": sequence_id,
                "sequence_source": seq.source,
                "frame_number": frame_number,
                "image_dimensions": dims,
                "joint_positions": joints,
            }
        )
    return frames


def _json_values(table: np.ndarray) -> list[Any]:
    """Nested lists of Python floats with ``None`` for NaN (JSON has no NaN)."""
    values = table.astype(object)
    values[np.isnan(table)] = None
    return values.tolist()


def write_legacy_frame_files(
    seq: PoseSequence, directory: str | Path, overwrite: bool = False
) -> list[Path]:
    """Write one ``keypoints-<frame:04d>.json`` per frame into ``directory`` (the video's folder).

    Existing ``keypoints-*.json`` files there are an error unless ``overwrite``, which removes
    them first so that no stale frame survives. Returns the paths in frame order.
    """
    directory = Path(directory)
    numbers = seq.frame_numbers
    if len(np.unique(numbers)) != len(numbers) or (numbers < 0).any():
        raise PoseDataError(
            "per-frame files are named by frame number; the frame numbers must be unique and "
            "not negative"
        )
    existing = sorted(directory.glob(FRAME_FILE_GLOB)) if directory.is_dir() else []
    if existing:
        if not overwrite:
            raise PoseDataError(
                f"{directory} already holds {len(existing)} keypoint files; pass overwrite=True "
                "to replace them or choose an empty folder"
            )
        for path in existing:
            path.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    return [
        write_json(frame, directory / legacy_frame_file_name(frame["frame_number"]))
        for frame in to_legacy_frames(seq)
    ]


def to_legacy_sequence(seq: PoseSequence) -> dict[str, Any]:
    """The per-video serialized sequence dict, frames keyed by frame number.

    Layout: `legacy_json_layout`.
    """
    numbers = seq.frame_numbers
    if len(np.unique(numbers)) != len(numbers):
        raise PoseDataError("the sequence JSON keys frames by frame number; they must be unique")
    frames = {}
    for frame in to_legacy_frames(seq):
        dims = frame["image_dimensions"]
        joints = {
            name: {"type": JOINT_TYPE, "name": name, "image_dimensions": dims, **values}
            for name, values in frame["joint_positions"].items()
        }
        frames[str(frame["frame_number"])] = {
            "type": FRAME_TYPE,
            "sequence_id": frame["sequence_id"],
            "sequence_source": frame["sequence_source"],
            "frame_number": frame["frame_number"],
            "image_dimensions": dims,
            "has_joint_positions": bool(joints),
            "joint_positions": joints,
        }
    return {
        "name": seq.name,
        "type": SEQUENCE_TYPE,
        "format_version": LEGACY_SEQUENCE_FORMAT_VERSION,
        "fps": seq.fps,
        "image_size": list(seq.image_size) if seq.image_size else None,
        "source": seq.source,
        "landmark_names": list(seq.landmark_names),
        "metadata": dict(seq.metadata),
        "frames": frames,
    }


def write_legacy_sequence_json(
    seq: PoseSequence, path: str | Path, indent: int | None = None
) -> Path:
    """Write `to_legacy_sequence` to ``path`` (`legacy_sequence_path` gives the original's name)."""
    try:
        return write_json(to_legacy_sequence(seq), path, indent=indent)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, PoseDataError):
            raise
        raise PoseDataError(f"{path}: sequence metadata is not JSON-serializable ({exc})") from exc

"""The original StreamPoseML's keypoint JSON: key names, type tags and file names.

`legacy_json_writer` writes this layout and `legacy_json_reader` reads it (with the variants the
original wrote earlier); both take their names from here.

One frame (the dict the original MediaPipe client built and wrote, one file per frame)::

    {"sequence_id": 1677107027968938000, "sequence_source": "mediapipe", "frame_number": 1,
     "image_dimensions": {"height": 1080, "width": 1920},
     "joint_positions": {"nose": {"x": 960.0, "y": 540.0, "z": -0.41,
                                  "x_normalized": 0.5, "y_normalized": 0.5,
                                  "z_normalized": -0.41, "visibility": 0.998}, ...}}

``x`` / ``y`` are pixels (``x_normalized * width``, ``y_normalized * height``),
``x_normalized`` / ``y_normalized`` the same point in [0, 1] of the image width and height, and
both ``z`` keys hold MediaPipe's relative depth. ``visibility`` is ours (the original dropped
it). A frame with no detection has empty ``joint_positions``; a landmark without a value has
nulls. Without an image size, ``image_dimensions`` is null and ``x`` / ``y`` repeat the
normalized values.

Files, as the original ``process_videos`` job laid them out:

* per frame: ``<keypoints dir>/<video stem>-<sequence_id>/keypoints-<frame:04d>.json``;
* per video: ``<sequence dir>/<video file name>_sequence.json``, the serialized sequence
  ``{"name", "type": "BlazePoseSequence", "frames": {"<frame number>": frame}}``, each frame
  also carrying ``type`` and ``has_joint_positions`` and each joint ``type``, ``name`` and
  ``image_dimensions``. We add ``format_version``, ``fps``, ``image_size``, ``source``,
  ``landmark_names`` and ``metadata``. The original also stored per-frame ``angles`` and
  ``distances``; features are computed by ``stream_pose_ml.features``, so they are not written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

#: Keys of every per-frame dict, in the original's order.
FRAME_KEYS: tuple[str, ...] = (
    "sequence_id",
    "sequence_source",
    "frame_number",
    "image_dimensions",
    "joint_positions",
)
#: Keys of one joint entry, in the order we write them.
JOINT_KEYS: tuple[str, ...] = (
    "x",
    "y",
    "z",
    "x_normalized",
    "y_normalized",
    "z_normalized",
    "visibility",
)
SEQUENCE_TYPE = "BlazePoseSequence"
FRAME_TYPE = "BlasePoseFrame"  # sic: the original serializer's spelling, kept for its readers
JOINT_TYPE = "Joint"
#: ``format_version`` of the sequence JSON we write; a file without one is the original's.
LEGACY_SEQUENCE_FORMAT_VERSION = 1
FRAME_FILE_GLOB = "keypoints-*.json"
#: A per-frame file name; group 1 is the frame number.
FRAME_FILE_RE = re.compile(r"^keypoints-(\d+)\.json$")


def legacy_frame_directory(keypoints_dir: str | Path, video: str | Path, sequence_id: Any) -> Path:
    """The per-video folder of frame files: ``<keypoints_dir>/<video stem>-<sequence_id>``."""
    return Path(keypoints_dir) / f"{Path(video).stem}-{sequence_id}"


def legacy_frame_file_name(frame_number: int) -> str:
    """``keypoints-0001.json``: the frame number zero-padded to four digits (more if needed)."""
    return f"keypoints-{int(frame_number):04d}.json"


def legacy_sequence_path(sequence_dir: str | Path, video: str | Path) -> Path:
    """The per-video sequence file: ``<sequence_dir>/<video file name>_sequence.json``."""
    return Path(sequence_dir) / f"{Path(video).name}_sequence.json"

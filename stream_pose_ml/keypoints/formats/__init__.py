"""File formats of `PoseSequence`: the original StreamPoseML's JSON, OpenPose JSON, COCO-17.

Each format is a pair of plain functions (``to_<format>`` / ``from_<format>``, plus file readers
and writers); ``PoseSequence`` has thin methods that call them. Modules:

* `legacy_json_layout`, `legacy_json_reader`, `legacy_json_writer`: the original StreamPoseML's
  per-frame keypoint JSON files and per-video sequence JSON;
* `openpose`: OpenPose BODY-25 JSON and BlazePose-33 <-> BODY-25 conversion;
* `coco`: COCO-17 arrays and annotation JSON;
* `json_io`, `checks`: what the formats share (JSON files in and out, image size and number
  checks with messages that name the file and the entry).
"""

from __future__ import annotations

from stream_pose_ml.keypoints.formats.checks import (
    check_image_size,
    describe,
    is_number,
    non_numbers,
)
from stream_pose_ml.keypoints.formats.coco import (
    from_coco,
    from_coco_annotations,
    read_coco_annotations,
    to_coco,
    to_coco_annotations,
    write_coco_annotations,
)
from stream_pose_ml.keypoints.formats.json_io import read_json, write_json
from stream_pose_ml.keypoints.formats.legacy_json_layout import (
    legacy_frame_directory,
    legacy_frame_file_name,
    legacy_sequence_path,
)
from stream_pose_ml.keypoints.formats.legacy_json_reader import (
    from_legacy_frames,
    from_legacy_sequence,
    read_legacy_frame_files,
    read_legacy_sequence_json,
)
from stream_pose_ml.keypoints.formats.legacy_json_writer import (
    to_legacy_frames,
    to_legacy_sequence,
    write_legacy_frame_files,
    write_legacy_sequence_json,
)
from stream_pose_ml.keypoints.formats.openpose import (
    blazepose_to_body25,
    body25_to_blazepose,
    from_openpose_json,
    to_openpose_json,
    write_openpose_json,
)

__all__ = [
    "blazepose_to_body25",
    "body25_to_blazepose",
    "check_image_size",
    "describe",
    "from_coco",
    "from_coco_annotations",
    "from_legacy_frames",
    "from_legacy_sequence",
    "from_openpose_json",
    "is_number",
    "legacy_frame_directory",
    "legacy_frame_file_name",
    "legacy_sequence_path",
    "non_numbers",
    "read_coco_annotations",
    "read_json",
    "read_legacy_frame_files",
    "read_legacy_sequence_json",
    "to_coco",
    "to_coco_annotations",
    "to_legacy_frames",
    "to_legacy_sequence",
    "to_openpose_json",
    "write_coco_annotations",
    "write_json",
    "write_legacy_frame_files",
    "write_legacy_sequence_json",
    "write_openpose_json",
]

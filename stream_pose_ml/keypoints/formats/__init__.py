"""File formats of `PoseSequence`: the seed's keypoint JSON, OpenPose BODY-25 JSON and COCO-17.

Each format is a pair of plain functions (``to_<format>`` / ``from_<format>``, plus file readers
and writers); ``PoseSequence`` has thin methods that call them. The helpers below are shared by
the format modules: JSON files in and out, image sizes and number checks with messages that
name the file and the entry.
"""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stream_pose_ml.errors import PoseDataError


def read_json(path: str | Path) -> Any:
    """Parse one JSON file; a missing or malformed file is a `PoseDataError` naming it."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise PoseDataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoseDataError(f"{path}: not a readable JSON file ({exc})") from exc


def write_json(obj: Any, path: str | Path, indent: int | None = None) -> Path:
    """Write ``obj`` as standard JSON (no NaN), atomically: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, indent=indent, allow_nan=False)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def check_image_size(size: Any, what: str) -> tuple[int, int]:
    """``(width, height)`` as two positive ints, or a `PoseDataError` saying what needs it."""
    if size is None:
        raise PoseDataError(
            f"{what} needs the image size in pixels: pass image_size=(width, height)"
        )
    try:
        width, height = size
    except (TypeError, ValueError):
        raise PoseDataError(f"{what}: image_size must be (width, height), got {size!r}") from None
    if not (_is_whole(width) and _is_whole(height)) or width <= 0 or height <= 0:
        raise PoseDataError(f"{what}: image_size must be two positive integers, got {size!r}")
    return int(width), int(height)


def _is_whole(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and float(value).is_integer()
    )


def is_number(value: Any) -> bool:
    """A real number that is not a bool (JSON ``true`` must not pass as 1)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def non_numbers(values: Sequence[Any], allowed: tuple[Any, ...] = ()) -> list[int]:
    """Indices of ``values`` that are neither numbers nor one of the ``allowed`` objects.

    The common case (plain ``int`` / ``float`` from ``json.load``) is checked by class in one
    pass; only the rest get the slower ``isinstance`` test.
    """
    odd = [
        i
        for i, value in enumerate(values)
        if value.__class__ is not float and value.__class__ is not int
    ]
    return [i for i in odd if not is_number(values[i]) and not any(values[i] is a for a in allowed)]


def describe(value: Any) -> str:
    """A short description of an unexpected value for an error message."""
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


from stream_pose_ml.keypoints.formats.coco import (  # noqa: E402
    from_coco,
    from_coco_annotations,
    read_coco_annotations,
    to_coco,
    to_coco_annotations,
    write_coco_annotations,
)
from stream_pose_ml.keypoints.formats.openpose import (  # noqa: E402
    blazepose_to_body25,
    body25_to_blazepose,
    from_openpose_json,
    to_openpose_json,
    write_openpose_json,
)
from stream_pose_ml.keypoints.formats.seed_json import (  # noqa: E402
    from_seed_frames,
    from_seed_sequence,
    read_seed_frame_files,
    read_seed_sequence_json,
    seed_frame_directory,
    seed_frame_file_name,
    seed_sequence_path,
    to_seed_frames,
    to_seed_sequence,
    write_seed_frame_files,
    write_seed_sequence_json,
)

__all__ = [
    "blazepose_to_body25",
    "body25_to_blazepose",
    "from_coco",
    "from_coco_annotations",
    "from_openpose_json",
    "from_seed_frames",
    "from_seed_sequence",
    "read_coco_annotations",
    "read_seed_frame_files",
    "read_seed_sequence_json",
    "seed_frame_directory",
    "seed_frame_file_name",
    "seed_sequence_path",
    "to_coco",
    "to_coco_annotations",
    "to_openpose_json",
    "to_seed_frames",
    "to_seed_sequence",
    "write_coco_annotations",
    "write_openpose_json",
    "write_seed_frame_files",
    "write_seed_sequence_json",
]

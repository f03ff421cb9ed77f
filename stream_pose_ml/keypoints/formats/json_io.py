"""JSON files in and out for the format modules, with errors that name the file."""

from __future__ import annotations

import json
import os
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

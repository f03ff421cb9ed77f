"""The original StreamPoseML's documented entry points, kept thin: `ProcessVideosJob`,
`BuildAndFormatDatasetJob`.

Importing this package imports neither MediaPipe nor OpenCV; the job classes load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_JOBS = {
    "ProcessVideosJob": "stream_pose_ml.jobs.process_videos_job",
    "BuildAndFormatDatasetJob": "stream_pose_ml.jobs.build_and_format_dataset_job",
}

__all__ = sorted(_JOBS)


def __getattr__(name: str) -> Any:
    if name in _JOBS:
        return getattr(importlib.import_module(_JOBS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

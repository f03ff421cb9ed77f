"""Where the learning layer writes by default: the project's data folder."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the data folder; default ``./data`` (relative to the working dir).
DATA_DIR_ENV = "STREAM_POSE_ML_DATA"


def data_dir() -> Path:
    """The data folder, ``$STREAM_POSE_ML_DATA`` or ``./data`` (absolute; not created)."""
    return Path(os.environ.get(DATA_DIR_ENV) or "data").expanduser().resolve()


def trained_models_dir() -> Path:
    """Default folder of saved models: ``<data>/trained_models``."""
    return data_dir() / "trained_models"

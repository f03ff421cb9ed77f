"""What the load benchmark sends and classifies with: real demo landmarks and the XGBoost model.

``demo_landmarks`` is the MediaPipe pose of every frame of the demo video
(``stream_pose_ml.demo_data.demo_video_path``, 230 frames at 30 fps, 1768x994), extracted once
with ``extraction.video_batch.extract_pose_sequence`` (the per-video unit of
``ProcessVideosJob``) and cached as ``<cache>/bench/demo_<model>.npz`` (``<cache>`` is
``$STREAM_POSE_ML_CACHE`` or ``~/.cache/stream_pose_ml``); delete the file to extract again.
``build_model`` trains the benchmark's classifier on synthetic poses with the real feature
transform; ``pose_frames`` gives synthetic frames (``bench_live_path.py`` uses them).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

if TYPE_CHECKING:
    from stream_pose_ml.keypoints import PoseSequence

logger = logging.getLogger("load_data")


def landmarks_cache_path(complexity: str = "full") -> Path:
    """Where the demo video's landmarks of pose model ``complexity`` are cached."""
    from stream_pose_ml.demo_data import cache_dir

    return cache_dir() / "bench" / f"demo_{complexity}.npz"


def demo_landmarks(complexity: str = "full") -> PoseSequence:
    """The demo video's MediaPipe landmarks, ``(230, 33, 4)`` (a NaN frame: nobody detected).

    Extracted on first use (a few seconds of MediaPipe, video mode) and read from the cache
    afterwards.
    """
    from stream_pose_ml.demo_data import DEMO_FRAMES, demo_video_path
    from stream_pose_ml.keypoints import PoseSequence

    path = landmarks_cache_path(complexity)
    if path.is_file():
        sequence = PoseSequence.from_npz(path)
        if len(sequence) == DEMO_FRAMES and sequence.metadata.get("video") == "demo.mp4":
            return sequence
        logger.warning("%s is not the demo video's landmarks; extracting again", path)
    from stream_pose_ml.extraction.video_batch import extract_pose_sequence

    logger.info("extracting the demo video's landmarks (%s model) into %s", complexity, path)
    sequence = extract_pose_sequence(demo_video_path(), {"complexity": complexity})
    sequence.to_npz(path)
    return sequence


def build_model(folder: Path, window: int) -> Path:
    """An XGBoost bundle (``.zip``: 100 trees, depth 4) for ``window``-frame flattened windows,
    trained on synthetic poses."""
    import xgboost

    from stream_pose_ml.features import FeatureSpec, is_feature_column
    from stream_pose_ml.learning import save_bundle
    from stream_pose_ml.learning.synthetic import CLASS_LABELS, VALUE_MAP, synthetic_dataset

    spec = FeatureSpec(window=window, decimal_precision=4)
    table, _ = synthetic_dataset(n_videos=8, frames_per_video=70, spec=spec)
    table = table.dropna(subset=["weight_transfer_type"])
    columns = [c for c in table.columns if is_feature_column(c)]
    y = table["weight_transfer_type"].map(VALUE_MAP["weight_transfer_type"]).to_numpy()
    model = xgboost.XGBClassifier(n_estimators=100, max_depth=4, n_jobs=1)
    model.fit(table[columns], y)
    return save_bundle(
        folder / "xgb_bundle.zip", model, columns, feature_spec=spec, class_labels=CLASS_LABELS
    )


def pose_frames(n: int, seed: int = 0) -> np.ndarray:
    """``(n, 33, 4)`` float32 synthetic frames of a standing person (normalized x, y)."""
    from stream_pose_ml.learning.synthetic import synthetic_sequence

    classes = np.where(np.arange(n) % 40 < 20, 0, 1)
    return synthetic_sequence(classes, np.random.default_rng(seed)).data.astype(np.float32)

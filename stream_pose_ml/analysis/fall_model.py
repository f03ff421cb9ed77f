"""The trained path of fall detection: per-window features as a table, a calibrated random
forest trained through `ModelBuilder` (whole videos kept on one side of every split), and
labels from the public fall datasets' formats (docs/analysis.md).

The table has one row per frame with a pose (the window ending there): ``video_id``,
``frame_number``, ``time_s``, the `FALL_FEATURES` columns, and ``fall`` (1 or 0). Labels come
per frame (CAUCAFall's per-image labels, UR Fall's per-frame "falling"/"lying" codes) or per
sequence (a recording that is a fall, or an activity of daily living): a sequence-level fall
marks as positive the windows ending within ``positive_s`` after the onset of its fastest
descent, since the label does not say when the fall happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stream_pose_ml.analysis.analyzer import sequence_times
from stream_pose_ml.analysis.events import AnalysisInputError
from stream_pose_ml.analysis.falls import FALL_FEATURES, FallAnalyzer, FallParams
from stream_pose_ml.keypoints.sequence import PoseSequence

LABEL = "fall"


@dataclass(frozen=True)
class FallRecording:
    """One recording to learn from: ``frame_labels`` ``(frames,)`` bool (True: falling), or a
    sequence-level ``is_fall``; exactly one of the two."""

    sequence: PoseSequence
    video_id: str
    frame_labels: Sequence[bool] | np.ndarray | None = None
    is_fall: bool | None = None


def fall_feature_table(
    recordings: Iterable[FallRecording], params: FallParams | None = None, positive_s: float = 1.0
) -> pd.DataFrame:
    """The window features and labels of ``recordings`` (see the module docstring)."""
    rows: list[dict[str, Any]] = []
    for recording in recordings:
        if (recording.frame_labels is None) == (recording.is_fall is None):
            raise AnalysisInputError(
                f"{recording.video_id}: give frame_labels or is_fall, exactly one of them"
            )
        sequence = recording.sequence
        labels = None
        if recording.frame_labels is not None:
            labels = np.asarray(recording.frame_labels, dtype=bool).reshape(-1)
            if labels.shape != (sequence.n_frames,):
                raise AnalysisInputError(
                    f"{recording.video_id}: {labels.size} frame labels for "
                    f"{sequence.n_frames} frames"
                )
        analyzer = FallAnalyzer(params)
        times = sequence_times(sequence)
        found: list[dict[str, Any]] = []
        for i in range(sequence.n_frames):
            row = sequence.data[i]
            if np.isnan(row[:, :2]).all():
                analyzer.update(None, times[i], int(sequence.frame_numbers[i]))
                continue
            analyzer.update(row, times[i], int(sequence.frame_numbers[i]), sequence.image_size)
            features = analyzer.window_features()
            item: dict[str, Any] = {
                "video_id": recording.video_id,
                "frame_number": int(sequence.frame_numbers[i]),
                "time_s": float(times[i]),
                **dict(zip(FALL_FEATURES, features.tolist(), strict=True)),
            }
            if labels is not None:
                item[LABEL] = int(labels[i])
            found.append(item)
        if labels is None:
            _label_sequence(found, bool(recording.is_fall), positive_s)
        rows += found
    return pd.DataFrame(rows)


def _label_sequence(rows: list[dict[str, Any]], is_fall: bool, positive_s: float) -> None:
    for row in rows:
        row[LABEL] = 0
    if not is_fall or not rows:
        return
    speeds = np.array([row["min_hip_velocity"] for row in rows], dtype=float)
    if not np.isfinite(speeds).any():
        return
    start = rows[int(np.nanargmin(speeds))]["time_s"]
    for row in rows:
        row[LABEL] = int(start <= row["time_s"] <= start + positive_s)


def train_fall_model(
    table: pd.DataFrame,
    output_dir: str | Path,
    n_estimators: int = 30,
    max_depth: int | None = 6,
    calibration: str = "sigmoid",
    calibration_folds: int = 3,
    random_state: int = 0,
    builder: Any = None,
) -> Any:
    """A random forest on `fall_feature_table` rows, probabilities calibrated on folds that
    keep whole videos apart, trained and evaluated through ``builder`` (a `ModelBuilder`, made
    quiet when None); the evaluation plots go to ``output_dir``. Returns the builder:
    ``builder.model`` is the classifier (``predict_proba`` over `FALL_FEATURES`),
    ``builder.report`` its evaluation on the test videos."""
    from stream_pose_ml.analysis.grouped_forest import train_grouped_forest

    return train_grouped_forest(
        table,
        FALL_FEATURES,
        LABEL,
        "fall windows",
        output_dir,
        {"n_estimators": n_estimators, "max_depth": max_depth},
        calibration,
        calibration_folds,
        random_state,
        builder,
    )

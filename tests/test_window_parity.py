"""One window definition: the live server's rows are the training path's rows, on real frames.

The training path is the documented one: a `Dataset` of a real MediaPipe sequence of the demo
video, `BuildAndFormatDatasetJob.format_dataset` with a segmentation strategy, a classifier fitted
on that table and saved as a bundle. The live path is `LiveService` fed the same frames one
message at a time, as a client sends them. Every live window must carry exactly the feature row
the training table holds for the window ending on the same frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from api_server import live_feature_rows
from sklearn.ensemble import RandomForestClassifier

from stream_pose_ml.datasets import Dataset
from stream_pose_ml.extraction.pose_estimator import PoseEstimator
from stream_pose_ml.features import cut_windows, sliding_windows, window_starts
from stream_pose_ml.features.columns import is_feature_column
from stream_pose_ml.jobs.build_and_format_dataset_job import BuildAndFormatDatasetJob
from stream_pose_ml.keypoints import PoseSequence
from stream_pose_ml.learning.bundle import save_bundle
from stream_pose_ml.serving import RollingWindow

pytestmark = pytest.mark.slow

N_FRAMES = 40
DEMO_SIZE = (1768, 994)


@pytest.fixture(scope="module")
def demo_sequence(demo_frames: list[np.ndarray]) -> PoseSequence:
    """The first frames of the demo video through real MediaPipe (lite, video mode)."""
    with PoseEstimator(complexity="lite", running_mode="video") as estimator:
        keypoints = [
            estimator.detect(rgb, round(i * 1000 / 30)) for i, rgb in enumerate(demo_frames)
        ][:N_FRAMES]
    seq = PoseSequence.from_mediapipe(keypoints, fps=30, image_size=DEMO_SIZE)
    assert seq.detected.all(), "the demo's first frames show a person"
    return seq


def training_table(seq: PoseSequence, strategy: str, window: int | None) -> pd.DataFrame:
    """The documented training path's table for one labelled video (two alternating labels)."""
    labels = ["up" if (i // 7) % 2 else "down" for i in range(len(seq))]
    dataset = Dataset.from_labels([seq], [{"arms": labels}], video_ids=["demo"])
    return BuildAndFormatDatasetJob().format_dataset(
        dataset=dataset,
        include_unlabeled_data=True,
        include_joints=True,
        segmentation_strategy=strategy,
        segmentation_window=window,
        segmentation_window_label="arms" if window else None,
    )


def live_features(tmp_path: Path, table: pd.DataFrame, seq: PoseSequence, stride: int):
    """``{frame_id: feature row}`` of a live session fed ``seq`` frame by frame, with a model
    fitted on ``table``."""
    columns = [c for c in table.columns if is_feature_column(c)]
    rows = table.dropna(subset=columns)
    model = RandomForestClassifier(n_estimators=5, random_state=0)
    model.fit(rows[columns].to_numpy(), rows["arms"])
    spec = table.attrs["feature_spec"]
    bundle = save_bundle(tmp_path / "bundle.zip", model, columns, feature_spec=spec)
    live, active = live_feature_rows(
        tmp_path, bundle, seq.data, DEMO_SIZE, overlap=spec["window"] - stride
    )
    assert (active.window_size, active.stride) == (spec["window"], stride)
    return live, columns


@pytest.mark.parametrize(
    ("strategy", "window"), [("none", None), ("flatten_into_columns", 5)], ids=["frames", "tiles"]
)
def test_live_rows_equal_the_training_tables_rows(
    tmp_path: Path, demo_sequence: PoseSequence, strategy: str, window: int | None
) -> None:
    table = training_table(demo_sequence, strategy, window)
    size = window or 1
    live, columns = live_features(tmp_path, table, demo_sequence, stride=size)
    expected_ends = [int(s) + size - 1 for s in window_starts(N_FRAMES, size, size)]
    assert sorted(live) == expected_ends == table["frame_number"].tolist()
    for frame_number, row in zip(table["frame_number"], table[columns].to_numpy(), strict=True):
        np.testing.assert_array_equal(live[int(frame_number)], row, err_msg=f"{frame_number}")


@pytest.mark.parametrize(("size", "stride"), [(1, 1), (5, 1), (5, 2), (6, 6)])
def test_rolling_windows_are_the_recorded_windows(
    demo_sequence: PoseSequence, size: int, stride: int
) -> None:
    data = demo_sequence.data
    window = RollingWindow(size, stride)
    got = [window.push(data[i : i + 3], np.arange(i, i + 3), np.zeros(3)) for i in range(0, 39, 3)]
    got.append(window.push(data[39:], np.array([39]), np.zeros(1)))
    live = np.concatenate([due.data for due in got])
    recorded = sliding_windows(demo_sequence, size, stride)
    np.testing.assert_array_equal(live, recorded)
    starts = window_starts(N_FRAMES, size, stride)
    np.testing.assert_array_equal(recorded, cut_windows(data, starts, size, copy=True))
    ends = np.concatenate([due.frame_ids for due in got])
    np.testing.assert_array_equal(ends, starts + size - 1)

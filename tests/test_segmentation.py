"""Segmentation strategies on a small hand-made dataset, with exact expected rows."""

from __future__ import annotations

import numpy as np
import pytest

from stream_pose_ml.datasets import Dataset, SegmentationError, SegmentationOptions, segment
from stream_pose_ml.datasets.segmentation import (
    STRATEGIES,
    Windows,
    make_windows,
    register_strategy,
    run_positions,
)
from stream_pose_ml.keypoints import PoseSequence

L, R, S, F = "Left Step", "Right Step", "Successful Weight Transfer", "Failure Weight Transfer"
_ = None

# Video "a", 12 frames (docs/segmentation.md uses the same example):
#   frame  0  1  2  3  4  5  6  7  8  9 10 11
#   step   -  L  L  L  R  R  -  R  R  R  L  L
#   wt     -  S  S  S  S  F  -  F  F  F  F  -
# Video "b", 4 frames, all L/S; its frames are dataset frames 12..15.
STEP_A = [_, L, L, L, R, R, _, R, R, R, L, L]
WT_A = [_, S, S, S, S, F, _, F, F, F, F, _]


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    sequences = [PoseSequence.empty(12, name="a"), PoseSequence.empty(4, name="b")]
    labels = [
        {"step_type": STEP_A, "weight_transfer_type": WT_A},
        {"step_type": [L] * 4, "weight_transfer_type": [S] * 4},
    ]
    return Dataset.from_labels(sequences, labels, video_ids=["a", "b"])


def rows(windows: Windows, dataset: Dataset) -> list[tuple]:
    """(video, first, last, step, wt) per row, frames local to the video, labels decoded."""
    local = windows.start - dataset.offsets[windows.video]
    steps = [dataset.categories[0][c] if c >= 0 else None for c in windows.labels[:, 0]]
    wts = [dataset.categories[1][c] if c >= 0 else None for c in windows.labels[:, 1]]
    return [
        (dataset.video_ids[v], int(a), int(a + n - 1), st, wt)
        for v, a, n, st, wt in zip(windows.video, local, windows.lengths, steps, wts, strict=True)
    ]


def run(dataset: Dataset, strategy: str, **options) -> Windows:
    return segment(dataset, strategy, SegmentationOptions(**options))


def test_registered_strategies():
    assert set(STRATEGIES) >= {
        "none",
        "split_on_label",
        "window",
        "flatten_into_columns",
        "flatten_on_example",
    }


def test_none_keeps_frames_labelled_in_every_class(dataset):
    windows = run(dataset, "none")
    assert rows(windows, dataset) == [
        ("a", 1, 1, L, S),
        ("a", 2, 2, L, S),
        ("a", 3, 3, L, S),
        ("a", 4, 4, R, S),
        ("a", 5, 5, R, F),
        ("a", 7, 7, R, F),
        ("a", 8, 8, R, F),
        ("a", 9, 9, R, F),
        ("a", 10, 10, L, F),
        ("b", 0, 0, L, S),
        ("b", 1, 1, L, S),
        ("b", 2, 2, L, S),
        ("b", 3, 3, L, S),
    ]
    assert not windows.flatten


def test_none_with_unlabeled_data_keeps_every_frame(dataset):
    windows = run(dataset, "none", include_unlabeled_data=True)
    assert windows.start.tolist() == list(range(16))
    assert windows.fixed_length == 1
    assert rows(windows, dataset)[0] == ("a", 0, 0, None, None)
    assert rows(windows, dataset)[11] == ("a", 11, 11, L, None)


def test_split_on_label_boundaries(dataset):
    windows = run(dataset, "split_on_label", splitter_label="step_type")
    # The last frame of each run stays in its own run (frame 3 is L, frame 5 is R).
    assert rows(windows, dataset) == [
        ("a", 1, 3, L, S),
        ("a", 4, 5, R, F),
        ("a", 7, 9, R, F),
        ("a", 10, 10, L, F),  # frame 11 lacks a weight transfer label
        ("b", 0, 3, L, S),  # does not merge with video a's last run
    ]
    assert windows.fixed_length is None


def test_split_on_label_with_unlabeled_data_and_window(dataset):
    windows = run(
        dataset, "split_on_label", splitter_label="step_type", include_unlabeled_data=True
    )
    assert [(r[1], r[2]) for r in rows(windows, dataset)] == [
        (1, 3),
        (4, 5),
        (7, 9),
        (10, 11),
        (0, 3),
    ]
    assert rows(windows, dataset)[3] == ("a", 10, 11, L, None)
    last_two = run(dataset, "split_on_label", splitter_label="step_type", window=2)
    assert [(r[0], r[1], r[2]) for r in rows(last_two, dataset)] == [
        ("a", 2, 3),
        ("a", 4, 5),
        ("a", 8, 9),
        ("a", 10, 10),  # a run shorter than the window is kept whole
        ("b", 2, 3),
    ]


def test_window_tiles_labelled_by_their_last_frame(dataset):
    windows = run(dataset, "window", window=3, window_label="weight_transfer_type")
    # Tiles 0-2, 3-5, 6-8, 9-11 of a and none of b (4 frames: 0-2 only, tail dropped);
    # 9-11 ends on a frame without a weight transfer label.
    assert rows(windows, dataset) == [
        ("a", 0, 2, L, S),
        ("a", 3, 5, R, F),
        ("a", 6, 8, R, F),
        ("b", 0, 2, L, S),
    ]
    assert windows.fixed_length == 3
    assert not windows.flatten
    assert windows.frame_indices().tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [12, 13, 14]]


def test_flatten_into_columns_uses_the_window_tiles(dataset):
    windows = run(dataset, "flatten_into_columns", window=3, window_label="weight_transfer_type")
    tiles = run(dataset, "window", window=3, window_label="weight_transfer_type")
    assert windows.flatten
    assert rows(windows, dataset) == rows(tiles, dataset)


def test_flatten_on_example_takes_the_end_of_each_run(dataset):
    windows = run(
        dataset,
        "flatten_on_example",
        splitter_label="step_type",
        window=2,
        window_label="weight_transfer_type",
    )
    assert windows.flatten
    assert rows(windows, dataset) == [
        ("a", 2, 3, L, S),
        ("a", 4, 5, R, F),
        ("a", 8, 9, R, F),
        ("b", 2, 3, L, S),
    ]  # the one-frame run at a:10 is shorter than the window and dropped


def test_to_frames_expands_windows_with_each_frames_labels(dataset):
    frames = run(dataset, "split_on_label", splitter_label="step_type", window=2).to_frames(dataset)
    assert frames.start.tolist() == [2, 3, 4, 5, 8, 9, 10, 14, 15]
    assert frames.fixed_length == 1
    assert rows(frames, dataset)[2] == ("a", 4, 4, R, S)  # its own label, not the run's last


def test_run_positions_count_within_runs(dataset):
    assert run_positions(dataset, 0).tolist() == [0, 1, 2, 3, 1, 2, 0, 1, 2, 3, 1, 2, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("strategy", "options", "message"),
    [
        ("split_on_label", {}, "needs segmentation_splitter_label"),
        ("window", {"window": 3}, "needs segmentation_window_label"),
        ("flatten_into_columns", {"window_label": "step_type"}, "needs segmentation_window"),
        ("flatten_on_example", {"splitter_label": "step_type"}, "needs segmentation_window"),
        ("split_on_label", {"splitter_label": "speed"}, "'speed' is not a label class"),
        ("window", {"window": 0, "window_label": "step_type"}, "positive number of frames"),
        ("sliding", {}, "unknown segmentation strategy 'sliding'"),
    ],
)
def test_bad_options(dataset, strategy, options, message):
    with pytest.raises(SegmentationError, match=message):
        run(dataset, strategy, **options)


def test_custom_strategy_by_name(dataset):
    @register_strategy("every_other_frame")
    def every_other(data: Dataset, options: SegmentationOptions) -> Windows:
        frames = np.arange(0, data.n_frames, 2)
        return make_windows(data, frames, frames + 1)

    try:
        assert run(dataset, "every_other_frame").start.tolist() == list(range(0, 16, 2))
    finally:
        del STRATEGIES["every_other_frame"]


def test_labels_outside_the_schema_are_refused():
    from stream_pose_ml.datasets import AnnotationSchema
    from stream_pose_ml.errors import AnnotationError

    schema = AnnotationSchema.from_dict(
        {
            "annotations_key": "a",
            "annotation_fields": {"label": "l", "start_frame": "s", "end_frame": "e"},
            "label_class_mapping": {L: "step_type", R: "step_type"},
        }
    )
    with pytest.raises(AnnotationError, match="'Hop'"):
        Dataset.from_labels([PoseSequence.empty(2)], [{"step_type": [L, "Hop"]}], schema=schema)

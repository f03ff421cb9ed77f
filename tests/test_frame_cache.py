"""Live rows made from cached per-frame features equal the transform's rows, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from stream_pose_ml.features import FeatureSpec, PoseFeatureTransform
from stream_pose_ml.serving.frame_cache import cached_rows
from stream_pose_ml.serving.window import RollingWindow


def frames(n: int, seed: int = 0) -> np.ndarray:
    data = np.random.default_rng(seed).random((n, 33, 4))
    data[7:8] = np.nan  # nobody detected
    data[11:12, 5:9] = np.nan  # some landmarks missing
    return data


@pytest.mark.parametrize(
    "spec",
    [
        FeatureSpec(window=6, decimal_precision=4),  # flattened, rounded
        FeatureSpec(window=5, window_mode="pool", vectors=True, joints=True),  # pooled
    ],
    ids=["flattened", "pooled"],
)
@pytest.mark.parametrize("stride", [1, 2, 5, 7])
def test_rows_from_cached_frames_equal_the_transform(spec: FeatureSpec, stride: int) -> None:
    transform = PoseFeatureTransform(spec).fit().with_input(image_size=(1280, 720))
    window = RollingWindow(spec.window, stride)
    data = frames(60)
    got, expected = [], []
    # messages of 1 to 4 frames, as batching clients send them
    for start, stop in [(0, 1), (1, 4), (4, 5), (5, 9), (9, 30), (30, 31), (31, 60)]:
        due = window.push(data[start:stop], np.arange(start, stop), np.arange(start, stop) * 33.0)
        got.append(cached_rows(transform, [due], (1, (1280, 720))))
        expected.append(transform.transform(due.data))
        assert len(due.features.by_position) <= spec.window + stride
    np.testing.assert_array_equal(np.concatenate(got), np.concatenate(expected))


def test_several_sessions_resets_and_another_image_size() -> None:
    spec = FeatureSpec(window=4)
    wide = PoseFeatureTransform(spec).fit().with_input(image_size=(1280, 720))
    square = wide.with_input(image_size=(500, 500))
    a, b = RollingWindow(4, 2), RollingWindow(4, 1)
    data_a, data_b = frames(20, 1), frames(20, 2)
    due_a = a.push(data_a[:10], np.arange(10), np.zeros(10))
    due_b = b.push(data_b[:10], np.arange(10), np.zeros(10))
    rows = cached_rows(wide, [due_a, due_b], (1, (1280, 720)))
    np.testing.assert_array_equal(rows, wide.transform(np.concatenate([due_a.data, due_b.data])))
    # the same window's later frames at another image size: nothing kept is reused
    due_a = a.push(data_a[10:14], np.arange(10, 14), np.zeros(4))
    np.testing.assert_array_equal(
        cached_rows(square, [due_a], (1, (500, 500))), square.transform(due_a.data)
    )
    # a reset (frames shed): positions restart, and the features of the old frames are gone
    b.reset()
    due_b = b.push(data_b[12:20], np.arange(12, 20), np.zeros(8))
    assert due_b.starts[0] == 0
    np.testing.assert_array_equal(
        cached_rows(wide, [due_b], (1, (1280, 720))), wide.transform(due_b.data)
    )


def test_no_due_windows_give_no_rows() -> None:
    transform = PoseFeatureTransform(FeatureSpec(window=4)).fit()
    due = RollingWindow(4, 1).push(frames(2), np.arange(2), np.zeros(2))
    rows = cached_rows(transform, [due], (1, None))
    assert rows.shape == (0, len(transform.get_feature_names_out()))


def test_frame_features_check_their_input() -> None:
    transform = PoseFeatureTransform(FeatureSpec(window=3)).fit()
    with pytest.raises(Exception, match="not \\(n, 33 landmarks, 4 channels\\)"):
        transform.frame_features(np.zeros((2, 3, 33, 4)))
    with pytest.raises(Exception, match="frame features of shape"):
        transform.rows_from_frame_features(np.zeros((2, 2, 5)))

"""RollingWindow cuts exactly the windows sliding_windows cuts offline, in any message sizes."""

from __future__ import annotations

import numpy as np
import pytest
from api_server import pose_frames

from stream_pose_ml.features import sliding_windows
from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.serving import RollingWindow


@pytest.mark.parametrize(
    ("size", "stride", "chunks"),
    [(1, 1, [1] * 20), (3, 1, [1] * 20), (5, 2, [3, 1, 7, 9]), (4, 4, [20]), (7, 3, [150])],
)
def test_due_windows_equal_the_offline_sliding_windows(size: int, stride: int, chunks: list[int]):
    frames = pose_frames(sum(chunks), seed=size)
    window = RollingWindow(size, stride)
    got, ids = [], []
    start = 0
    for n in chunks:
        due = window.push(
            frames[start : start + n],
            np.arange(start, start + n) + 100,
            np.arange(start, start + n) * 33.0,
        )
        got.append(due.data)
        ids.extend(due.frame_ids.tolist())
        np.testing.assert_array_equal(due.timestamps, (due.frame_ids - 100) * 33.0)
        start += n
    expected = sliding_windows(PoseSequence(data=frames), size, stride)
    np.testing.assert_array_equal(np.concatenate(got), expected)
    assert ids == [100 + size - 1 + i * stride for i in range(len(expected))]
    assert window.fill == min(size, start) and window.total == start
    np.testing.assert_array_equal(window.frames(), frames[-size:])


def test_memory_stays_bounded_and_reset_restarts_the_count() -> None:
    window = RollingWindow(3, 1)
    capacity = window._data.shape[0]
    frames = pose_frames(10, seed=1)
    for _ in range(100):
        window.push(frames, np.arange(10), np.zeros(10))
    assert window._data.shape[0] == capacity
    window.reset()
    assert window.fill == 0
    due = window.push(frames[:2], np.arange(2), np.zeros(2))
    assert len(due) == 0 and window.fill == 2


def test_skipped_frames_keep_the_schedule_and_no_window_spans_them() -> None:
    window = RollingWindow(4, 2)
    data = np.random.default_rng(5).random((20, 33, 4))
    due = window.push(data[:6], np.arange(6), np.zeros(6))
    assert due.frame_ids.tolist() == [3, 5]
    window.skip(3)  # frames 6, 7 and 8 were shed unread
    assert window.fill == 0
    due = window.push(data[9:15], np.arange(9, 15), np.zeros(6))
    # windows still end on every second frame from frame 3; the one ending at 11 would hold 8
    assert due.frame_ids.tolist() == [13]
    assert due.starts.tolist() == [10]
    np.testing.assert_array_equal(due.data[0], data[10:14])
    assert window.fill == 4

"""StrideBatcher: frames leave together exactly when a window is due, so no result is later."""

from __future__ import annotations

import numpy as np
import pytest
from api_server import pose_frames

from stream_pose_ml.features.windows import window_ends
from stream_pose_ml.serving import RollingWindow, parse_keypoints
from stream_pose_ml.serving.batching import StrideBatcher


@pytest.mark.parametrize(("size", "stride"), [(1, 1), (3, 1), (30, 5), (4, 4), (10, 3)])
def test_every_message_ends_on_a_due_frame_and_the_windows_are_the_same(size: int, stride: int):
    frames = pose_frames(47, seed=size)
    batcher = StrideBatcher(size, stride)
    live, sent, last_ids, windows = RollingWindow(size, stride), [], [], []
    for i, frame in enumerate(frames):
        held = batcher.add(frame, frame_id=i, timestamp=i * 33.0)
        if held is not None:
            batch = parse_keypoints(held.encode((1280, 720)))  # through the binary wire format
            due = live.push(batch.data, batch.frame_ids, batch.timestamps)
            sent.append(len(held))
            last_ids.append(int(held.frame_ids[-1]))
            windows.append(due.data)
            # the message completes a window: its result leaves when its last frame arrives
            assert len(due) >= 1 and int(due.frame_ids[-1]) == int(held.frame_ids[-1])
    assert last_ids == window_ends(0, 47, size, stride).tolist()
    assert sum(sent) + batcher.held == 47
    one_by_one = RollingWindow(size, stride).push(
        frames.astype(np.float32).astype(np.float64), np.arange(47), np.arange(47) * 33.0
    )
    np.testing.assert_array_equal(np.concatenate(windows), one_by_one.data)
    assert len(live.push(np.empty((0, 33, 4)), np.empty(0, np.int64), np.empty(0))) == 0
    if stride == 1:
        assert sent[1:] == [1] * (len(sent) - 1)  # stride 1: one frame per message


def test_a_cap_and_a_known_phase() -> None:
    frames = pose_frames(12, seed=1)
    capped = StrideBatcher(30, 5, max_frames=4)
    sizes = [len(h) for f in frames if (h := capped.add(f)) is not None]
    assert sizes == [4, 4, 4]  # a 30-frame first window still leaves in 4-frame messages
    mid = StrideBatcher(6, 3, frames_seen=4)  # the server already holds 4 frames
    assert mid.add(frames[0]) is None and len(mid.add(frames[1])) == 2  # frame 5 completes one
    assert mid.flush() is None and StrideBatcher(3, 1).flush() is None

"""The demo clip of the several-people extraction and dataset tests: 90 frames at half size
in which both people are in view (the man on the box, the woman walking across)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from stream_pose_ml.extraction.video import iter_frames

SIZE = (884, 496)  # half the demo's 1768 x 994
#: Demo frames 50-139: the woman enters at the right edge at frame 59 and walks to the left.
FIRST, N_FRAMES = 50, 90


def demo_clip(demo_video: Path) -> list[np.ndarray]:
    """Demo frames `FIRST` to `FIRST` + `N_FRAMES` - 1, resized to `SIZE`."""
    frames = iter_frames(demo_video, max_frames=FIRST + N_FRAMES)
    return [cv2.resize(rgb, SIZE) for index, rgb in frames if index >= FIRST]

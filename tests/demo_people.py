"""Who is who in the demo video (230 frames, 1768x994, 30 fps), for the several-people tests.

The demo holds a man on a box (upper half of the frame) and a woman walking across the lower
half from right to left; after frame 168 the man jumps down behind the box and comes back on
the ground to the right of her.
"""

from __future__ import annotations

import numpy as np

from stream_pose_ml.demo_data import DEMO_FPS, demo_video_path
from stream_pose_ml.extraction.pose_estimator import PoseEstimator
from stream_pose_ml.extraction.video import iter_frames

#: Last frame with the man on the box.
ON_THE_BOX_UNTIL = 168


def who(pose: np.ndarray, frame: int) -> str:
    """Who a detection is, by where it is: the man is in the upper half while on the box and
    to the right of the woman after he jumps down (she is leaving on the left by then)."""
    hip_x, hip_y = np.nanmean(pose[:, :2][23:25], axis=0)
    on_box = hip_y < 0.5
    return "man" if on_box or (frame > ON_THE_BOX_UNTIL and hip_x > 0.3) else "woman"


def detect_demo_people(every: int = 1, complexity: str = "full") -> dict[int, list[np.ndarray]]:
    """MediaPipe's people (``num_poses=2``, video mode, in MediaPipe's order) of every
    ``every``-th demo frame, by frame index: the frames a slower pose loop would see."""
    found = {}
    with PoseEstimator(num_poses=2, complexity=complexity) as estimator:
        for index, rgb in iter_frames(demo_video_path()):
            if index % every == 0:
                found[index] = estimator.detect_people(rgb, round(index * 1000 / DEMO_FPS))
    return found

"""Shared fixtures: the real demo video (fetched once from PyPI, then cached) and its frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from stream_pose_ml.demo_data import demo_video_path


@pytest.fixture(scope="session")
def demo_video() -> Path:
    """Path of the cached demo video: 230 frames, 30 fps, 1768 x 994, people moving."""
    return demo_video_path()


@pytest.fixture(scope="session")
def demo_frames(demo_video: Path) -> list[np.ndarray]:
    """Every demo frame as a read-only ``(994, 1768, 3)`` uint8 RGB array (about 1.2 GB)."""
    capture = cv2.VideoCapture(str(demo_video))
    frames: list[np.ndarray] = []
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            rgb.setflags(write=False)  # shared by every test of the session
            frames.append(rgb)
    finally:
        capture.release()
    assert frames, f"could not decode {demo_video}"
    return frames

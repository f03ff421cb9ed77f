"""Video decoding, colour order, containers, the original's contrast preprocessing (demo video)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from stream_pose_ml.errors import ExtractionError
from stream_pose_ml.extraction.video import (
    DEFAULT_FOURCC,
    VIDEO_EXTENSIONS,
    is_video_file,
    iter_frames,
    list_videos,
    opencv_threads,
    prefetch,
    preprocess_frame,
    probe_video,
    read_frames,
    write_video,
)

CONTAINERS = ["mp4", "mov", "avi", "mkv", "webm", "m4v"]


@pytest.fixture(scope="module")
def first_frames(demo_video: Path) -> list[np.ndarray]:
    """The first 12 demo frames as RGB, downscaled to 442 x 248 to keep encoding quick."""
    return [cv2.resize(rgb, (442, 248)) for rgb in read_frames(demo_video, max_frames=12)]


def test_probe_reports_the_demo_video_facts(demo_video: Path) -> None:
    info = probe_video(demo_video)
    assert info.path == demo_video
    assert info.fps == pytest.approx(30.0)
    assert info.frame_count == 230
    assert info.image_size == (1768, 994)
    assert info.duration_s == pytest.approx(230 / 30)
    assert info.codec  # the container names its codec


def test_iter_frames_yields_every_frame_as_rgb_converted_once(demo_video: Path) -> None:
    capture = cv2.VideoCapture(str(demo_video))
    ok, bgr = capture.read()
    capture.release()
    assert ok
    indices = []
    for index, rgb in iter_frames(demo_video):
        if index == 0:
            assert rgb.dtype == np.uint8 and rgb.shape == (994, 1768, 3)
            np.testing.assert_array_equal(rgb, bgr[..., ::-1])
        indices.append(index)
    assert indices == list(range(230))


def test_decoded_colour_order_is_rgb(tmp_path: Path) -> None:
    # Written with OpenCV directly (BGR), so a wrong conversion on read cannot cancel out.
    path = tmp_path / "red.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    red_in_bgr = np.zeros((48, 64, 3), np.uint8)
    red_in_bgr[..., 2] = 230
    for _ in range(3):
        writer.write(red_in_bgr)
    writer.release()
    frames = read_frames(path)
    assert len(frames) == 3
    mean = frames[0].reshape(-1, 3).mean(axis=0)
    assert mean[0] > 200 and mean[1] < 30 and mean[2] < 30


@pytest.mark.parametrize("container", CONTAINERS)
def test_every_common_container_decodes(
    container: str, first_frames: list[np.ndarray], tmp_path: Path
) -> None:
    path = write_video(tmp_path / f"clip.{container}", first_frames, fps=30.0)
    info = probe_video(path)
    assert info.image_size == (442, 248)
    assert info.fps == pytest.approx(30.0)
    assert info.codec.lower() in {DEFAULT_FOURCC[f".{container}"].lower(), "fmp4", "mp4v"}
    decoded = read_frames(path)
    assert len(decoded) == len(first_frames)
    # Lossy codecs: the picture survives, colour order included (swapped channels would differ
    # by far more on this footage).
    errors = [
        np.abs(a.astype(int) - b.astype(int)).mean()
        for a, b in zip(decoded, first_frames, strict=True)
    ]
    assert max(errors) < 10.0
    swapped = np.abs(decoded[0].astype(int) - first_frames[0][..., ::-1].astype(int)).mean()
    assert swapped > max(errors)


def test_max_frames_stops_early(demo_video: Path) -> None:
    assert [i for i, _ in iter_frames(demo_video, max_frames=5)] == [0, 1, 2, 3, 4]


def test_preprocess_is_the_original_clahe_on_lightness(first_frames: list[np.ndarray]) -> None:
    rgb = first_frames[0]
    # The original StreamPoseML ran this on OpenCV's BGR frame.
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB)
    lightness, a, b = cv2.split(lab)
    clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))
    original = cv2.cvtColor(cv2.merge([clahe.apply(lightness), a, b]), cv2.COLOR_LAB2BGR)

    out = preprocess_frame(rgb)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, original[..., ::-1])
    assert not np.array_equal(out, rgb)


def test_preprocess_raises_local_contrast() -> None:
    rng = np.random.default_rng(0)
    dull = (120 + rng.integers(0, 12, size=(128, 128, 1))).repeat(3, axis=2).astype(np.uint8)
    enhanced = preprocess_frame(dull)
    assert enhanced.std() > 2 * dull.std()


def test_preprocess_rejects_non_uint8_frames() -> None:
    with pytest.raises(ExtractionError, match="uint8"):
        preprocess_frame(np.zeros((8, 8, 3), np.float32))


def test_iter_frames_with_preprocess_matches_preprocess_frame(demo_video: Path) -> None:
    plain = read_frames(demo_video, max_frames=2)
    enhanced = read_frames(demo_video, preprocess=True, max_frames=2)
    for a, b in zip(plain, enhanced, strict=True):
        np.testing.assert_array_equal(preprocess_frame(a), b)


def test_missing_file_is_an_extraction_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(ExtractionError, match=r"not found.*nope\.mp4"):
        probe_video(missing)
    with pytest.raises(ExtractionError, match=r"nope\.mp4"):
        list(iter_frames(missing))


def test_garbage_file_is_an_extraction_error(tmp_path: Path) -> None:
    garbage = tmp_path / "broken.mp4"
    garbage.write_bytes(np.random.default_rng(1).bytes(50_000))
    with pytest.raises(ExtractionError, match=r"broken\.mp4"):
        list(iter_frames(garbage))


def test_truncated_file_is_an_extraction_error(
    first_frames: list[np.ndarray], tmp_path: Path
) -> None:
    whole = write_video(tmp_path / "whole.mp4", first_frames, fps=30.0).read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(whole[: len(whole) // 2])  # mp4v writes its index at the end
    with pytest.raises(ExtractionError, match=r"truncated\.mp4"):
        read_frames(truncated)


def test_list_videos_filters_sorts_and_limits(tmp_path: Path) -> None:
    for name in ["b.MP4", "a.webm", "c.mkv", "notes.txt", ".hidden.mp4", "d.json"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "folder.mp4").mkdir()
    assert [p.name for p in list_videos(tmp_path)] == ["a.webm", "b.MP4", "c.mkv"]
    assert [p.name for p in list_videos(tmp_path, limit=2)] == ["a.webm", "b.MP4"]
    assert is_video_file(tmp_path / "b.MP4") and not is_video_file(tmp_path / "notes.txt")
    assert {".webm", ".mp4", ".mov", ".avi", ".mkv", ".m4v"} <= VIDEO_EXTENSIONS
    with pytest.raises(ExtractionError, match="not found"):
        list_videos(tmp_path / "missing")


def test_write_video_needs_a_known_container(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"\.xyz"):
        write_video(tmp_path / "clip.xyz", [np.zeros((8, 8, 3), np.uint8)], fps=10.0)


def test_prefetch_keeps_order_and_passes_errors_on() -> None:
    assert list(prefetch(range(50), depth=3)) == list(range(50))

    def failing() -> Iterator[int]:
        yield 1
        raise ExtractionError("decoder broke")

    got = []
    with pytest.raises(ExtractionError, match="decoder broke"):
        for item in prefetch(failing()):
            got.append(item)
    assert got == [1]


def test_prefetch_closes_the_source_when_the_consumer_stops_early(demo_video: Path) -> None:
    closed = []

    def frames() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.append(True)

    for item in prefetch(frames(), depth=2):
        if item == 3:
            break
    assert closed == [True]
    # A real decoder too: stopping after one frame releases it without error.
    for index, rgb in prefetch(iter_frames(demo_video)):
        assert index == 0 and rgb.shape == (994, 1768, 3)
        break


def test_opencv_threads_sets_and_restores_the_pool_size() -> None:
    before = cv2.getNumThreads()
    with opencv_threads(1):
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == before
    with pytest.raises(RuntimeError), opencv_threads(1):
        raise RuntimeError
    assert cv2.getNumThreads() == before

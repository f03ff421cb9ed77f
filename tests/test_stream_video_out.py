"""The annotated video: real H.264 MP4 files written with PyAV, decoded back with PyAV, and
played in real headless Chromium (`tests/browser_video_check.mjs`)."""

from __future__ import annotations

import functools
import json
import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from stream_pose_ml.errors import StreamError
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_INDEX
from stream_pose_ml.stream.drawing import Mark, annotate, draw_skeleton
from stream_pose_ml.stream.frames import DEFAULT_FPS, Frame, SourceInfo
from stream_pose_ml.stream.sources import open_source
from stream_pose_ml.stream.video_out import TIME_BASE, AnnotatedVideoWriter

TICK = float(TIME_BASE)
REPO = Path(__file__).resolve().parents[1]
BROWSER_CHECK = REPO / "tests" / "browser_video_check.mjs"
logger = logging.getLogger(__name__)


def make_frame(index: int, pts_s: float, width: int = 320, height: int = 240) -> Frame:
    """A frame whose image is a gradient with a bright bar at a place given by its index."""
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 0] = np.linspace(0, 200, width, dtype=np.uint8)[None, :]
    image[..., 1] = np.linspace(0, 200, height, dtype=np.uint8)[:, None]
    x = (index * 7) % max(width - 8, 1)
    image[:, x : x + 8] = 255
    return Frame(index, pts_s, time.monotonic(), image)


def write_video(path: Path, times: list[float], width: int = 320, height: int = 240, **kw: Any):
    fps = kw.pop("fps", 30)
    with AnnotatedVideoWriter(path, width, height, fps, **kw) as writer:
        for i, t in enumerate(times):
            writer.write(make_frame(i, t, width, height))
    return writer


def decode(path: Path) -> tuple[list[float], list[np.ndarray], dict[str, Any]]:
    """Every frame's presentation time (s) and RGB image, decoded with PyAV, and the stream's
    properties (read before the file is closed: PyAV's stream objects die with it)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times, images = [], []
        for frame in container.decode(stream):
            times.append(float(frame.pts * stream.time_base))
            images.append(frame.to_ndarray(format="rgb24"))
        context = stream.codec_context
        info = {
            "codec": context.name,
            "pix_fmt": context.pix_fmt,
            "size": (context.width, context.height),
            "average_rate": stream.average_rate,
            "guessed_rate": stream.guessed_rate,
        }
        return times, images, info


def test_h264_yuv420p_faststart_and_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    writer = write_video(path, [i / 30 for i in range(45)])
    times, _, stream = decode(path)
    assert writer.frames_written == 45
    assert len(times) == 45
    assert stream["codec"] == "h264"
    assert stream["pix_fmt"] == "yuv420p"
    assert stream["size"] == (320, 240)
    assert stream["average_rate"] == 30
    data = path.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat"), "the index is not at the front"


def test_ntsc_rate_keeps_every_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "ntsc.mp4"
    rate = Fraction(30000, 1001)
    source_times = [float(i / rate) for i in range(90)]
    write_video(path, source_times, fps=float(rate))
    times, _, stream = decode(path)
    assert len(times) == 90
    assert np.abs(np.array(times) - source_times).max() <= TICK
    assert stream["average_rate"] == rate
    assert stream["guessed_rate"] == rate


def test_variable_frame_rate_keeps_every_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mp4"
    gaps = np.random.default_rng(7).uniform(0.012, 0.120, size=79)
    start = 12.345  # a stream joined midway: the output starts at 0
    source_times = list(start + np.concatenate([[0.0], np.cumsum(gaps)]))
    write_video(path, source_times, fps=25)
    times, _, _ = decode(path)
    assert len(times) == 80
    assert np.abs(np.array(times) - (np.array(source_times) - start)).max() <= TICK
    assert np.all(np.diff(times) > 0)


def test_time_that_does_not_increase_is_nudged_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "repeat.mp4"
    source_times = [0.0, 0.1, 0.1, 0.05, 0.2, 0.3]
    with caplog.at_level(logging.WARNING, logger="stream_pose_ml.stream.video_out"):
        writer = write_video(path, source_times)
    times, _, _ = decode(path)
    assert writer.nudged == 2
    assert len(times) == 6
    assert np.all(np.diff(times) > 0)
    assert times[2] == pytest.approx(0.1 + TICK, abs=TICK / 2)
    assert times[3] == pytest.approx(0.1 + 2 * TICK, abs=TICK / 2)
    assert sum("does not come after" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize(("width", "height"), [(321, 241), (320, 239), (17, 9)])
def test_odd_sizes_are_padded_to_even(tmp_path: Path, width: int, height: int) -> None:
    path = tmp_path / f"odd_{width}x{height}.mp4"
    write_video(path, [i / 30 for i in range(10)], width, height)
    times, images, stream = decode(path)
    assert len(times) == 10
    assert stream["size"] == (
        width + width % 2,
        height + height % 2,
    )
    if width > 100:
        source = make_frame(9, 0.3, width, height).image.astype(int)
        assert np.abs(images[9][:height, :width].astype(int) - source).mean() < 4


def test_frames_of_another_size_are_scaled(tmp_path: Path) -> None:
    path = tmp_path / "scaled.mp4"
    with AnnotatedVideoWriter(path, 320, 240, 30) as writer:
        writer.write(make_frame(0, 0.0, 640, 480))
        writer.write(make_frame(1, 1 / 30, 160, 120))
        writer.write(make_frame(2, 2 / 30, 320, 240))
    times, images, _ = decode(path)
    assert len(times) == 3
    assert all(image.shape == (240, 320, 3) for image in images)
    expected = cv2.resize(
        make_frame(0, 0.0, 640, 480).image, (320, 240), interpolation=cv2.INTER_AREA
    )
    assert np.abs(images[0].astype(int) - expected).mean() < 4


def test_bgr_frames_keep_their_colours(tmp_path: Path) -> None:
    path = tmp_path / "bgr.mp4"
    red_in_bgr = np.zeros((64, 64, 3), np.uint8)
    red_in_bgr[..., 2] = 220
    with AnnotatedVideoWriter(path, 64, 64, 30) as writer:
        for i in range(3):
            writer.write(Frame(i, i / 30, time.monotonic(), red_in_bgr, "bgr"))
    _, images, _ = decode(path)
    r, g, b = images[1][32, 32].astype(int)
    assert r > 180 and g < 40 and b < 40


def standing_pose() -> np.ndarray:
    """A person in the middle of the image, every landmark visible."""
    pose = np.full((33, 4), np.nan)
    places = {
        "nose": (0.5, 0.15),
        "left_shoulder": (0.6, 0.3),
        "right_shoulder": (0.4, 0.3),
        "left_elbow": (0.65, 0.45),
        "right_elbow": (0.35, 0.45),
        "left_wrist": (0.67, 0.6),
        "right_wrist": (0.33, 0.6),
        "left_hip": (0.57, 0.6),
        "right_hip": (0.43, 0.6),
        "left_knee": (0.58, 0.75),
        "right_knee": (0.42, 0.75),
        "left_ankle": (0.58, 0.9),
        "right_ankle": (0.42, 0.9),
    }
    for name, (x, y) in places.items():
        pose[BLAZEPOSE_INDEX[name]] = (x, y, 0.0, 0.99)
    return pose


def pixel(image: np.ndarray, x: float, y: float) -> np.ndarray:
    return image[round(y * image.shape[0]), round(x * image.shape[1])].astype(int)


def test_skeleton_is_drawn_in_the_video_where_the_landmarks_are(tmp_path: Path) -> None:
    gray = np.full((360, 480, 3), 90, np.uint8)
    pose = standing_pose()
    pose[BLAZEPOSE_INDEX["right_elbow"], 3] = 0.1  # not visible: its edges are not drawn
    path = tmp_path / "skeleton.mp4"
    with AnnotatedVideoWriter(path, 480, 360, 30) as writer:
        for i in range(5):
            writer.write(Frame(i, i / 30, time.monotonic(), gray), pose=pose)
    _, images, _ = decode(path)
    image = images[2]
    color = np.array((0, 255, 128))
    # The middle of the left upper arm and of the left shin carry the skeleton colour.
    for x, y in [(0.625, 0.375), (0.58, 0.825), (0.5, 0.6)]:
        assert np.abs(pixel(image, x, y) - color).max() < 40, (x, y, pixel(image, x, y))
    # The right upper arm (elbow not visible) and the background stay gray.
    for x, y in [(0.375, 0.375), (0.1, 0.1), (0.9, 0.5)]:
        assert np.abs(pixel(image, x, y) - 90).max() < 12, (x, y, pixel(image, x, y))
    assert np.array_equal(gray, np.full((360, 480, 3), 90, np.uint8)), "the frame was drawn on"


def test_people_labels_and_marks_are_drawn_on_a_copy() -> None:
    image = np.full((360, 640, 3), 90, np.uint8)
    image.setflags(write=False)
    second = standing_pose()
    second[:, 0] += 0.25
    drawn = annotate(
        image,
        people=[(1, standing_pose()), (2, second)],
        labels=[("arms_raised", 0.93)],
        marks=["knee valgus", Mark("trunk lean", "error")],
    )
    assert (image == 90).all()
    changed = np.abs(drawn.astype(int) - 90).max(axis=2) > 30
    assert changed[:60, :220].any(), "no label box in the top-left corner"
    assert changed[-80:, :260].any(), "no mark banner at the bottom"
    assert (drawn[0, :] == (230, 20, 20)).all() and (drawn[:, -1] == (230, 20, 20)).all()
    one = pixel(drawn, 0.375, 0.375)  # right upper arm of the first, left of the second
    two = pixel(drawn, 0.875, 0.375)
    assert not np.array_equal(one, two), "two people in the same colour"
    with pytest.raises(ValueError, match="read-only"):
        draw_skeleton(image, standing_pose())


def test_nan_and_far_off_landmarks_are_skipped() -> None:
    image = np.full((100, 100, 3), 90, np.uint8)
    pose = np.full((33, 4), np.nan)
    pose[BLAZEPOSE_INDEX["left_hip"]] = (1e12, -1e12, 0, 1)
    pose[BLAZEPOSE_INDEX["left_knee"]] = (0.5, 0.5, 0, 1)
    draw_skeleton(image, pose)  # the one edge goes off the image, nothing raises
    assert (image != 90).any()
    empty = np.full((100, 100, 3), 90, np.uint8)
    draw_skeleton(empty, np.full((33, 4), np.nan))
    assert (empty == 90).all()


def test_writing_after_close_raises(tmp_path: Path) -> None:
    writer = write_video(tmp_path / "closed.mp4", [0.0, 1 / 30])
    assert writer.closed
    writer.close()  # twice is fine
    with pytest.raises(StreamError, match="closed"):
        writer.write(make_frame(2, 2 / 30))


def test_bad_settings_and_frames_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StreamError, match="size"):
        AnnotatedVideoWriter(tmp_path / "a.mp4", 0, 240, 30)
    with pytest.raises(StreamError, match="fps"):
        AnnotatedVideoWriter(tmp_path / "a.mp4", 320, 240, float("nan"))
    with pytest.raises(StreamError, match="crf"):
        AnnotatedVideoWriter(tmp_path / "a.mp4", 320, 240, 30, crf=70)
    with pytest.raises(StreamError, match="encoder"):
        AnnotatedVideoWriter(tmp_path / "a.mp4", 320, 240, 30, preset="warp-speed")
    assert not (tmp_path / "a.mp4").exists()
    with pytest.raises(StreamError, match="cannot create"):
        AnnotatedVideoWriter(tmp_path / "missing" / "a.mp4", 320, 240, 30)
    with AnnotatedVideoWriter(tmp_path / "b.mp4", 320, 240, 30) as writer:
        with pytest.raises(StreamError, match="uint8"):
            writer.write(Frame(0, 0.0, 0.0, np.zeros((240, 320), np.uint8)))
        with pytest.raises(StreamError, match="presentation time"):
            writer.write(Frame(0, float("nan"), 0.0, np.zeros((240, 320, 3), np.uint8)))
        writer.write(make_frame(0, 0.0))
    times, _, _ = decode(tmp_path / "b.mp4")
    assert len(times) == 1


def test_an_error_midway_still_leaves_a_playable_file(tmp_path: Path) -> None:
    path = tmp_path / "partial.mp4"
    writer = AnnotatedVideoWriter(path, 320, 240, 30)
    with pytest.raises(RuntimeError, match="algorithm failed"), writer:
        for i in range(12):
            writer.write(make_frame(i, i / 30))
        raise RuntimeError("algorithm failed")
    assert writer.closed
    times, _, _ = decode(path)
    assert len(times) == 12


# -- the demo video, and Chromium -----------------------------------------------------------


def write_demo(path: Path, demo_video: Path, limit: int | None) -> dict[str, Any]:
    """The demo video's first ``limit`` frames (all: ``None``) through the writer, at full size,
    with a pose, a label and, on some frames, an error mark: its path, source times and info."""
    pose = standing_pose()
    source_times: list[float] = []
    with open_source(demo_video) as source:
        with AnnotatedVideoWriter.for_source(path, source.info) as writer:
            started = time.perf_counter()
            for frame in source.frames():
                marks = [Mark("knee valgus", "error")] if frame.index % 20 < 5 else []
                writer.write(frame, pose=pose, labels=[("arms_raised", 0.93)], marks=marks)
                source_times.append(frame.pts_s)
                if len(source_times) == limit:
                    break
            seconds = time.perf_counter() - started
        info = source.info
    count = len(source_times)
    logger.info("demo: %d frames decoded, drawn and encoded at %.1f fps", count, count / seconds)
    return {"path": path, "times": source_times, "info": info}


@pytest.fixture(scope="module")
def demo_annotated(tmp_path_factory: pytest.TempPathFactory, demo_video: Path) -> dict[str, Any]:
    """The first 60 frames of the demo video, annotated."""
    return write_demo(tmp_path_factory.mktemp("demo") / "demo_annotated.mp4", demo_video, 60)


def test_demo_video_has_as_many_frames_as_read(demo_annotated: dict[str, Any]) -> None:
    times, images, stream = decode(demo_annotated["path"])
    info = demo_annotated["info"]
    assert len(times) == len(demo_annotated["times"]) == 60
    assert np.abs(np.array(times) - demo_annotated["times"]).max() <= TICK
    assert stream["size"] == (1768, 994) == info.size
    assert stream["average_rate"] == 30
    assert images[0].shape == (994, 1768, 3)


@pytest.fixture(scope="module")
def video_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real HTTP server (thread) serving a folder: ``(base URL, folder)``."""
    folder = tmp_path_factory.mktemp("served")

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("http: " + format, *args)

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


def play_in_chromium(video_server: tuple[str, Path], path: Path) -> tuple[int, dict[str, Any]]:
    """Serves ``path`` and plays it in headless Chromium: the check's exit status and report."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the Chromium video check needs Node.js and Chromium")
    base, folder = video_server
    shutil.copy(path, folder / path.name)
    result = subprocess.run(
        [node, str(BROWSER_CHECK), f"{base}/{path.name}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    lines = result.stdout.strip().splitlines()
    if not lines:
        pytest.fail(
            f"the Chromium check printed nothing (exit {result.returncode}):\n{result.stderr}"
        )
    report = json.loads(lines[-1])
    if result.returncode == 2:
        pytest.fail(
            f"the Chromium check could not run: {report.get('setupError')}\n{result.stderr}"
        )
    return result.returncode, report


def test_annotated_demo_video_plays_in_chromium(
    video_server: tuple[str, Path], demo_annotated: dict[str, Any]
) -> None:
    status, report = play_in_chromium(video_server, demo_annotated["path"])
    assert status == 0, report
    assert report["played"] and report["error"] is None
    assert (report["videoWidth"], report["videoHeight"]) == (1768, 994)
    assert report["currentTime"] > 0
    assert report["duration"] == pytest.approx(60 / 30, abs=1 / 30)


def test_chromium_check_fails_for_video_chromium_cannot_play(
    video_server: tuple[str, Path], tmp_path: Path
) -> None:
    """What OpenCV's wheels write (MPEG-4 part 2 in MP4) does not play: the check can fail."""
    path = tmp_path / "opencv_mp4v.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30, (320, 240))
    assert writer.isOpened()
    for i in range(30):
        writer.write(make_frame(i, i / 30).image)
    writer.release()
    _, _, stream = decode(path)
    assert stream["codec"] == "mpeg4"
    status, report = play_in_chromium(video_server, path)
    assert status == 1, report
    assert not report["played"] and report["videoWidth"] == 0
    assert report["error"] is not None


def test_writer_for_a_source_without_a_rate_uses_the_default(tmp_path: Path) -> None:
    camera = SourceInfo(uri="0", kind="camera", live=True, width=64, height=48, fps=None)
    with AnnotatedVideoWriter.for_source(tmp_path / "camera.mp4", camera) as writer:
        assert writer.fps == DEFAULT_FPS and writer.size == (64, 48)
        writer.write(make_frame(0, 100.0, 64, 48))
    assert decode(tmp_path / "camera.mp4")[0] == [0.0]

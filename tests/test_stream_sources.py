"""Sources of the stream runner against real components: image files written by OpenCV, video
files written by PyAV, an HTTP and an RTSP server each run as its own process (`stream_servers`),
OpenCV's capture for the camera class. The RTSP server is GStreamer's (Debian packages
``gir1.2-gst-rtsp-server-1.0``, ``gstreamer1.0-plugins-base``, ``gstreamer1.0-plugins-good``,
run by the system Python, which has ``python3-gi``; ``scripts/test_prerequisites.sh`` installs
them).
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from stream_servers import (
    SYSTEM_PYTHON,
    assert_counting,
    collect,
    first_line,
    free_port,
    rtsp_server_available,
    stream_server,
    take,
    write_clip,
)

from stream_pose_ml.errors import SourceError, StreamError
from stream_pose_ml.stream.cameras import CameraSource, sane_fps
from stream_pose_ml.stream.frames import DEFAULT_FPS, Frame
from stream_pose_ml.stream.image_folder import ImageFolderSource, natural_key
from stream_pose_ml.stream.network import NetworkSource, ReconnectPolicy
from stream_pose_ml.stream.sources import FileSource, open_source

FAST_RETRY = ReconnectPolicy(initial_delay_s=0.1, factor=2.0, max_delay_s=0.5, max_attempts=20)


# -- image folders ---------------------------------------------------------------------------------
def write_images(folder: Path, numbers: list[int]) -> None:
    """PNGs ``frame_N.png`` whose pixel (0, 0) is BGR ``(N, 100, 200)``, 40x30."""
    folder.mkdir(exist_ok=True)
    for number in numbers:
        image = np.zeros((30, 40, 3), np.uint8)
        image[:, :] = (number, 100, 200)
        assert cv2.imwrite(str(folder / f"frame_{number}.png"), image)


def test_image_folder_natural_order_pts_and_colour(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    write_images(folder, [10, 2, 1, 33])
    (folder / "notes.txt").write_text("not an image")
    with open_source(folder, fps=10.0) as source:
        assert isinstance(source, ImageFolderSource)
        assert (source.info.kind, source.info.live, source.info.frame_count) == ("images", False, 4)
        assert source.info.size == (40, 30)
        frames = list(source.frames())
    assert [int(f.image[0, 0, 2]) for f in frames] == [1, 2, 10, 33]  # rgb: blue is last
    assert [f.pts_s for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert [int(v) for v in frames[0].image[0, 0]] == [200, 100, 1]
    with open_source(str(folder), color="bgr", size=(20, 16)) as source:
        frame = next(iter(source.frames()))
    assert source.info.fps == DEFAULT_FPS
    assert frame.image.shape == (16, 20, 3) and frame.color == "bgr"
    assert [int(v) for v in frame.image[5, 5]] == [1, 100, 200]
    assert sorted(["a10", "a2", "A1", "b"], key=natural_key) == ["A1", "a2", "a10", "b"]


def test_image_folder_errors_name_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    write_images(folder, [1, 2])
    (folder / "frame_3.png").write_bytes(b"not a png")
    with open_source(folder) as source, pytest.raises(SourceError, match=r"frame_3\.png"):
        list(source.frames())
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="no images in"):
        open_source(empty)


# -- dispatch --------------------------------------------------------------------------------------
def test_open_source_dispatches_and_refuses(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4")
    with open_source(str(clip)) as source:
        assert isinstance(source, FileSource) and source.info.kind == "file"
    with pytest.raises(SourceError, match="unknown URL scheme"):
        open_source("gopher://example/stream")
    with pytest.raises(SourceError, match=r"no such file or folder.*stream URL"):
        open_source(tmp_path / "missing.mp4")
    with pytest.raises(SourceError, match="cannot open camera 7"):
        open_source("7")  # no camera on this machine: OpenCV fails to open it
    with pytest.raises(SourceError, match="/dev/video9"):
        open_source("/dev/video9")


#: A codec PyAV's wheel encodes for each container the extraction job reads (VIDEO_EXTENSIONS).
CONTAINER_CODECS = {
    ".mp4": "libx264",
    ".m4v": "mpeg4",
    ".mov": "libx264",
    ".mkv": "libx264",
    ".webm": "libvpx",
    ".avi": "mjpeg",
    ".mpg": "mpeg1video",
    ".mpeg": "mpeg2video",
    ".ts": "mpeg2video",
    ".wmv": "wmv2",
    ".flv": "flv",
    ".3gp": "mpeg4",
    ".ogv": "libvpx",
}


def test_file_source_reads_every_container_the_extraction_job_reads(tmp_path: Path) -> None:
    from stream_pose_ml.extraction.video import VIDEO_EXTENSIONS

    assert set(CONTAINER_CODECS) == set(VIDEO_EXTENSIONS)
    for suffix, codec in CONTAINER_CODECS.items():
        clip = write_clip(tmp_path / f"clip{suffix}", count=10, codec=codec)
        with open_source(clip) as source:
            assert isinstance(source, FileSource) and source.info.fps == 25.0, suffix
            frames = list(source.frames())
        assert [f.index for f in frames] == list(range(10)), suffix
        assert [f.pts_s - frames[0].pts_s for f in frames] == pytest.approx(
            [i / 25 for i in range(10)], abs=1e-3
        ), suffix
        greys = [int(f.image[24, 32, 0]) for f in frames]
        assert all(abs(g - 16 * i) <= 6 for i, g in enumerate(greys)), (suffix, greys)


def test_file_source_close_from_another_thread_ends_frames(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", count=200)
    source = FileSource(clip)
    received: list[Frame] = []

    def read() -> None:
        for frame in source.frames():
            received.append(frame)
            time.sleep(0.002)

    reader = threading.Thread(target=read)
    reader.start()
    while len(received) < 10:
        time.sleep(0.001)
    source.close()
    reader.join(timeout=5)
    assert not reader.is_alive() and 10 <= len(received) < 200
    assert_counting(received)
    source.close()


# -- HTTP ------------------------------------------------------------------------------------------
def test_http_live_stream_from_a_local_server() -> None:
    with stream_server("http") as (port, _):
        url = f"http://127.0.0.1:{port}/live.ts"
        with open_source(url, size=(32, 24), reconnect=FAST_RETRY) as source:
            assert isinstance(source, NetworkSource)
            assert (source.info.kind, source.info.live, source.info.fps) == ("stream", True, 25.0)
            frames = take(source.frames(), 20)
    assert_counting(frames)
    assert frames[0].pts_s == 0.0
    assert frames[-1].pts_s == pytest.approx(19 / 25, abs=1e-6)
    assert frames[0].image.shape == (24, 32, 3)
    assert source.reconnects == 0


def test_http_file_by_progressive_download_is_not_live(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", count=12)
    server = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = first_line(server, timeout_s=15.0)
        port = int(line.split(" port ")[1].split()[0])
        with open_source(f"http://127.0.0.1:{port}/{clip.name}") as source:
            assert (source.info.live, source.info.frame_count) == (False, 12)
            streamed = list(source.frames())
    finally:
        server.kill()
        server.wait(timeout=10)
    with FileSource(clip) as file_source:
        local = list(file_source.frames())
    assert [f.pts_s for f in streamed] == [f.pts_s for f in local]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(streamed, local, strict=True))


def test_http_file_resumes_where_the_download_broke(tmp_path: Path) -> None:
    """The file server dies mid-download: the source reconnects, seeks, skips what it gave."""
    clip = write_clip(tmp_path / "clip.mp4", count=150)
    rate = str(clip.stat().st_size // 2)  # about 2 s for the whole file
    port = free_port()
    received: list[Frame] = []
    serve = ("file", port, sys.executable, "--path", str(clip), "--rate", rate)
    with stream_server(*serve) as (_, first):
        source = NetworkSource(f"http://127.0.0.1:{port}/clip.mp4", reconnect=FAST_RETRY)
        assert not source.info.live
        reader = threading.Thread(target=collect, args=(source.frames(), received, 10**6))
        reader.start()
        while len(received) < 20:
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=5)
    assert len(received) < 150
    with stream_server(*serve):
        reader.join(timeout=15)
        source.close()
    assert not reader.is_alive() and source.reconnects >= 1
    with FileSource(clip) as file_source:
        local = list(file_source.frames())
    assert [f.index for f in received] == [f.index for f in local]
    assert [f.pts_s for f in received] == pytest.approx([f.pts_s for f in local])
    assert all(np.array_equal(a.image, b.image) for a, b in zip(received, local, strict=True))


# -- RTSP ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rtsp_ready() -> None:
    problem = rtsp_server_available()
    assert problem is None, (
        "GStreamer's RTSP server is missing (apt-get install gir1.2-gst-rtsp-server-1.0 "
        f"gstreamer1.0-plugins-base gstreamer1.0-plugins-good python3-gi): {problem}"
    )


def test_rtsp_stream_from_a_local_server(rtsp_ready: None) -> None:
    with stream_server("rtsp", python=SYSTEM_PYTHON) as (port, _):
        url = f"rtsp://127.0.0.1:{port}/live"
        with open_source(url, color="bgr", reconnect=FAST_RETRY) as source:
            assert (source.info.live, source.info.codec, source.info.size) == (
                True,
                "mjpeg",
                (64, 48),
            )
            frames = take(source.frames(), 15)
    assert_counting(frames)
    assert frames[-1].pts_s == pytest.approx(14 / 25, abs=0.01)
    assert all(f.color == "bgr" and f.image.shape == (48, 64, 3) for f in frames)


def test_rtsp_close_from_another_thread_ends_frames(rtsp_ready: None) -> None:
    with stream_server("rtsp", python=SYSTEM_PYTHON) as (port, _):
        source = open_source(f"rtsp://127.0.0.1:{port}/live")
        received: list[Frame] = []
        reader = threading.Thread(target=lambda: received.extend(source.frames()))
        reader.start()
        time.sleep(0.5)
        started = time.monotonic()
        source.close()
        reader.join(timeout=5)
        assert not reader.is_alive() and time.monotonic() - started < 2.0
        assert len(received) > 3
        source.close()  # twice is fine


# -- reconnect and give-up -------------------------------------------------------------------------
def test_reconnects_when_the_server_restarts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="stream_pose_ml.stream.network")
    port = free_port()
    received: list[Frame] = []
    with stream_server("http", port) as (_, first):
        source = open_source(f"http://127.0.0.1:{port}/", reconnect=FAST_RETRY, read_timeout_s=2.0)
        assert isinstance(source, NetworkSource)
        reader = threading.Thread(target=collect, args=(source.frames(), received, 60))
        reader.start()
        while len(received) < 30:  # the first ~0.9 s arrive at once (FFmpeg's probing)
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)  # the server dies mid-stream
        first.wait(timeout=5)
    killed = time.monotonic()
    time.sleep(1.0)  # down a while: attempts are refused meanwhile
    with stream_server("http", port):
        reader.join(timeout=15)
        source.close()
    assert not reader.is_alive()
    stats = source.stats()
    assert source.reconnects == stats["reconnects"] == 1
    assert stats["frames"] == 60
    assert stats["failed_connection_attempts"] >= 2
    assert_counting(received)
    assert len(received) == 60
    gaps = np.diff([f.pts_s for f in received])
    assert gaps.max() == pytest.approx(1 / 25, abs=0.002)  # continued one frame after the last
    lost = next(i for i, f in enumerate(received) if f.received_s > killed + 1.0)
    assert received[lost].received_s - killed < 5.0
    assert "reconnected after" in caplog.text and "stream lost after frame" in caplog.text
    logging.getLogger(__name__).warning(
        "first frame %.2f s after the kill; stats %s", received[lost].received_s - killed, stats
    )


def test_a_stalled_stream_times_out_and_reconnects(caplog: pytest.LogCaptureFixture) -> None:
    """The server stops sending (SIGSTOP) but keeps the connection: the read timeout notices."""
    caplog.set_level(logging.WARNING, logger="stream_pose_ml.stream.network")
    received: list[Frame] = []
    with stream_server("http") as (port, server):
        source = NetworkSource(
            f"http://127.0.0.1:{port}/",
            read_timeout_s=1.0,
            open_timeout_s=1.0,
            reconnect=FAST_RETRY,
        )
        reader = threading.Thread(target=collect, args=(source.frames(), received, 50))
        reader.start()
        while len(received) < 25:
            time.sleep(0.01)
        server.send_signal(signal.SIGSTOP)
        stalled = time.monotonic()
        while "stream lost" not in caplog.text and time.monotonic() - stalled < 6.0:
            time.sleep(0.05)
        noticed_s = time.monotonic() - stalled
        server.send_signal(signal.SIGCONT)
        reader.join(timeout=15)
        source.close()
    assert not reader.is_alive() and len(received) == 50
    assert "no data for 1.0 s" in caplog.text
    assert 0.9 <= noticed_s < 4.0, noticed_s  # buffered frames first, then the 1 s timeout
    assert source.reconnects >= 1
    assert_counting(received)
    logging.getLogger(__name__).warning("stall noticed after %.2f s; %s", noticed_s, source.stats())


def test_rtsp_reconnects_when_the_server_restarts(rtsp_ready: None) -> None:
    port = free_port()
    received: list[Frame] = []
    with stream_server("rtsp", port, python=SYSTEM_PYTHON) as (_, first):
        source = open_source(f"rtsp://127.0.0.1:{port}/live", reconnect=FAST_RETRY)
        assert isinstance(source, NetworkSource)
        reader = threading.Thread(target=collect, args=(source.frames(), received, 40))
        reader.start()
        while len(received) < 15:
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=5)
    time.sleep(0.5)
    with stream_server("rtsp", port, python=SYSTEM_PYTHON):
        reader.join(timeout=15)
        source.close()
    assert not reader.is_alive() and len(received) == 40
    assert source.reconnects == 1
    assert_counting(received)
    assert np.diff([f.pts_s for f in received]).max() < 1.0  # continued, not the downtime
    logging.getLogger(__name__).warning("RTSP reconnect: %s", source.stats())


def test_gives_up_where_nothing_listens() -> None:
    url = f"http://127.0.0.1:{free_port()}/live"
    policy = ReconnectPolicy(initial_delay_s=0.1, factor=2.0, max_delay_s=0.4, max_attempts=4)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"gave up connecting after 4 attempt\(s\)") as caught:
        open_source(url, reconnect=policy)
    elapsed = time.monotonic() - started
    assert url in str(caught.value) and "refused" in str(caught.value).lower()
    assert 0.6 <= elapsed < 3.0, elapsed  # waits 0.1 + 0.2 + 0.4 s between the 4 attempts


def test_gives_up_after_the_total_time_on_a_silent_server() -> None:
    """A server that accepts but never answers: each attempt ends at the open timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/live"
        policy = ReconnectPolicy(initial_delay_s=0.1, max_attempts=None, give_up_after_s=1.5)
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"gave up connecting.*no stream within 0.5 s"):
            NetworkSource(url, open_timeout_s=0.5, read_timeout_s=0.5, reconnect=policy)
        elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 3.5, elapsed


def test_reconnect_policy_delays_and_validation() -> None:
    delays = ReconnectPolicy(initial_delay_s=0.5, factor=2.0, max_delay_s=3.0).delays()
    assert [next(delays) for _ in range(6)] == [0.0, 0.5, 1.0, 2.0, 3.0, 3.0]
    with pytest.raises(StreamError, match="factor"):
        ReconnectPolicy(factor=0.5)
    with pytest.raises(StreamError, match="max_attempts"):
        ReconnectPolicy(max_attempts=0)


# -- cameras (no camera here: OpenCV's capture reads a video file through the same class) ----------
def test_camera_class_reads_through_opencv_and_stops_on_close(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", count=40)
    camera = CameraSource(str(clip), size=(32, 24), color="rgb")
    assert (camera.info.kind, camera.info.live, camera.info.fps) == ("camera", True, 25.0)
    received: list[Frame] = []

    def read() -> None:
        for frame in camera.frames():
            received.append(frame)
            time.sleep(0.01)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.1)
    camera.close()  # from this thread, while the reader is in frames()
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert 0 < len(received) < 40
    assert_counting(received)
    assert received[0].pts_s == 0.0 and received[0].image.shape == (24, 32, 3)
    assert not camera._capture.isOpened()  # released


def test_camera_that_stops_delivering_is_an_error(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", count=5)
    with CameraSource(str(clip), color="bgr", max_failed_reads=3) as camera:
        received: list[Frame] = []
        with pytest.raises(SourceError, match="gave no frame in 3 reads"):
            received.extend(camera.frames())
    assert len(received) == 5
    grey = int(received[2].image[0, 0, 0])
    assert abs(grey - 32) <= 3  # frame 2 of the clip, in order


class _CameraReportingNoFps(CameraSource):
    def _reported_fps(self) -> float:
        return 0.0


def test_camera_reporting_no_fps_gets_the_default(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="stream_pose_ml.stream.cameras")
    clip = write_clip(tmp_path / "clip.mp4", count=3)
    with _CameraReportingNoFps(str(clip)) as camera:
        assert camera.info.fps == DEFAULT_FPS
    assert "reports 0.0 fps; assuming 30 fps" in caplog.text
    assert sane_fps(float("nan"), 0) == DEFAULT_FPS and sane_fps(90000.0, 0) == DEFAULT_FPS
    assert sane_fps(29.97, 0) == 29.97

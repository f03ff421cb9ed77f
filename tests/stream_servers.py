"""Local stream servers for the source tests, each run as its own process by the tests.

``http PORT``: a live MPEG-TS stream over HTTP (Python's ``http.server``; each GET is sent its own
stream, encoded by PyAV at real-time pace). ``file PORT --path P --rate B``: one file, slowly
(``B`` bytes/s), with ``Range`` requests. ``rtsp PORT``: a live RTSP stream (Motion JPEG over
RTP) from GStreamer's RTSP server; it needs Debian's ``gir1.2-gst-rtsp-server-1.0``,
``gstreamer1.0-plugins-base`` and ``gstreamer1.0-plugins-good`` and runs under the system
Python (``/usr/bin/python3``, which has ``python3-gi``). Port 0 picks a free port. Each server
prints ``listening PORT`` once it accepts connections.

The tests' side is here too (`stream_server`, `write_clip`, ...). This module imports only the
standard library at the top, so that the system Python can run it.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stream_pose_ml.stream.frames import Frame

SERVERS = Path(__file__)
SYSTEM_PYTHON = "/usr/bin/python3"


def announce(port: int) -> None:
    """The line the tests wait for: the server accepts connections on ``port``."""
    sys.stdout.write(f"listening {port}\n")
    sys.stdout.flush()


def serve_http(port: int, fps: int, width: int, height: int) -> None:
    """A live MPEG-TS (MPEG-2 video) stream per GET, paced at ``fps``, until the client leaves."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import av
    import numpy as np

    class LiveStream(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # no length: the stream goes on until the connection ends

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp2t")
            self.end_headers()
            output: Any = av.open(self.wfile, "w", format="mpegts")
            stream = output.add_stream("mpeg2video", rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            started = time.monotonic()
            try:
                for index in range(10**9):
                    image = np.full((height, width, 3), (index * 8) % 256, np.uint8)
                    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                    frame.pts = index
                    for packet in stream.encode(frame):
                        output.mux(packet)
                    self.wfile.flush()
                    time.sleep(max(0.0, started + (index + 1) / fps - time.monotonic()))
            except (BrokenPipeError, ConnectionResetError, av.FFmpegError):
                pass  # the client went away

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), LiveStream)
    server.daemon_threads = True
    announce(server.server_address[1])
    server.serve_forever()


def serve_file(port: int, path: str, bytes_per_s: int) -> None:
    """One file over HTTP at ``bytes_per_s``, with ``Range`` requests (so FFmpeg can seek)."""
    import os
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    size = os.path.getsize(path)
    chunk = max(1, bytes_per_s // 20)

    class SlowFile(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            start = 0
            asked = self.headers.get("Range", "")
            if asked.startswith("bytes="):
                start = int(asked[len("bytes=") :].split("-")[0] or 0)
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.end_headers()
                return
            self.send_response(206 if asked else 200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(size - start))
            if asked:
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.end_headers()
            with open(path, "rb") as file:
                file.seek(start)
                try:
                    while data := file.read(chunk):
                        self.wfile.write(data)
                        self.wfile.flush()
                        time.sleep(0.05)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), SlowFile)
    server.daemon_threads = True
    announce(server.server_address[1])
    server.serve_forever()


def serve_rtsp(port: int, fps: int, width: int, height: int) -> None:
    """GStreamer's RTSP server with one live mount, ``/live`` (test pattern as Motion JPEG)."""
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        "( videotestsrc is-live=true pattern=ball ! "
        f"video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 ! "
        "jpegenc ! rtpjpegpay name=pay0 pt=26 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/live", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on port {port}")
    announce(server.get_bound_port())
    GLib.MainLoop().run()


# -- the tests' side ------------------------------------------------------------------------------
@contextmanager
def stream_server(
    kind: str, port: int = 0, python: str = sys.executable, *options: str
) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """Run ``stream_servers.py KIND PORT OPTIONS`` until the block ends; yields (port, process)."""
    process = subprocess.Popen(
        [python, str(SERVERS), kind, str(port), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = first_line(process, timeout_s=15.0)
        assert line.startswith("listening"), f"{kind} server did not start: {line!r}"
        yield int(line.split()[1]), process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def first_line(process: subprocess.Popen[str], timeout_s: float) -> str:
    """The process's first line of output, or AssertionError with its stderr after the timeout."""
    lines: list[str] = []
    stdout: Any = process.stdout
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not lines or not lines[0]:
        process.kill()
        _, err = process.communicate(timeout=10)
        raise AssertionError(f"server gave no 'listening' line in {timeout_s} s: {err[-2000:]}")
    return lines[0]


def free_port() -> int:
    """A port nothing listens on now (the OS's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def take(source_frames: Iterator[Frame], count: int) -> list[Frame]:
    """The next ``count`` frames (fewer if the source ends)."""
    frames = []
    for frame in source_frames:
        frames.append(frame)
        if len(frames) == count:
            break
    return frames


def collect(source_frames: Iterator[Frame], into: list[Frame], count: int) -> None:
    """Append frames to ``into`` as they come (for a reader thread), ``count`` at most."""
    for frame in source_frames:
        into.append(frame)
        if len(into) == count:
            return


def assert_counting(frames: list[Frame], first_index: int = 0) -> None:
    """Indices go up by one with no repeat; pts strictly increase."""
    import numpy as np

    assert [f.index for f in frames] == list(range(first_index, first_index + len(frames)))
    pts = np.array([f.pts_s for f in frames])
    assert np.all(np.diff(pts) > 0), pts


def write_clip(
    path: Path,
    count: int = 12,
    fps: int = 25,
    size: tuple[int, int] = (64, 48),
    codec: str = "mpeg4",
) -> Path:
    """A short clip whose frame ``i`` is grey level ``i * 16`` (MP4s with fast start, for HTTP)."""
    from fractions import Fraction

    import av
    import numpy as np

    width, height = size
    options = {"movflags": "faststart"} if path.suffix in (".mp4", ".mov", ".m4v") else {}
    with av.open(str(path), "w", options=options) as output:
        stream = output.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for index in range(count):
            image = np.full((height, width, 3), (index * 16) % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return path


def rtsp_server_available() -> str | None:
    """Why GStreamer's RTSP server cannot run here, or None."""
    probe = (
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
        "from gi.repository import Gst, GstRtspServer; Gst.init(None);"
        "assert all(Gst.ElementFactory.find(e) for e in ('videotestsrc', 'jpegenc', 'rtpjpegpay'))"
    )
    try:
        result = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=30)
    except FileNotFoundError:
        return f"{SYSTEM_PYTHON} not found"
    return None if result.returncode == 0 else result.stderr.decode()[-500:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("http", "rtsp", "file"))
    parser.add_argument("port", type=int)
    parser.add_argument("--path", help="file: the file to serve")
    parser.add_argument("--rate", type=int, default=50_000, help="file: bytes per second")
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--size", default="64x48", help="WIDTHxHEIGHT")
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    if args.kind == "file":
        serve_file(args.port, args.path, args.rate)
    else:
        serve = serve_http if args.kind == "http" else serve_rtsp
        serve(args.port, args.fps, width, height)


if __name__ == "__main__":
    main()

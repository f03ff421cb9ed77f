"""Sources of the stream runner, and `open_source`, which picks the kind from what it is given.

Video files are decoded with PyAV (FFmpeg), which gives every frame its presentation timestamp from
the container, so 29.97 fps and variable-frame-rate files keep their true times. Image folders,
cameras and network streams live in their own modules (`image_folder`, `cameras`, `network`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from stream_pose_ml.errors import SourceError
from stream_pose_ml.stream.cameras import CameraSource
from stream_pose_ml.stream.frames import (
    DEFAULT_FPS,
    Closing,
    ColorOrder,
    Frame,
    FrameSource,
    SourceInfo,
)
from stream_pose_ml.stream.image_folder import ImageFolderSource
from stream_pose_ml.stream.network import STREAM_SCHEMES, NetworkSource, ReconnectPolicy

__all__ = [
    "STREAM_SCHEMES",
    "CameraSource",
    "FileSource",
    "ImageFolderSource",
    "NetworkSource",
    "ReconnectPolicy",
    "open_source",
]

logger = logging.getLogger(__name__)


def _pix_format(color: ColorOrder) -> str:
    return "rgb24" if color == "rgb" else "bgr24"


class FileSource(Closing):
    """Frames of a video file, in presentation order, with the container's timestamps.

    ``size`` ``(width, height)`` scales every frame (FFmpeg's scaler, during colour conversion);
    ``None`` keeps the file's size. ``pts_s`` is measured from the stream's start time, so the
    first frame is at (or near) 0.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        size: tuple[int, int] | None = None,
        color: ColorOrder = "rgb",
        threads: int = 0,
    ) -> None:
        import av

        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"video file not found: {self.path}")
        try:
            self._container: Any = av.open(str(self.path))
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise SourceError(f"cannot open {self.path} as a video: {exc}") from exc
        if not self._container.streams.video:
            self._container.close()
            raise SourceError(f"{self.path} has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        if threads:
            self._stream.thread_count = int(threads)
        self._color: ColorOrder = color
        self._size = size
        ctx = self._stream.codec_context
        rate = self._stream.average_rate or self._stream.guessed_rate
        width, height = size or (int(ctx.width), int(ctx.height))
        self.info = SourceInfo(
            uri=str(self.path),
            kind="file",
            live=False,
            width=int(width),
            height=int(height),
            fps=float(rate) if rate else None,
            frame_count=int(self._stream.frames) or None,
            codec=str(ctx.name),
        )
        self._closed = False
        self._lock = threading.Lock()

    def frames(self) -> Iterator[Frame]:
        import av

        stream = self._stream
        base = Fraction(stream.time_base) if stream.time_base else None
        start = stream.start_time
        fmt = _pix_format(self._color)
        width, height = self._size or (None, None)
        fps = self.info.fps or DEFAULT_FPS
        index = 0
        decoded = self._container.decode(stream)
        try:
            while True:
                with self._lock:  # close() from another thread waits for this frame
                    if self._closed:
                        return
                    frame = next(decoded, None)
                    if frame is None:
                        break
                    # BT.601 whatever the file's tag, as OpenCV (and so the extraction job)
                    # decodes: the same video gives the same pixels and landmarks on both paths.
                    image = frame.to_ndarray(
                        format=fmt, width=width, height=height, src_colorspace="ITU601"
                    )
                if frame.pts is None or base is None:
                    pts_s = index / fps
                else:
                    pts_s = float((frame.pts - (start or 0)) * base)
                yield Frame(index, pts_s, time.monotonic(), image, self._color)
                index += 1
        except av.FFmpegError as exc:
            if not self._closed:
                raise SourceError(f"{self.path}: decoding stopped at frame {index}: {exc}") from exc
        if index == 0:
            raise SourceError(f"no frame could be decoded from {self.path}")

    def close(self) -> None:
        """Close the file; `frames` ends. Safe to call twice and from another thread."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._container.close()


def open_source(
    source: str | int | Path,
    *,
    size: tuple[int, int] | None = None,
    color: ColorOrder = "rgb",
    fps: float | None = None,
    open_timeout_s: float = 10.0,
    read_timeout_s: float = 5.0,
    reconnect: ReconnectPolicy | None = None,
    rtsp_transport: Literal["tcp", "udp"] | None = "tcp",
    options: Mapping[str, str] | None = None,
) -> FrameSource:
    """Open ``source``, whichever kind it is:

    - a URL with one of `STREAM_SCHEMES`: a network stream (`NetworkSource`, with timeouts in
      seconds and reconnects under ``reconnect``, default `ReconnectPolicy()`; ``options`` are
      extra FFmpeg options);
    - a camera index (``0``, ``"0"``) or a device path (``/dev/video0``): a webcam
      (`CameraSource`; ``fps`` is asked of it);
    - a folder: its images in natural name order (`ImageFolderSource`, ``fps`` apart, default
      `DEFAULT_FPS`);
    - a file: a video in any container FFmpeg reads (`FileSource`).

    ``size`` scales frames to ``(width, height)``; ``color`` is the channel order of the images.
    Anything else, or a source that does not open, is a `SourceError` saying what was tried.
    """
    if isinstance(source, bool):
        raise SourceError(f"cannot open {source!r}: not a source")
    if isinstance(source, int):
        return CameraSource(source, size=size, color=color, fps=fps)
    text = str(source).strip()
    if not isinstance(source, Path):
        if text.lower().startswith(STREAM_SCHEMES):
            return NetworkSource(
                text,
                size=size,
                color=color,
                open_timeout_s=open_timeout_s,
                read_timeout_s=read_timeout_s,
                reconnect=reconnect,
                rtsp_transport=rtsp_transport,
                options=options,
            )
        if "://" in text:
            raise SourceError(
                f"cannot open {text!r}: unknown URL scheme (streams: {', '.join(STREAM_SCHEMES)})"
            )
        if text.isdigit():
            return CameraSource(int(text), size=size, color=color, fps=fps)
    path = Path(source)
    if path.is_dir():
        return ImageFolderSource(path, size=size, color=color, fps=fps)
    if path.is_char_device() or text.startswith("/dev/video"):
        return CameraSource(text, size=size, color=color, fps=fps)
    if path.is_file():
        return FileSource(path, size=size, color=color)
    raise SourceError(
        f"cannot open {text!r}: no such file or folder, and not a camera index, a device path "
        f"or a stream URL ({', '.join(STREAM_SCHEMES)})"
    )

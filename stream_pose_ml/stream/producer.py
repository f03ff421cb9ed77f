"""stream-infer's producers: how a `Player` opens its source, at what size and colour order.

``OpenCVProducer(width, height)`` decodes files with OpenCV, ``PyAVProducer(width, height)``
with PyAV (container timestamps on every frame); both open cameras and network streams through
``open_source``. As in stream-infer, frames come out in BGR order (``cv2.imread``'s) unless
``cvt_code`` says otherwise (``cv2.COLOR_BGR2RGB`` gives RGB; any other OpenCV conversion code
is applied to each frame).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stream_pose_ml.errors import SourceError
from stream_pose_ml.stream.frames import (
    DEFAULT_FPS,
    Closing,
    ColorOrder,
    Frame,
    FrameSource,
    SourceInfo,
)

logger = logging.getLogger(__name__)


class _Converted(Closing):
    """A source whose images go through an OpenCV colour conversion code."""

    def __init__(self, source: FrameSource, code: int) -> None:
        self._source, self._code = source, code
        self.info = source.info

    def frames(self) -> Iterator[Frame]:
        import cv2

        for frame in self._source.frames():
            image = cv2.cvtColor(frame.image, self._code)
            yield Frame(frame.index, frame.pts_s, frame.received_s, image, frame.color)

    def close(self) -> None:
        self._source.close()


class OpenCVFileSource(Closing):
    """A video file decoded by OpenCV; ``pts_s`` from ``CAP_PROP_POS_MSEC`` (the decoder's
    timestamp of the frame just read), falling back to ``index / fps``."""

    def __init__(
        self, path: str | Path, size: tuple[int, int] | None = None, color: ColorOrder = "bgr"
    ) -> None:
        from stream_pose_ml.errors import ExtractionError
        from stream_pose_ml.extraction.video import capture_info, open_capture

        try:
            self.path, self._capture = open_capture(path)
        except ExtractionError as exc:
            raise SourceError(str(exc)) from None
        video = capture_info(self.path, self._capture)
        self._size, self._color = size, color
        w, h = size or (video.width, video.height)
        self.info = SourceInfo(
            uri=str(self.path),
            kind="file",
            live=False,
            width=int(w),
            height=int(h),
            fps=video.fps,
            frame_count=video.frame_count,
        )
        self._closed = False

    def frames(self) -> Iterator[Frame]:
        import cv2

        fps = self.info.fps or DEFAULT_FPS
        index = 0
        while not self._closed:
            ok, bgr = self._capture.read()
            if not ok:
                break
            msec = self._capture.get(cv2.CAP_PROP_POS_MSEC)
            pts_s = (
                msec / 1000.0 if math.isfinite(msec) and (msec > 0 or index == 0) else index / fps
            )
            if self._size is not None and (bgr.shape[1], bgr.shape[0]) != self._size:
                bgr = cv2.resize(bgr, self._size, interpolation=cv2.INTER_AREA)
            image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if self._color == "rgb" else bgr
            yield Frame(index, pts_s, time.monotonic(), image, self._color)
            index += 1

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._capture.release()


class Producer:
    """Opens sources at ``width`` x ``height`` (None: the source's size) in BGR order, or as
    ``cvt_code`` converts them."""

    backend = "pyav"

    def __init__(self, width: int | None = None, height: int | None = None, cvt_code: Any = None):
        if (width is None) != (height is None):
            raise SourceError("give both width and height, or neither")
        for name, value in (("width", width), ("height", height)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise SourceError(f"{name} must be a positive integer, got {value!r}")
        self.width, self.height, self.cvt_code = width, height, cvt_code

    @property
    def size(self) -> tuple[int, int] | None:
        return None if self.width is None or self.height is None else (self.width, self.height)

    def _color_and_code(self) -> tuple[ColorOrder, int | None]:
        if self.cvt_code is None:
            return "bgr", None
        import cv2

        if self.cvt_code == cv2.COLOR_BGR2RGB:
            return "rgb", None
        return "bgr", int(self.cvt_code)

    def open(self, source: str | int | Path) -> FrameSource:
        from stream_pose_ml.stream.sources import open_source

        color, code = self._color_and_code()
        opened: FrameSource
        if self.backend == "opencv" and isinstance(source, (str, Path)) and Path(source).is_file():
            opened = OpenCVFileSource(source, self.size, color)
        else:
            opened = open_source(source, size=self.size, color=color)
        return opened if code is None else _Converted(opened, code)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.width}, {self.height})"


class PyAVProducer(Producer):
    """Decodes with PyAV: every frame's time from the container."""

    backend = "pyav"


class OpenCVProducer(Producer):
    """Decodes files with OpenCV (``cv2.VideoCapture``)."""

    backend = "opencv"

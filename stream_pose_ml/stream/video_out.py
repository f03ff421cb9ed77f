"""`AnnotatedVideoWriter`: frames with their pose, labels and marks drawn, as an H.264 MP4.

The file is what browsers play: H.264 (libx264, carried by PyAV's wheels, unlike OpenCV's),
yuv420p, with the index at the front (``movflags=+faststart``). Each frame keeps its own
presentation time (``Frame.pts_s``, shifted so that the first frame is at 0) at a 1/90000 s
resolution, so 29.97 fps and variable-frame-rate sources come out with their true timing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from stream_pose_ml.errors import StreamError
from stream_pose_ml.stream.drawing import DEFAULT_STYLE, DrawStyle, Label, Mark, Person, annotate
from stream_pose_ml.stream.frames import DEFAULT_FPS, Closing, Frame, SourceInfo

logger = logging.getLogger(__name__)

#: Time base of the written stream: 90 kHz, the MPEG clock (exact for 30000/1001 fps).
TIME_BASE = Fraction(1, 90000)


def rate_fraction(fps: float | Fraction) -> Fraction:
    """``fps`` as a fraction; 29.97002997... becomes exactly 30000/1001."""
    if isinstance(fps, Fraction):
        return fps
    return Fraction(fps).limit_denominator(1001)


class AnnotatedVideoWriter(Closing):
    """Writes `Frame` objects, annotated, to an H.264 MP4 at ``path``.

    ``width`` and ``height`` are the output size: frames of another size are scaled to it.
    H.264 in yuv420p needs even sizes, so an odd width or height is padded by one pixel (the
    edge repeated). ``fps`` is the nominal rate (written as the stream's frame rate and used for
    the last frame's duration); the timing itself comes from each frame's ``pts_s``. A frame
    whose time does not increase is moved one tick (1/90000 s) after the previous one
    (``nudged`` counts them). ``crf`` and ``preset`` are libx264's quality and speed settings;
    ``threads`` its thread count (0: libx264 decides).

    Not thread-safe: one thread writes. Use as a context manager, or call `close` to flush the
    encoder and finish the file.
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float | Fraction,
        *,
        crf: int = 23,
        preset: str = "veryfast",
        threads: int = 0,
        style: DrawStyle = DEFAULT_STYLE,
    ) -> None:
        import av
        from av.video.reformatter import ColorRange, Colorspace

        if int(width) < 1 or int(height) < 1:
            raise StreamError(f"video output size must be positive, got {width}x{height}")
        if not (isinstance(fps, Fraction) or math.isfinite(fps)) or fps <= 0:
            raise StreamError(f"video output fps must be a positive number, got {fps}")
        if not 0 <= int(crf) <= 51:
            raise StreamError(f"crf must be in 0..51 (lower is better quality), got {crf}")
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise StreamError(
                f"cannot create the video file {self.path}: no folder {self.path.parent}"
            )
        self.size = (int(width), int(height))
        self.encoded_size = (self.size[0] + self.size[0] % 2, self.size[1] + self.size[1] % 2)
        self.fps = rate_fraction(fps)
        self.style = style
        self.frames_written = 0
        self.nudged = 0
        self._frame_ticks = max(1, round(1 / (self.fps * TIME_BASE)))
        self._start_s: float | None = None
        self._last_tick = -1
        self._closed = False
        try:
            self._container: Any = av.open(
                str(self.path), "w", format="mp4", options={"movflags": "+faststart"}
            )
        except (av.FFmpegError, OSError) as exc:
            raise StreamError(f"cannot create the video file {self.path}: {exc}") from exc
        try:
            stream: Any = self._container.add_stream(
                "libx264", rate=self.fps, options={"crf": str(int(crf)), "preset": preset}
            )
            stream.width, stream.height = self.encoded_size
            stream.pix_fmt = "yuv420p"
            stream.time_base = TIME_BASE
            stream.codec_context.time_base = TIME_BASE
            stream.codec_context.colorspace = Colorspace.ITU601
            stream.codec_context.color_range = ColorRange.MPEG
            if threads:
                stream.codec_context.thread_count = int(threads)
            stream.codec_context.open()
        except (av.FFmpegError, ValueError) as exc:
            self._container.close()
            self.path.unlink(missing_ok=True)
            raise StreamError(f"cannot set up the H.264 encoder for {self.path}: {exc}") from exc
        self._stream = stream

    @classmethod
    def for_source(cls, path: str | Path, info: SourceInfo, **options: Any) -> AnnotatedVideoWriter:
        """A writer at the source's size and frame rate (`DEFAULT_FPS` when it reports none)."""
        return cls(path, info.width, info.height, info.fps or DEFAULT_FPS, **options)

    @property
    def closed(self) -> bool:
        return self._closed

    def write(
        self,
        frame: Frame,
        *,
        pose: np.ndarray | None = None,
        people: Sequence[Person] = (),
        labels: Sequence[Label] = (),
        marks: Sequence[Mark | str] = (),
    ) -> None:
        """Draw ``pose`` (one untracked person), ``people`` (``(track_id, landmarks)``),
        ``labels`` and ``marks`` on a copy of the frame (see `drawing.annotate`), then encode it
        at the frame's presentation time."""
        if self._closed:
            raise StreamError(f"the video writer of {self.path} is closed: cannot write frames")
        image = self._canvas(frame)
        annotate(
            image,
            pose=pose,
            people=people,
            labels=labels,
            marks=marks,
            style=self.style,
            copy=False,
        )
        self._encode(image, self._tick(frame))

    def _canvas(self, frame: Frame) -> np.ndarray:
        """The frame's image as a fresh, writeable RGB array of the output size."""
        image = frame.image
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise StreamError(
                f"frame {frame.index}: expected a (height, width, 3) uint8 image, "
                f"got {image.dtype} {image.shape}"
            )
        rgb = np.ascontiguousarray(frame.rgb())
        if frame.size != self.size:
            shrink = frame.size[0] > self.size[0] or frame.size[1] > self.size[1]
            interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            return cv2.resize(rgb, self.size, interpolation=interpolation)
        return rgb.copy() if rgb is image or not rgb.flags.writeable else rgb

    def _tick(self, frame: Frame) -> int:
        """The frame's pts in `TIME_BASE` ticks from the first frame, strictly increasing."""
        if not math.isfinite(frame.pts_s):
            raise StreamError(f"frame {frame.index} has no finite presentation time: {frame.pts_s}")
        if self._start_s is None:
            self._start_s = frame.pts_s
        tick = round((frame.pts_s - self._start_s) / TIME_BASE)
        if tick <= self._last_tick:
            if not self.nudged:
                logger.warning(
                    "%s: frame %d at %.6f s does not come after the previous frame; moved one "
                    "tick (1/90000 s) later (later such frames are moved too, counted in nudged)",
                    self.path,
                    frame.index,
                    frame.pts_s,
                )
            self.nudged += 1
            tick = self._last_tick + 1
        self._last_tick = tick
        return tick

    def _encode(self, image: np.ndarray, tick: int) -> None:
        import av

        width, height = self.size
        if self.encoded_size != self.size:
            pad_w, pad_h = self.encoded_size[0] - width, self.encoded_size[1] - height
            image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
        # OpenCV's conversion is BT.601 limited range like FFmpeg's scaler, and 3 to 4 times
        # faster on a full-HD frame; the stream is tagged with that matrix and range.
        yuv: np.ndarray = cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420)
        video_frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        video_frame.pts = tick
        video_frame.time_base = TIME_BASE
        video_frame.duration = self._frame_ticks
        try:
            for packet in self._stream.encode(video_frame):
                self._container.mux(packet)
        except (av.FFmpegError, OSError) as exc:
            raise StreamError(
                f"encoding frame {self.frames_written} of {self.path}: {exc}"
            ) from exc
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and finish the file. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        import av

        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        except av.FFmpegError as exc:
            raise StreamError(f"flushing the encoder of {self.path}: {exc}") from exc
        finally:
            self._container.close()
        if self.nudged:
            logger.warning("%s: %d frame(s) moved to keep times increasing", self.path, self.nudged)
        if not self.frames_written:
            logger.warning("%s: no frame was written; the file has no video to play", self.path)
        logger.info(
            "wrote %s: %d frames, %dx%d, %s fps nominal",
            self.path,
            self.frames_written,
            *self.size,
            self.fps,
        )

"""Video decoding to RGB frames, the original's contrast preprocessing, writing short clips.

OpenCV (with its bundled FFmpeg) decodes every common container: webm, mp4, mov, avi, mkv, m4v.
Frames come out as RGB ``uint8`` arrays of shape ``(height, width, 3)``: OpenCV decodes to BGR
and this module converts exactly once, so MediaPipe sees the colour order it was trained on.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np

from stream_pose_ml.errors import ExtractionError

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: File extensions (lower case, with the dot) treated as videos when scanning a folder.
VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".webm",
        ".mp4",
        ".m4v",
        ".mov",
        ".avi",
        ".mkv",
        ".mpg",
        ".mpeg",
        ".wmv",
        ".flv",
        ".3gp",
        ".ogv",
        ".ts",
    }
)

#: FourCC used by `write_video` for each container when no codec is given. These are the ones
#: the FFmpeg inside opencv-python can encode (it ships no H.264 encoder).
DEFAULT_FOURCC: dict[str, str] = {
    ".mp4": "mp4v",
    ".m4v": "mp4v",
    ".mov": "mp4v",
    ".avi": "MJPG",
    ".mkv": "mp4v",
    ".webm": "VP80",
}

#: The original StreamPoseML's contrast enhancement: CLAHE on the L channel of CIELAB.
CLAHE_CLIP_LIMIT = 3.0
CLAHE_TILE_GRID = (8, 8)


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video.

    ``fps`` and ``frame_count`` are ``None`` when the container does not say (browser-recorded
    webm files often have no duration); ``frame_count`` is the container's estimate, the
    decoded count can differ by a frame or two.
    """

    path: Path
    fps: float | None
    frame_count: int | None
    width: int
    height: int
    codec: str

    @property
    def image_size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return (self.width, self.height)

    @property
    def duration_s(self) -> float | None:
        if self.fps is None or self.frame_count is None:
            return None
        return self.frame_count / self.fps


def is_video_file(path: str | Path) -> bool:
    """A regular, non-hidden file whose extension is in `VIDEO_EXTENSIONS`."""
    path = Path(path)
    return (
        path.suffix.lower() in VIDEO_EXTENSIONS and not path.name.startswith(".") and path.is_file()
    )


def list_videos(directory: str | Path, limit: int | None = None) -> list[Path]:
    """Video files directly inside ``directory``, sorted by name, at most ``limit`` of them."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ExtractionError(f"video folder not found: {directory}")
    videos = sorted(p for p in directory.iterdir() if is_video_file(p))
    return videos if limit is None else videos[: max(int(limit), 0)]


def open_capture(path: str | Path) -> tuple[Path, cv2.VideoCapture]:
    """An opened OpenCV capture of the file at ``path`` (FFmpeg, one decoder thread)."""
    path = Path(path)
    if not path.is_file():
        raise ExtractionError(f"video file not found: {path}")
    # One decoder thread: as fast here as FFmpeg's default thread pool and about 15 % less CPU,
    # which matters when several videos are decoded at once.
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    if not capture.isOpened():
        capture.release()
        capture = cv2.VideoCapture(str(path))  # any other backend OpenCV has
    if not capture.isOpened():
        capture.release()
        raise ExtractionError(
            f"cannot open {path}: OpenCV/FFmpeg does not recognise it as a video "
            f"(the file may be corrupt or truncated; readable containers include "
            f"{', '.join(sorted(DEFAULT_FOURCC))})"
        )
    return path, capture


def capture_info(path: Path, capture: cv2.VideoCapture) -> VideoInfo:
    """What an opened capture says of its video (None where it does not know)."""
    fps = capture.get(cv2.CAP_PROP_FPS)
    count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC))
    codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ")
    return VideoInfo(
        path=path,
        fps=float(fps) if math.isfinite(fps) and 0 < fps < 10_000 else None,
        frame_count=int(count) if math.isfinite(count) and count > 0 else None,
        width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        codec=codec,
    )


def probe_video(path: str | Path) -> VideoInfo:
    """Container facts of a video without decoding it; `ExtractionError` if it cannot be opened."""
    path, capture = open_capture(path)
    try:
        return capture_info(path, capture)
    finally:
        capture.release()


def preprocess_frame(rgb: np.ndarray) -> np.ndarray:
    """The original StreamPoseML's contrast enhancement of one ``(h, w, 3)`` RGB ``uint8`` frame.

    CLAHE (clip limit 3, 8x8 tiles) on the lightness channel of CIELAB; colour is unchanged.
    Returns a new RGB ``uint8`` frame of the same shape.
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ExtractionError(f"expected an (h, w, 3) uint8 RGB frame, got {rgb.dtype} {rgb.shape}")
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP_LIMIT, tileGridSize=CLAHE_TILE_GRID)
    lab[..., 0] = clahe.apply(np.ascontiguousarray(lab[..., 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def iter_frames(
    path: str | Path, preprocess: bool = False, max_frames: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Decode a video to ``(frame_index, rgb)`` pairs, ``rgb`` of shape ``(h, w, 3)`` ``uint8``.

    ``frame_index`` counts decoded frames from 0. With ``preprocess`` each frame goes through
    `preprocess_frame`. Raises `ExtractionError` if the file cannot be opened or yields no frame.
    """
    path, capture = open_capture(path)
    index = 0
    try:
        while max_frames is None or index < max_frames:
            ok, bgr = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            yield index, preprocess_frame(rgb) if preprocess else rgb
            index += 1
    finally:
        capture.release()
    if index == 0 and max_frames != 0:
        raise ExtractionError(f"no frame could be decoded from {path}; the file may be corrupt")


@contextlib.contextmanager
def opencv_threads(count: int) -> Iterator[None]:
    """Run OpenCV's parallel loops on ``count`` threads inside the block, then restore.

    The setting is process-wide, so it also applies to other threads using OpenCV meanwhile.
    """
    previous = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def prefetch(items: Iterable[T], depth: int = 4) -> Prefetcher[T]:
    """Iterate over ``items`` while a background thread produces up to ``depth`` items ahead.

    OpenCV releases the GIL while decoding, so decoding the next frames overlaps with the
    caller's work on the current one (pose estimation). See `Prefetcher`.
    """
    return Prefetcher(items, depth)


class Prefetcher(Iterator[T]):
    """An iterator over ``items`` filled by a background thread, up to ``depth`` items ahead.

    The thread starts at once, so the first items are produced while the caller is still
    setting up. Errors raised by ``items`` are re-raised by ``next``. Use it as a context
    manager (or call `close`) to stop early and close ``items``.
    """

    def __init__(self, items: Iterable[T], depth: int = 4) -> None:
        self._done = True  # until the thread runs, so that __del__ has nothing to stop
        self._items = items
        self._buffer: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        # The thread holds no reference to self, so a dropped Prefetcher is collected (and
        # its __del__ stops the thread).
        self._thread = threading.Thread(
            target=_produce, args=(self._items, self._buffer, self._stop), daemon=True
        )
        self._thread.start()
        self._done = False

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        ok, item = self._buffer.get()
        if ok:
            return item
        self.close()
        if item is None:
            raise StopIteration
        raise item

    def close(self) -> None:
        """Stop the thread and close ``items`` (releasing a decoder); safe to call twice."""
        if self._done:
            return
        self._done = True
        self._stop.set()
        self._thread.join()
        close = getattr(self._items, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Prefetcher[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def _produce(
    items: Iterable[Any], buffer: queue.Queue[tuple[bool, Any]], stop: threading.Event
) -> None:
    """Prefetcher thread: put ``(True, item)`` per item, then ``(False, None | exception)``."""

    def put(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                buffer.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    try:
        for item in items:
            if not put((True, item)):
                return
        put((False, None))
    except BaseException as exc:  # handed to the consumer, raised there
        put((False, exc))


def read_frames(
    path: str | Path, preprocess: bool = False, max_frames: int | None = None
) -> list[np.ndarray]:
    """All decoded RGB frames of a video (see `iter_frames`), in order."""
    return [rgb for _, rgb in iter_frames(path, preprocess=preprocess, max_frames=max_frames)]


def write_video(
    path: str | Path, frames: Iterable[np.ndarray], fps: float, codec: str | None = None
) -> Path:
    """Encode RGB ``(h, w, 3)`` ``uint8`` frames; the container follows the file suffix.

    ``codec`` is a FourCC; by default the one `DEFAULT_FOURCC` gives for the suffix.
    """
    path = Path(path)
    fourcc = codec or DEFAULT_FOURCC.get(path.suffix.lower())
    if fourcc is None:
        raise ExtractionError(
            f"no default codec for {path.suffix!r}; pass codec= or use one of "
            f"{', '.join(sorted(DEFAULT_FOURCC))}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    writer: cv2.VideoWriter | None = None
    count = 0
    try:
        for rgb in frames:
            if writer is None:
                height, width = rgb.shape[:2]
                writer = cv2.VideoWriter(
                    str(path), cv2.VideoWriter.fourcc(*fourcc), float(fps), (width, height)
                )
                if not writer.isOpened():
                    raise ExtractionError(f"OpenCV cannot encode {fourcc!r} into {path}")
            writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            count += 1
    finally:
        if writer is not None:
            writer.release()
    if count == 0:
        raise ExtractionError(f"no frames to write to {path}")
    logger.debug("wrote %d frames to %s (%s)", count, path, fourcc)
    return path

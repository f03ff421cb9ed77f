"""`Frame` and `SourceInfo`: what every source of the stream runner yields, and says about itself.

A frame carries three clocks: its ``index`` in the source (every decoded frame counts, so a
schedule names frames exactly), its presentation time ``pts_s`` (from the container's
timestamps, so fractional and variable frame rates come out right), and ``received_s``, the
``time.monotonic()`` at which it was decoded (capture-to-result latency is measured from it).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Protocol, TypeVar

import numpy as np

ColorOrder = Literal["rgb", "bgr"]
SourceKind = Literal["file", "camera", "stream", "images"]

#: Frame rate assumed for a camera or image folder that reports none (or 0).
DEFAULT_FPS = 30.0


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: ``image`` ``(height, width, 3)`` uint8 in ``color`` order.

    ``position`` is its number among the frames played (those a target fps keeps; -1: not
    numbered yet, the runner sets it); window steps count played frames.
    """

    index: int
    pts_s: float
    received_s: float
    image: np.ndarray
    color: ColorOrder = "rgb"
    position: int = -1

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return (int(self.image.shape[1]), int(self.image.shape[0]))

    def rgb(self) -> np.ndarray:
        """The image in RGB order (a view when it already is)."""
        return self.image if self.color == "rgb" else self.image[..., ::-1]

    def bgr(self) -> np.ndarray:
        """The image in BGR order, as OpenCV draws and shows it (a view when it already is)."""
        return self.image if self.color == "bgr" else self.image[..., ::-1]


@dataclass(frozen=True)
class SourceInfo:
    """What a source says about itself once opened.

    ``fps`` is the nominal (average) rate, ``None`` when unknown; ``frame_count`` the container's
    estimate, ``None`` for live sources. ``live`` sources (cameras, network streams) are never
    paced by the runner: they deliver at their own rate.
    """

    uri: str
    kind: SourceKind
    live: bool
    width: int
    height: int
    fps: float | None = None
    frame_count: int | None = None
    codec: str = ""

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


class FrameSource(Protocol):
    """An opened source: ``info``, then its frames in presentation order, then ``close``."""

    info: SourceInfo

    def frames(self) -> Iterator[Frame]:
        """Decoded frames in order; ends at the end of a file (a live source ends on close)."""
        ...

    def close(self) -> None:
        """Release the decoder or device; ``frames()`` ends. Safe to call twice."""
        ...

    def __enter__(self) -> FrameSource: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


ClosingT = TypeVar("ClosingT", bound="Closing")


class Closing:
    """``with`` support for anything with a ``close()`` (sources, writers, result files)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: ClosingT) -> ClosingT:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def paced(frames: Iterable[Frame], stop: threading.Event) -> Iterator[Frame]:
    """``frames`` released at the pace of their presentation times, each with ``received_s``
    the moment it was released (a file played in real time); ends early when ``stop`` is set."""
    origin: float | None = None
    for frame in frames:
        if origin is None:
            origin = time.monotonic() - frame.pts_s
        delay = origin + frame.pts_s - time.monotonic()
        if delay > 0 and stop.wait(delay):
            return
        yield dataclasses.replace(frame, received_s=time.monotonic())

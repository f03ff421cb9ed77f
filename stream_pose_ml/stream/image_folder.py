"""A folder of images as a source: files in natural name order (``2.png`` before ``10.png``)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from stream_pose_ml.errors import SourceError
from stream_pose_ml.stream.frames import DEFAULT_FPS, Closing, ColorOrder, Frame, SourceInfo

logger = logging.getLogger(__name__)

#: File name endings read as images (case does not matter); other files are ignored.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def natural_key(name: str) -> tuple[object, ...]:
    """Sort key in which digit runs compare as numbers: ``frame2`` < ``frame10``."""
    parts = re.split(r"(\d+)", name.lower())
    return (*(int(part) if index % 2 else part for index, part in enumerate(parts)), name)


def image_files(folder: Path) -> list[Path]:
    """The images of ``folder`` (not its subfolders, no hidden files) in natural name order."""
    files = [
        path
        for path in folder.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and path.suffix.lower() in IMAGE_SUFFIXES
    ]
    return sorted(files, key=lambda path: natural_key(path.name))


class ImageFolderSource(Closing):
    """The images of a folder as frames ``index / fps`` seconds apart (not live).

    Every frame has ``size`` ``(width, height)``: the one given, else the first image's (later
    images of another size are scaled to it). An image that does not decode is a `SourceError`
    naming the file.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        size: tuple[int, int] | None = None,
        color: ColorOrder = "rgb",
        fps: float | None = None,
    ) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise SourceError(f"image folder not found: {self.folder}")
        if fps is not None and not fps > 0:
            raise SourceError(f"{self.folder}: fps must be positive, not {fps}")
        self.files = image_files(self.folder)
        if not self.files:
            raise SourceError(
                f"no images in {self.folder} (looked for {', '.join(IMAGE_SUFFIXES)})"
            )
        self._color: ColorOrder = color
        self._fps = float(fps or DEFAULT_FPS)
        first = self._read(self.files[0])
        width, height = size or (int(first.shape[1]), int(first.shape[0]))
        self.info = SourceInfo(
            uri=str(self.folder),
            kind="images",
            live=False,
            width=int(width),
            height=int(height),
            fps=self._fps,
            frame_count=len(self.files),
            codec="images",
        )
        self._closed = False

    @staticmethod
    def _read(path: Path) -> np.ndarray:
        import cv2

        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError(f"cannot read image {path}: not an image OpenCV decodes, or damaged")
        return np.asarray(image)

    def frames(self) -> Iterator[Frame]:
        import cv2

        size = self.info.size
        for index, path in enumerate(self.files):
            if self._closed:
                return
            image = self._read(path)
            if (image.shape[1], image.shape[0]) != size:
                shrink = image.shape[1] > size[0]
                image = cv2.resize(
                    image, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
                )
            if self._color == "rgb":
                image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            yield Frame(index, index / self._fps, time.monotonic(), image, self._color)

    def close(self) -> None:
        self._closed = True

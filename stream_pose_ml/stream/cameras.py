"""Webcams through OpenCV: by index (``0``) or device path (``/dev/video0``).

A camera is live: ``pts_s`` is the monotonic time since its first frame (drivers' own
timestamps are not comparable across backends). A camera that reports no frame rate, or one
that makes no sense, gets `DEFAULT_FPS` (and a log line saying so).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from stream_pose_ml.errors import SourceError
from stream_pose_ml.stream.frames import DEFAULT_FPS, Closing, ColorOrder, Frame, SourceInfo

logger = logging.getLogger(__name__)

#: Frame rates outside this range are taken as a driver's nonsense.
PLAUSIBLE_FPS = (1.0, 480.0)


def sane_fps(reported: float, device: object) -> float:
    """``reported`` if it is a plausible frame rate, else `DEFAULT_FPS` (logged)."""
    low, high = PLAUSIBLE_FPS
    if math.isfinite(reported) and low <= reported <= high:
        return float(reported)
    logger.warning("camera %s reports %r fps; assuming %.0f fps", device, reported, DEFAULT_FPS)
    return DEFAULT_FPS


class CameraSource(Closing):
    """Frames of a camera, read by OpenCV, scaled to ``size`` and converted to ``color``.

    ``size`` and ``fps`` are asked of the driver (which may not give them); frames are scaled to
    ``size`` in any case. ``api`` is an OpenCV capture backend (``cv2.CAP_V4L2``, ...; default
    any). `close` may be called from another thread: it ends `frames` after the read in progress
    and releases the device. ``max_failed_reads`` failed reads in a row (a device unplugged) end
    `frames` with `SourceError`.
    """

    def __init__(
        self,
        device: int | str,
        *,
        size: tuple[int, int] | None = None,
        color: ColorOrder = "rgb",
        fps: float | None = None,
        api: int | None = None,
        max_failed_reads: int = 10,
    ) -> None:
        import cv2

        self.device = device
        self._color: ColorOrder = color
        self._max_failed_reads = max_failed_reads
        self._lock = threading.Lock()  # held during a read, so close() never releases mid-read
        self._closed = False
        capture: Any = cv2.VideoCapture(device, cv2.CAP_ANY if api is None else api)
        if not capture.isOpened():
            capture.release()
            raise SourceError(
                f"cannot open camera {device!r} with OpenCV "
                f"(tried backend {api if api is not None else 'any'}): no such device, "
                "or it is busy or not permitted"
            )
        if size is not None:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        if fps is not None:
            capture.set(cv2.CAP_PROP_FPS, fps)
        self._capture = capture
        width, height = size or (
            int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        self.info = SourceInfo(
            uri=str(device),
            kind="camera",
            live=True,
            width=width,
            height=height,
            fps=sane_fps(self._reported_fps(), device),
            frame_count=None,
            codec=str(capture.getBackendName()),
        )
        logger.info(
            "camera %s: %dx%d at %.2f fps (%s)",
            device,
            width,
            height,
            self.info.fps,
            self.info.codec,
        )

    def _reported_fps(self) -> float:
        import cv2

        return float(self._capture.get(cv2.CAP_PROP_FPS))

    def _read(self) -> np.ndarray | None:
        """One image in BGR, ``None`` when the read failed or the camera is closed."""
        with self._lock:
            if self._closed:
                return None
            ok, image = self._capture.read()
        return image if ok and image is not None and image.size else None

    def frames(self) -> Iterator[Frame]:
        import cv2

        size = self.info.size
        first_s: float | None = None
        last_pts_s = -1.0
        index = 0
        failed = 0
        while not self._closed:
            image = self._read()
            received_s = time.monotonic()
            if image is None:
                if self._closed:
                    return
                failed += 1
                if failed >= self._max_failed_reads:
                    raise SourceError(
                        f"camera {self.device!r} gave no frame in {failed} reads "
                        f"(after {index} frames): unplugged or stopped?"
                    )
                time.sleep(0.02)
                continue
            failed = 0
            if first_s is None:
                first_s = received_s
            pts_s = max(received_s - first_s, last_pts_s + 1e-6)
            last_pts_s = pts_s
            if (image.shape[1], image.shape[0]) != size:
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            if self._color == "rgb":
                image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            yield Frame(index, pts_s, received_s, image, self._color)
            index += 1

    def close(self) -> None:
        """Release the device; `frames` ends. Safe to call twice and from another thread."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._capture.release()

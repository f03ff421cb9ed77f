"""Generated test videos whose frames show their own index, at chosen presentation times.

Each frame carries its index as a 12-bit barcode (a row of black and white blocks), which
survives lossy coding, so a test can read back which source frame an algorithm ran on.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from stream_pose_ml.stream import BaseAlgo, FrameWindow

WIDTH, HEIGHT = 256, 96
BITS = 12
BLOCK = WIDTH // BITS  # 21 px wide blocks
TICKS = 90_000  # time base 1/90000 for variable frame rates


def index_image(index: int) -> np.ndarray:
    """An RGB frame whose top band encodes ``index`` (most significant bit first)."""
    image = np.full((HEIGHT, WIDTH, 3), 96, dtype=np.uint8)
    for bit in range(BITS):
        if (index >> (BITS - 1 - bit)) & 1:
            image[8:56, bit * BLOCK + 2 : (bit + 1) * BLOCK - 2] = 255
        else:
            image[8:56, bit * BLOCK + 2 : (bit + 1) * BLOCK - 2] = 0
    return image


def read_index(image: np.ndarray) -> int:
    """The index a frame of `index_image` shows (any colour order, any size)."""
    image = np.asarray(image)
    if image.shape[:2] != (HEIGHT, WIDTH):
        image = cv2.resize(image, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    gray = image.astype(np.float64).mean(axis=2)
    value = 0
    for bit in range(BITS):
        block = gray[16:48, bit * BLOCK + 5 : (bit + 1) * BLOCK - 5]
        value = (value << 1) | int(block.mean() > 128)
    return value


def write_index_video(
    path: Path, times_s: Sequence[float], rate: Fraction | None = None, codec: str = "libx264"
) -> Path:
    """A video of ``len(times_s)`` index frames at presentation times ``times_s`` (seconds).

    With ``rate`` (constant frame rate) the times must be ``k / rate``; the stream's time base is
    ``1 / rate``. Without it the time base is 1/90000 (variable frame rate).
    """
    with av.open(str(path), "w") as container:
        base = Fraction(1, TICKS) if rate is None else 1 / Fraction(rate)
        stream = container.add_stream(codec, rate=rate or 30)
        stream.width, stream.height = WIDTH, HEIGHT
        stream.pix_fmt = "yuv420p"
        stream.time_base = base
        stream.codec_context.time_base = base
        if codec == "libx264":
            stream.options = {"crf": "12", "bf": "0", "preset": "ultrafast"}
        for i, t in enumerate(times_s):
            frame = av.VideoFrame.from_ndarray(index_image(i), format="rgb24")
            frame.pts = round(Fraction(t).limit_denominator(1_000_000) / base)
            frame.time_base = base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def cfr_times(n: int, rate: Fraction) -> list[float]:
    return [float(k / Fraction(rate)) for k in range(n)]


def vfr_times(n: int, seed: int = 3) -> list[float]:
    """Irregular times: gaps of 10 to 70 ms, as phone recordings have."""
    rng = np.random.default_rng(seed)
    gaps = rng.integers(10, 71, size=n - 1) / 1000.0
    return [0.0, *np.cumsum(gaps).round(6).tolist()]


class ShownIndexAlgo(BaseAlgo):
    """Reports the index the newest frame shows (``stream-pose-ml run --algo`` uses it)."""

    def process(self, window: FrameWindow) -> dict:
        return {"shown": read_index(window.newest.image), "count": len(window.frames)}

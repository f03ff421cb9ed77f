"""Convert the demo video to a YUV4MPEG2 (Y4M) file for Chromium's fake webcam.

Chromium plays it in a loop as the camera with
``--use-fake-device-for-media-stream --use-file-for-fake-video-capture=<file>.y4m``.
The file is cached (default ``<cache>/webcam/demo_<w>x<h>.y4m``) and rebuilt only when missing
or older than the source video. Prints the path of the Y4M file.

    .venv/bin/python scripts/make_fake_webcam.py [--width 640] [--height 360] [--source VIDEO]
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import cv2
import numpy as np

from stream_pose_ml.demo_data import cache_dir, demo_video_path

logger = logging.getLogger("make_fake_webcam")


def y4m_header(width: int, height: int, fps: float) -> bytes:
    """The stream header: 4:2:0 chroma, progressive, square pixels, ``fps`` as a ratio."""
    numerator, denominator = round(fps * 1000), 1000
    divisor = int(np.gcd(numerator, denominator))
    rate = f"{numerator // divisor}:{denominator // divisor}"
    return f"YUV4MPEG2 W{width} H{height} F{rate} Ip A1:1 C420jpeg\n".encode("ascii")


def write_y4m(source: Path, target: Path, width: int, height: int) -> int:
    """Write every frame of ``source``, resized to ``width`` x ``height``, as Y4M; returns the
    number of frames. The file appears at ``target`` only once complete."""
    if width % 2 or height % 2:
        raise ValueError(f"4:2:0 needs an even width and height, got {width}x{height}")
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise FileNotFoundError(f"cannot open the video {source}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    frames = 0
    try:
        with open(partial, "wb") as out:
            out.write(y4m_header(width, height, fps))
            while True:
                ok, bgr = capture.read()
                if not ok:
                    break
                small = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
                # I420: the Y plane, then U and V at half resolution, (h * 3 / 2, w) uint8.
                yuv = cv2.cvtColor(small, cv2.COLOR_BGR2YUV_I420)
                out.write(b"FRAME\n")
                out.write(yuv.tobytes())
                frames += 1
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        capture.release()
    if frames == 0:
        partial.unlink(missing_ok=True)
        raise ValueError(f"no frame could be decoded from {source}")
    partial.replace(target)
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--source", type=Path, help="video to convert (default: the demo video)")
    parser.add_argument("--output", type=Path, help="Y4M path (default: in the cache folder)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    source = args.source or demo_video_path()
    target = args.output or cache_dir() / "webcam" / f"{source.stem}_{args.width}x{args.height}.y4m"
    if not target.is_file() or target.stat().st_mtime < source.stat().st_mtime:
        frames = write_y4m(source, target, args.width, args.height)
        logger.info("wrote %d frames of %s to %s", frames, source, target)
    print(target)


if __name__ == "__main__":
    main()

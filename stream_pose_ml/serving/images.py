"""Encoded images from live clients -> RGB arrays, with a bound on decoded pixels."""

from __future__ import annotations

import struct

import numpy as np

from stream_pose_ml.errors import PayloadError

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_SOF = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)


def image_dimensions(data: bytes) -> tuple[int, int]:
    """``(width, height)`` read from a PNG or JPEG header, without decoding the pixels."""
    if data.startswith(_PNG_MAGIC) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 <= len(data):
            if data[i] != 0xFF:
                break
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in (0x01, *range(0xD0, 0xDA)):  # markers without a length
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if marker in _JPEG_SOF:
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            i += 2 + length
    raise PayloadError("bad_image", "the frame is not a complete JPEG or PNG image")


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB from JPEG or PNG bytes; at most ``max_pixels`` pixels."""
    width, height = image_dimensions(data)
    if width * height == 0 or width * height > max_pixels:
        raise PayloadError(
            "bad_image" if width * height == 0 else "too_large",
            f"image of {width}x{height} pixels; the limit is {max_pixels} pixels",
        )
    import cv2

    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise PayloadError("bad_image", "the image could not be decoded (corrupt JPEG or PNG?)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

"""Encoded frames from clients: sizes read from headers, decoding, and the pixel bound."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from stream_pose_ml.serving import PayloadError
from stream_pose_ml.serving.images import decode_image, image_dimensions


@pytest.fixture(scope="module")
def frame(demo_frames: list[np.ndarray]) -> np.ndarray:
    return demo_frames[0][::2, ::2]  # 884 x 497, a real picture


def encode(rgb: np.ndarray, ext: str) -> bytes:
    return cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def test_png_and_jpeg_decode_to_rgb(frame: np.ndarray) -> None:
    height, width = frame.shape[:2]
    png = encode(frame, ".png")
    assert image_dimensions(png) == (width, height)
    np.testing.assert_array_equal(decode_image(png, max_pixels=10**7), frame)  # lossless
    jpeg = encode(frame, ".jpg")
    assert image_dimensions(jpeg) == (width, height)
    decoded = decode_image(jpeg, max_pixels=10**7)
    assert decoded.shape == frame.shape and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - frame).mean() < 3  # JPEG is lossy, colours kept in RGB
    progressive = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    assert image_dimensions(progressive) == (width, height)


def test_bad_and_oversized_images(frame: np.ndarray) -> None:
    jpeg = encode(frame, ".jpg")
    with pytest.raises(PayloadError) as error:
        decode_image(jpeg, max_pixels=1000)
    assert error.value.code == "too_large"
    for bad in (jpeg[:20], b"\x89PNG\r\n\x1a\n" + bytes(8), b"not an image"):
        with pytest.raises(PayloadError) as error:
            decode_image(bad, max_pixels=10**7)
        assert error.value.code == "bad_image"
    corrupt = jpeg[:600] + bytes(len(jpeg) - 600)  # a valid header, garbage pixels
    try:
        decoded = decode_image(corrupt, max_pixels=10**7)
    except PayloadError as exc:
        assert exc.code == "bad_image"
    else:
        assert decoded.shape == frame.shape  # OpenCV may decode a damaged JPEG partially

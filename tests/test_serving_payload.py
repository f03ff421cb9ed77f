"""Parsing and validation of live messages: every accepted shape, every error code."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from api_server import frame_message, pose_frames

from stream_pose_ml.serving import (
    PayloadError,
    PayloadLimits,
    decode_frames,
    encode_frames,
    parse_configure,
    parse_image,
    parse_keypoints,
)
from stream_pose_ml.serving.payload import BINARY_HEADER, NO_FRAME_ID


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return pose_frames(4, seed=0)


def test_one_frame_of_dicts_keeps_every_value(frames: np.ndarray) -> None:
    batch = parse_keypoints(
        frame_message(frames[0], frame_id=7, image_size=(640, 480), timestamp=12.5)
    )
    np.testing.assert_array_equal(batch.data[0], frames[0])
    assert batch.data.dtype == np.float64 and batch.data.shape == (1, 33, 4)
    assert batch.frame_ids.tolist() == [7]
    assert batch.timestamps.tolist() == [12.5]
    assert batch.image_size == (640, 480)


def test_json_text_lists_and_missing_optional_channels(frames: np.ndarray) -> None:
    text = json.dumps(frame_message(frames[1]))
    np.testing.assert_array_equal(parse_keypoints(text).data[0], frames[1])
    as_lists = parse_keypoints({"landmarks": frames[1].tolist(), "image_size": [1280, 720]})
    np.testing.assert_array_equal(as_lists.data[0], frames[1])
    assert as_lists.image_size == (1280, 720)
    no_visibility = [{"x": x, "y": y, "z": z} for x, y, z, _ in frames[1].tolist()]
    data = parse_keypoints(no_visibility).data[0]
    np.testing.assert_array_equal(data[:, :3], frames[1][:, :3])
    assert np.isnan(data[:, 3]).all()
    assert parse_keypoints(no_visibility).frame_ids.tolist() == [NO_FRAME_ID]


def test_the_browsers_pose_landmarker_result(frames: np.ndarray) -> None:
    points = [dict(x=x, y=y, z=z, visibility=v) for x, y, z, v in frames[2].tolist()]
    result = {"landmarks": [points], "worldLandmarks": [points], "segmentationMasks": None}
    np.testing.assert_array_equal(parse_keypoints(result).data[0], frames[2])
    nobody = parse_keypoints({"landmarks": [], "worldLandmarks": []})
    assert nobody.data.shape == (1, 33, 4) and np.isnan(nobody.data).all()
    assert np.isnan(parse_keypoints({"landmarks": [[]]}).data).all()


def test_a_batch_of_frames(frames: np.ndarray) -> None:
    message = {
        "frames": [frame_message(f, frame_id=i) for i, f in enumerate(frames)],
        "image_size": {"width": 1768, "height": 994},
    }
    batch = parse_keypoints(message)
    np.testing.assert_array_equal(batch.data, frames)
    assert batch.frame_ids.tolist() == [0, 1, 2, 3]
    assert np.isnan(batch.timestamps).all()
    assert batch.image_size == (1768, 994)
    with pytest.raises(PayloadError) as error:
        parse_keypoints(message, PayloadLimits(max_frames=3))
    assert error.value.code == "too_large"


def test_binary_frames_round_trip_as_float32(frames: np.ndarray) -> None:
    data = frames.copy()
    data[1] = np.nan  # a frame without a detection
    message = encode_frames(data, [5, 6, 7, 8], [0.0, 33.3, 66.7, 100.0], image_size=(640, 360))
    assert len(message) == BINARY_HEADER.size + 4 * (16 + 33 * 4 * 4)
    batch = parse_keypoints(message)
    np.testing.assert_array_equal(batch.data, data.astype(np.float32).astype(np.float64))
    assert batch.frame_ids.tolist() == [5, 6, 7, 8]
    assert batch.timestamps.tolist() == pytest.approx([0.0, 33.3, 66.7, 100.0])
    assert batch.image_size == (640, 360)
    bare = decode_frames(encode_frames(frames[0]), PayloadLimits())
    assert bare.frame_ids.tolist() == [NO_FRAME_ID] and bare.image_size is None


def _error(message: object, limits: PayloadLimits | None = None) -> PayloadError:
    with pytest.raises(PayloadError) as error:
        parse_keypoints(message, limits)
    assert error.value.message
    return error.value


def test_error_codes(frames: np.ndarray) -> None:
    good = frame_message(frames[0])

    def edited(index: int, key: str, value: object) -> dict:
        message = json.loads(json.dumps(good))
        message["landmarks"][index][key] = value
        return message

    assert _error('{"landmarks": [').code == "bad_json"
    assert _error({"landmarks": good["landmarks"][:32]}).code == "landmark_count"
    assert _error(edited(4, "x", math.nan)).code == "non_finite"
    assert _error(edited(4, "y", math.inf)).code == "non_finite"
    assert _error(edited(4, "z", -math.inf)).code == "non_finite"
    assert _error(edited(4, "x", None)).code == "non_finite"
    string = _error(edited(9, "y", "0.5"))
    assert string.code == "bad_type" and "[9].y" in string.message
    assert _error(edited(9, "visibility", "high")).code == "bad_type"
    assert _error(edited(9, "x", [0.1])).code == "bad_type"
    assert _error(edited(2, "x", 1e9)).code == "out_of_range"
    assert _error({"landmarks": [{"y": 0.1}] * 33}).code == "bad_type"
    assert _error({"no_landmarks": []}).code == "bad_type"
    assert _error(17).code == "bad_type"
    assert _error({**good, "frame_id": "7"}).code == "bad_type"
    assert _error({**good, "frame_id": -3}).code == "bad_type"
    assert _error({**good, "timestamp": "now"}).code == "bad_type"
    assert _error({**good, "image_size": {"width": 0, "height": 10}}).code == "bad_type"
    assert _error(json.dumps(good), PayloadLimits(max_bytes=100)).code == "too_large"
    assert _error({"frames": []}).code == "bad_type"


def test_binary_errors(frames: np.ndarray) -> None:
    message = encode_frames(frames[:2])
    assert _error(message[:-4]).code == "bad_type"
    assert _error(b"JUNK" + message[4:]).code == "bad_type"
    assert _error(message, PayloadLimits(max_bytes=len(message) - 1)).code == "too_large"
    assert _error(message, PayloadLimits(max_frames=1)).code == "too_large"
    bad = frames[:2].copy()
    bad[0, 3, 1] = np.inf
    assert _error(encode_frames(bad)).code == "non_finite"
    header = bytearray(message)
    header[6] = 17  # landmarks per frame
    assert _error(bytes(header)).code == "landmark_count"


def test_configure_messages() -> None:
    assert parse_configure({"frame_window_size": 10, "frame_window_overlap": 5}) == {
        "window_size": 10,
        "overlap": 5,
    }
    assert parse_configure('{"model_id": null, "image_size": [1280, 720]}') == {
        "model_id": None,
        "image_size": (1280, 720),
    }
    for bad, code in (
        ({"windw_size": 3}, "unknown_field"),
        ({"window_size": 0}, "bad_type"),
        ({"stride": 2, "overlap": 1}, "bad_type"),
        ({"include_features": "yes"}, "bad_type"),
        ([1, 2], "bad_type"),
    ):
        with pytest.raises(PayloadError) as error:
            parse_configure(bad)
        assert error.value.code == code


def test_image_messages() -> None:
    jpeg = b"\xff\xd8\xff\xe0" + bytes(100)
    assert parse_image(jpeg).data == jpeg
    framed = parse_image({"image": jpeg, "frame_id": 3, "timestamp": 40.0})
    assert (framed.frame_id, framed.timestamp) == (3, 40.0)
    for bad, code in ((b"GIF89a", "bad_image"), ("text", "bad_type"), (jpeg * 100, "too_large")):
        with pytest.raises(PayloadError) as error:
            parse_image(bad, PayloadLimits(max_bytes=1000))
        assert error.value.code == code

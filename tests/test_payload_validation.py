"""Validation of live messages at the edges (issue 12, part 4): booleans, integers of any size,
null or NaN z/visibility, image sizes and frame ids in JSON and binary, nesting depth, and error
messages that stay short whatever was sent."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from api_server import pose_frames

from stream_pose_ml.keypoints.landmark_parser import parse_landmarks
from stream_pose_ml.serving import PayloadError, encode_frames, parse_configure, parse_keypoints
from stream_pose_ml.serving.payload import (
    MAX_FRAME_ID,
    MAX_IMAGE_SIDE,
    MAX_JSON_DEPTH,
    NO_FRAME_ID,
    json_too_deep,
)

FRAME = pose_frames(1, seed=2)[0]
POINTS = [dict(zip(("x", "y", "z", "visibility"), map(float, p), strict=True)) for p in FRAME]


def code_of(message: Any) -> str | None:
    try:
        parse_keypoints(message)
    except PayloadError as exc:
        return exc.code
    return None


def changed(index: int, **change: Any) -> dict[str, Any]:
    points = [dict(p) for p in POINTS]
    points[index].update(change)
    return {"landmarks": points}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"x": True}, "bad_type"),
        ({"y": False}, "bad_type"),
        ({"z": True}, "bad_type"),
        ({"visibility": False}, "bad_type"),
        ({"x": 10**400}, "out_of_range"),
        ({"z": -(10**400)}, "out_of_range"),
        ({"x": 10**30}, "out_of_range"),
        ({"visibility": 2**64}, "out_of_range"),
        ({"z": None}, "non_finite"),
        ({"visibility": None}, "non_finite"),
        ({"z": math.nan}, "non_finite"),
        ({"visibility": math.nan}, "non_finite"),
        ({"x": 1, "y": 0}, None),  # integers are numbers
    ],
)
def test_landmark_values(change: dict[str, Any], code: str | None) -> None:
    assert code_of(changed(7, **change)) == code


def test_booleans_and_nulls_in_landmark_lists() -> None:
    rows = FRAME.tolist()
    assert code_of({"landmarks": [[*rows[0][:3], True], *rows[1:]]}) == "bad_type"
    assert code_of({"landmarks": [[True] * 4] * 33}) == "bad_type"  # all bools
    assert code_of({"landmarks": [[rows[0][0], rows[0][1], None, 0.5], *rows[1:]]}) == (
        "non_finite"
    )
    assert code_of({"landmarks": [[10**400, 0.5, 0.1], *[r[:3] for r in rows[1:]]]}) == (
        "out_of_range"
    )


def test_omitted_z_and_visibility_are_nan_and_the_rest_kept() -> None:
    points = [dict(p) for p in POINTS]
    del points[3]["z"], points[5]["visibility"]
    data = parse_keypoints({"landmarks": points}).data[0]
    expected = FRAME.copy()
    expected[3, 2] = expected[5, 3] = np.nan
    np.testing.assert_array_equal(data, expected)
    lists = parse_keypoints({"landmarks": [r[:3] for r in FRAME.tolist()]}).data[0]
    assert np.isnan(lists[:, 3]).all() and (lists[:, :3] == FRAME[:, :3]).all()


def test_the_dataset_reader_still_takes_missing_values() -> None:
    """Non-strict parsing (MediaPipe results, files) keeps null as NaN."""
    points = [{**p, "visibility": None} for p in POINTS]
    assert np.isnan(parse_landmarks(points, strict=False)[:, 3]).all()


@pytest.mark.parametrize(
    ("frame_id", "code"),
    [(0, None), (MAX_FRAME_ID, None), (MAX_FRAME_ID + 1, "bad_type"), (2**63 - 1, "bad_type")],
)
def test_frame_ids_json_and_binary(frame_id: int, code: str | None) -> None:
    assert code_of({"landmarks": POINTS, "frame_id": frame_id}) == code
    binary = bytearray(encode_frames(FRAME[None], [0]))
    binary[16:24] = frame_id.to_bytes(8, "little", signed=True)
    assert code_of(bytes(binary)) == code


def test_binary_frame_ids_minus_one_means_none() -> None:
    assert parse_keypoints(encode_frames(FRAME[None])).frame_ids.tolist() == [NO_FRAME_ID]


@pytest.mark.parametrize(
    ("size", "code"),
    [
        ((MAX_IMAGE_SIDE, 1), None),
        ((MAX_IMAGE_SIDE + 1, 480), "bad_type"),
        ((640, 2**32 - 1), "bad_type"),
        ((0, 0), None),  # unknown
    ],
)
def test_binary_image_sides_are_capped_like_json(size: tuple[int, int], code: str | None) -> None:
    binary = encode_frames(FRAME[None], [0], image_size=size)
    assert code_of(binary) == code
    if size != (0, 0):
        assert code_of({"landmarks": POINTS, "image_size": list(size)}) == code


def test_json_depth_is_measured_on_the_raw_text() -> None:
    assert not json_too_deep("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    assert json_too_deep("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert json_too_deep("[" * 100_000)  # unclosed
    assert json_too_deep('{"a":' * 40 + "1" + "}" * 40)
    assert not json_too_deep('["' + "[" * 1000 + '"]')  # brackets in a string do not count
    assert not json_too_deep('["\\"' + "[" * 1000 + '"]')  # nor after an escaped quote
    assert not json_too_deep("[" + "[1]," * 10_000 + "[]]")  # many, side by side
    assert json_too_deep(b"[" * 100)


def test_deep_json_text_is_bad_json_not_a_recursion_error() -> None:
    assert code_of("[" * 100_000 + "]" * 100_000) == "bad_json"
    assert code_of('{"landmarks": ' + "[" * 40 + "]" * 40 + "}") == "bad_json"


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_error_messages_of_deep_or_huge_values_stay_short() -> None:
    """An error message never reprs the whole value (a deep one would raise RecursionError)."""
    deep, huge = _nested(5000), "x" * 1_000_000
    for message in (
        {"landmarks": [], "frame_id": deep},
        {"landmarks": [], "image_size": [deep, deep]},
        {"landmarks": [], "timestamp": huge},
    ):
        with pytest.raises(PayloadError) as refused:
            parse_keypoints(message)
        assert refused.value.code == "bad_type" and len(str(refused.value)) < 300
    for settings in ({"window_size": deep}, {"include_features": huge}, {huge: 1}):
        with pytest.raises(PayloadError) as refused:
            parse_configure(settings)
        assert len(str(refused.value)) < 600

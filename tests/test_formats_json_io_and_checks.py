"""What the format modules share: JSON files in and out, image-size and number checks."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints.formats import (
    check_image_size,
    describe,
    is_number,
    non_numbers,
    read_json,
    write_json,
)


def test_write_json_is_standard_json_written_whole(tmp_path: Path) -> None:
    path = write_json({"a": [1, 2.5, None]}, tmp_path / "deep" / "x.json", indent=2)
    assert path == tmp_path / "deep" / "x.json"
    assert json.loads(path.read_text()) == {"a": [1, 2.5, None]}
    assert read_json(path) == {"a": [1, 2.5, None]}
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.json"]  # no partial file left
    with pytest.raises(ValueError):
        write_json({"a": float("nan")}, tmp_path / "nan.json")  # JSON has no NaN
    assert not (tmp_path / "nan.json").exists()


def test_read_json_names_a_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(PoseDataError, match=r"missing\.json: no such file"):
        read_json(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("[1, 2")
    with pytest.raises(PoseDataError, match=r"broken\.json: not a readable JSON file"):
        read_json(tmp_path / "broken.json")


def test_check_image_size_takes_two_positive_whole_numbers() -> None:
    assert check_image_size((1920, 1080), "x") == (1920, 1080)
    assert check_image_size([640.0, np.int64(480)], "x") == (640, 480)
    with pytest.raises(PoseDataError, match="OpenPose needs the image size in pixels"):
        check_image_size(None, "OpenPose")
    for bad in [(1920,), "1920x1080", (0, 1080), (1920.5, 1080), (True, 1080), (-1, 5)]:
        with pytest.raises(PoseDataError, match=r"^frame 3: image_size must be"):
            check_image_size(bad, "frame 3")


def test_number_checks_reject_bools_strings_and_none() -> None:
    assert is_number(1) and is_number(0.5) and is_number(np.float32(2)) and is_number(Fraction(1))
    assert not is_number(True) and not is_number("1") and not is_number(None)
    values = [1, 2.0, True, "3", None, np.float64(4), float("nan")]
    assert non_numbers(values) == [2, 3, 4]
    assert non_numbers(values, allowed=(None,)) == [2, 3]


def test_describe_names_the_type_and_shortens_long_values() -> None:
    assert describe("0.5") == "str '0.5'"
    long = describe(list(range(100)))
    assert long.startswith("list [0, 1, 2") and long.endswith("...")
    assert len(long) == len("list ") + 40

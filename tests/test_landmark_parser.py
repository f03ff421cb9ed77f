"""The one landmark parser: JSON landmarks and MediaPipe results -> (33, 4) float64."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from stream_pose_ml.errors import LandmarkFormatError, PoseDataError
from stream_pose_ml.keypoints.landmark_parser import landmark_array, parse_landmarks


def objects(**override: object) -> list[dict]:
    points = [{"x": i / 40, "y": 0.5, "z": -0.1, "visibility": 0.9} for i in range(33)]
    points[3] = {**points[3], **override}
    return points


def test_objects_lists_and_a_list_of_poses_agree() -> None:
    as_objects = parse_landmarks(objects())
    as_lists = parse_landmarks([[p["x"], p["y"], p["z"], p["visibility"]] for p in objects()])
    first_pose = parse_landmarks([objects(), objects(x=0.7)])
    for other in (as_lists, first_pose):
        np.testing.assert_array_equal(other, as_objects)
    assert as_objects.shape == (33, 4) and as_objects.dtype == np.float64
    no_visibility = parse_landmarks([[p["x"], p["y"], p["z"]] for p in objects()])
    assert np.isnan(no_visibility[:, 3]).all()
    assert np.isnan(parse_landmarks([])).all()  # no detection


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("33 points", "bad_type"),
        (objects()[:32], "landmark_count"),
        (objects(x=None), "non_finite"),
        (objects(y=math.inf), "non_finite"),
        (objects(x="left"), "bad_type"),
        (objects(x=5e4), "out_of_range"),
        ([{"y": 0.1}] * 33, "bad_type"),
    ],
)
def test_strict_parsing_refuses_with_the_api_codes(value: object, code: str) -> None:
    with pytest.raises(LandmarkFormatError) as error:
        parse_landmarks(value, "frames[2].landmarks")
    assert error.value.code == code and "frames[2].landmarks" in str(error.value)
    assert isinstance(error.value, PoseDataError)


def test_lenient_parsing_keeps_missing_values_as_nan() -> None:
    out = parse_landmarks(objects(x=None), strict=False)
    assert np.isnan(out[3, 0]) and out[4, 0] == 4 / 40
    partial = [{"x": 0.1} for _ in range(33)]
    assert np.isnan(parse_landmarks(partial, strict=False)[:, 1:]).all()


def test_mediapipe_results_and_arrays() -> None:
    points = [SimpleNamespace(x=i / 40, y=0.5, z=-0.1, visibility=None) for i in range(33)]
    tasks = SimpleNamespace(pose_landmarks=[points])
    solutions = SimpleNamespace(pose_landmarks=SimpleNamespace(landmark=points))
    for result in (tasks, solutions, points):
        out = landmark_array(result)
        assert out is not None and out[5, 0] == 5 / 40 and np.isnan(out[:, 3]).all()
    assert landmark_array(None) is None
    assert landmark_array(SimpleNamespace(pose_landmarks=[])) is None
    array = np.ones((33, 4), dtype=np.float32)
    assert landmark_array(array).dtype == np.float64
    with pytest.raises(LandmarkFormatError, match=r"\(33, 4\)"):
        landmark_array(np.ones((17, 3)))

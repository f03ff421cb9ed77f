"""FeatureSpec: validation, JSON round trip and rebuilding a spec from column names."""

from __future__ import annotations

import json

import pytest

from stream_pose_ml.errors import FeatureSpecError
from stream_pose_ml.features import SPEC_VERSION, FeatureSpec
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33

SPECS = [
    FeatureSpec(),
    FeatureSpec(joints=True, normalized=False, angles=False, distances=False),
    FeatureSpec(joints=True, include_z=True, landmarks=("left_wrist", "nose", "right_ankle")),
    FeatureSpec(vectors=True, include_z=True, window=10),
    FeatureSpec(normalized=False, window=2),
    FeatureSpec(normalized=False, distances=False, window=100),
    FeatureSpec(joints=True, vectors=True, window=5, window_mode="pool"),
    FeatureSpec(angles=False, window=3, window_mode="pool", pool_stats=("max", "mean")),
    FeatureSpec(
        normalized=False, distances=False, window=7, window_mode="pool", pool_stats=("std",)
    ),
    FeatureSpec(normalized=False, angles=False, vectors=True),
]


def test_defaults() -> None:
    spec = FeatureSpec()
    assert (spec.joints, spec.normalized, spec.angles, spec.distances, spec.vectors) == (
        False,
        True,
        True,
        True,
        False,
    )
    assert (spec.include_z, spec.decimal_precision, spec.window, spec.window_mode) == (
        False,
        4,
        1,
        "flatten",
    )
    assert spec.pool_stats == ("mean", "std", "min", "max")
    assert spec.landmarks is None and spec.version == SPEC_VERSION


@pytest.mark.parametrize("spec", SPECS, ids=range(len(SPECS)))
def test_json_round_trip(spec: FeatureSpec) -> None:
    text = spec.to_json()
    data = json.loads(text)
    assert isinstance(data["pool_stats"], list) and data["version"] == SPEC_VERSION
    assert FeatureSpec.from_json(text) == spec
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    assert hash(FeatureSpec.from_json(text)) == hash(spec)


@pytest.mark.parametrize("spec", SPECS, ids=range(len(SPECS)))
def test_from_columns_round_trip(spec: FeatureSpec) -> None:
    window = spec.window if spec.window_mode == "pool" else None
    rebuilt = FeatureSpec.from_columns(spec.columns, window=window, include_z=spec.include_z)
    assert rebuilt == spec
    assert rebuilt.columns == spec.columns


def test_from_columns_reads_depth_kinds_window_and_landmarks() -> None:
    cols = ["joint_nose_z__t03", "angle_left_knee__t00", "norm_left_hip_x__t01"]
    spec = FeatureSpec.from_columns(cols)
    assert spec.window == 4 and spec.window_mode == "flatten" and spec.include_z
    assert (spec.joints, spec.normalized, spec.angles, spec.distances, spec.vectors) == (
        True,
        True,
        True,
        False,
        False,
    )
    assert spec.landmarks == ("nose", "left_hip")  # BlazePose order
    assert set(cols) <= set(spec.columns)


def test_from_columns_of_a_model_subset_in_any_order() -> None:
    full = FeatureSpec(joints=True, window=4)
    subset = list(full.columns[::7])[::-1]
    spec = FeatureSpec.from_columns(subset, window=4)
    assert set(subset) <= set(spec.columns)
    assert spec.window == 4


def test_from_columns_without_newest_frames_needs_the_window() -> None:
    cols = ["angle_left_knee__t00", "angle_left_knee__t01"]
    assert FeatureSpec.from_columns(cols).window == 2
    assert FeatureSpec.from_columns(cols, window=8).window == 8
    with pytest.raises(FeatureSpecError, match="too small"):
        FeatureSpec.from_columns(cols, window=1)
    with pytest.raises(FeatureSpecError, match="digits"):
        FeatureSpec.from_columns(["angle_left_knee__t005"])  # 3 digits: window of 100 or more
    assert FeatureSpec.from_columns(["angle_left_knee__t005"], window=120).window == 120


def test_from_columns_pooled_needs_the_window() -> None:
    with pytest.raises(FeatureSpecError, match="window=N"):
        FeatureSpec.from_columns(["angle_left_knee__mean", "angle_left_knee__max"])
    spec = FeatureSpec.from_columns(["angle_left_knee__max", "angle_left_knee__mean"], window=6)
    assert spec.window_mode == "pool" and spec.pool_stats == ("max", "mean")


def test_from_columns_depth_only_from_coordinates() -> None:
    assert not FeatureSpec.from_columns(["angle_left_knee"]).include_z
    assert FeatureSpec.from_columns(["angle_left_knee"], include_z=True).include_z
    with pytest.raises(FeatureSpecError, match="contradicts"):
        FeatureSpec.from_columns(["norm_nose_x", "norm_nose_y"], include_z=True)
    with pytest.raises(FeatureSpecError, match="contradicts"):
        FeatureSpec.from_columns(["norm_nose_z"], include_z=False)


def test_from_columns_errors() -> None:
    with pytest.raises(FeatureSpecError) as info:
        FeatureSpec.from_columns(["angle_left_knee", "video_id", "left_knee_angle"])
    assert "'video_id'" in str(info.value) and "'left_knee_angle'" in str(info.value)
    with pytest.raises(FeatureSpecError, match="mix window suffixes"):
        FeatureSpec.from_columns(["angle_left_knee__t00", "angle_left_knee__mean"])
    with pytest.raises(FeatureSpecError, match="mix window suffixes"):
        FeatureSpec.from_columns(["angle_left_knee", "angle_left_knee__t01"])
    with pytest.raises(FeatureSpecError, match="duplicate"):
        FeatureSpec.from_columns(["angle_left_knee", "angle_left_knee"])
    with pytest.raises(FeatureSpecError, match="no columns"):
        FeatureSpec.from_columns([])
    with pytest.raises(FeatureSpecError, match="window 1"):
        FeatureSpec.from_columns(["angle_left_knee"], window=3)


def test_landmarks_are_stored_in_blazepose_order() -> None:
    spec = FeatureSpec(landmarks=["right_ankle", "nose"])
    assert spec.landmarks == ("nose", "right_ankle")
    assert FeatureSpec(landmarks=list(reversed(BLAZEPOSE_33))).landmarks is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"window": 0}, "window"),
        ({"window": 2.5}, "window"),
        ({"window": True}, "window"),
        ({"window_mode": "stack"}, "window_mode"),
        ({"window_mode": "pool"}, "needs window > 1"),
        ({"window": 3, "window_mode": "pool", "pool_stats": ("median",)}, "pool_stats"),
        ({"pool_stats": ()}, "pool_stats"),
        ({"pool_stats": ("mean", "mean")}, "pool_stats"),
        ({"pool_stats": "mean"}, "pool_stats"),
        ({"decimal_precision": -1}, "decimal_precision"),
        ({"decimal_precision": 2.0}, "decimal_precision"),
        ({"decimal_precision": True}, "decimal_precision"),
        ({"angles": 1}, "angles"),
        ({"include_z": "yes"}, "include_z"),
        ({"landmarks": ("nose", "tail")}, "tail"),
        ({"landmarks": ("nose", "nose")}, "repeats"),
        ({"landmarks": ()}, "non-empty"),
        ({"landmarks": "nose"}, "landmarks"),
        ({"normalized": False, "angles": False, "distances": False}, "no features"),
        ({"version": SPEC_VERSION + 1}, "upgrade"),
    ],
)
def test_bad_values_raise(values: dict, message: str) -> None:
    with pytest.raises(FeatureSpecError, match=message):
        FeatureSpec(**values)
    with pytest.raises(FeatureSpecError, match=message):
        FeatureSpec.from_dict({**FeatureSpec().to_dict(), **values})


def test_unknown_keys_and_bad_documents() -> None:
    with pytest.raises(FeatureSpecError, match=r"unknown feature spec keys \['angels'\]"):
        FeatureSpec.from_dict({"angels": True})
    with pytest.raises(FeatureSpecError, match="mapping"):
        FeatureSpec.from_dict(["angles"])  # type: ignore[arg-type]
    with pytest.raises(FeatureSpecError, match="not valid JSON"):
        FeatureSpec.from_json("{angles: true")
    assert FeatureSpec.from_dict({"window": 4}) == FeatureSpec(window=4)
    assert FeatureSpec.coerce(None) == FeatureSpec()
    assert FeatureSpec.coerce({"joints": True}).joints
    with pytest.raises(FeatureSpecError, match="FeatureSpec, a dict or None"):
        FeatureSpec.coerce("angles")  # type: ignore[arg-type]


def test_spec_is_frozen() -> None:
    spec = FeatureSpec()
    with pytest.raises(AttributeError):
        spec.window = 3  # type: ignore[misc]

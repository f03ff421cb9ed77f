"""Column names: the grammar of docs/architecture.md, window suffixes, parsing and meta columns."""

from __future__ import annotations

import pytest

from stream_pose_ml.errors import FeatureSpecError
from stream_pose_ml.features import FeatureSpec, feature_columns, is_feature_column, parse_column
from stream_pose_ml.features.columns import (
    META_COLUMNS,
    frame_feature_names,
    parse_columns,
    time_suffix,
    window_column_names,
)
from stream_pose_ml.features.geometry import ANGLES, BONES, DISTANCES


def test_default_spec_columns_follow_the_grammar() -> None:
    names = frame_feature_names(FeatureSpec())
    assert names[:4] == (
        "norm_nose_x",
        "norm_nose_y",
        "norm_left_eye_inner_x",
        "norm_left_eye_inner_y",
    )
    assert len(names) == 33 * 2 + len(ANGLES) + len(DISTANCES)
    assert "angle_left_elbow" in names and "angle_trunk_lean" in names
    assert "dist_left_wrist-right_wrist" in names
    assert not any(n.startswith(("joint_", "vec_")) or n.endswith("_z") for n in names)
    assert feature_columns(FeatureSpec()) == names  # window 1: no suffix


def test_every_kind_and_depth() -> None:
    spec = FeatureSpec(joints=True, vectors=True, include_z=True, landmarks=("nose", "left_wrist"))
    names = frame_feature_names(spec)
    assert names[:6] == (
        "joint_nose_x",
        "joint_nose_y",
        "joint_nose_z",
        "joint_left_wrist_x",
        "joint_left_wrist_y",
        "joint_left_wrist_z",
    )
    assert "norm_left_wrist_z" in names
    a, b = BONES[0]
    assert f"vec_{a}-{b}_z" in names
    assert len(names) == 2 * 2 * 3 + len(ANGLES) + len(DISTANCES) + 3 * len(BONES)


def test_kind_order_in_a_row() -> None:
    spec = FeatureSpec(joints=True, vectors=True, landmarks=("nose",))
    prefixes = [n.split("_")[0] for n in frame_feature_names(spec)]
    order = ["joint", "norm", "angle", "dist", "vec"]
    assert sorted(prefixes, key=order.index) == prefixes


def test_flatten_suffixes_oldest_first_and_zero_padded() -> None:
    assert time_suffix(0, 10) == "__t00" and time_suffix(9, 10) == "__t09"
    assert time_suffix(5, 100) == "__t005" and time_suffix(99, 100) == "__t099"
    assert time_suffix(7, 1000) == "__t0007"
    cols = window_column_names(("a_x", "b"), 3, "flatten", ())
    assert cols == ("a_x__t00", "b__t00", "a_x__t01", "b__t01", "a_x__t02", "b__t02")
    spec = FeatureSpec(normalized=False, distances=False, window=12)
    assert feature_columns(spec)[0] == "angle_left_elbow__t00"
    assert feature_columns(spec)[-1] == f"angle_{ANGLES[-1].name}__t11"
    assert len(feature_columns(spec)) == 12 * len(ANGLES)


def test_pool_suffixes_are_statistic_major_in_spec_order() -> None:
    cols = window_column_names(("a", "b"), 5, "pool", ("max", "mean"))
    assert cols == ("a__max", "b__max", "a__mean", "b__mean")
    spec = FeatureSpec(normalized=False, window=4, window_mode="pool")
    cols = feature_columns(spec)
    assert len(cols) == 4 * (len(ANGLES) + len(DISTANCES))
    assert {c.rsplit("__", 1)[1] for c in cols} == {"mean", "std", "min", "max"}


def test_parse_every_column_of_a_large_spec() -> None:
    for spec in (
        FeatureSpec(joints=True, vectors=True, include_z=True, window=3),
        FeatureSpec(joints=True, vectors=True, window=150),
        FeatureSpec(joints=True, window=2, window_mode="pool", pool_stats=("std", "min")),
    ):
        for name in feature_columns(spec):
            parsed = parse_column(name)
            assert parsed.name == name and name.startswith(parsed.base)
            assert parsed.base in spec.frame_feature_names
            assert (parsed.time is None) == (spec.window_mode == "pool")
            assert (parsed.stat is None) == (spec.window_mode == "flatten")


def test_parsed_fields() -> None:
    p = parse_column("joint_left_foot_index_z__t07")
    assert (p.kind, p.subject, p.axis, p.time, p.time_digits, p.stat, p.base) == (
        "joints",
        "left_foot_index",
        "z",
        7,
        2,
        None,
        "joint_left_foot_index_z",
    )
    p = parse_column("dist_nose-mid_hip__std")
    assert (p.kind, p.subject, p.axis, p.stat) == ("distances", "nose-mid_hip", None, "std")
    p = parse_column("vec_mid_hip-mid_shoulder_y")
    assert (p.kind, p.subject, p.axis, p.time) == ("vectors", "mid_hip-mid_shoulder", "y", None)
    assert parse_column("angle_left_knee").subject == "left_knee"


@pytest.mark.parametrize(
    "name",
    [
        "video_id",
        "step_frame_id",
        "frame_number",
        "weight_transfer_type",
        "joint_nose_w",
        "joint_mid_hip_x",  # virtual points are not raw landmarks
        "norm_tail_x",
        "angle_left_pinky",
        "dist_nose-left_pinky",
        "dist_right_wrist-left_wrist",  # pairs are named in their table's order
        "vec_left_knee-left_hip_x",
        "angle_left_knee__median",
        "angle_left_knee__t",
        "nose_x",
        "",
    ],
)
def test_non_feature_columns(name: str) -> None:
    assert not is_feature_column(name)
    with pytest.raises(FeatureSpecError, match="not a feature column"):
        parse_column(name)


def test_meta_columns_are_not_features() -> None:
    assert {"video_id", "step_frame_id", "frame_number"} <= set(META_COLUMNS)
    assert not any(is_feature_column(c) for c in META_COLUMNS)
    assert all(is_feature_column(c) for c in feature_columns(FeatureSpec(joints=True, window=2)))


def test_parse_columns_lists_every_bad_name() -> None:
    with pytest.raises(FeatureSpecError) as info:
        parse_columns(["angle_left_knee", "video_id", "dist_a-b", "norm_nose_x"])
    message = str(info.value)
    assert "'video_id'" in message and "'dist_a-b'" in message
    assert "angle_left_knee" not in message

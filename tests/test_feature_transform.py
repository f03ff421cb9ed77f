"""PoseFeatureTransform: features of a known pose, inputs, windows, columns, scikit-learn."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline

from stream_pose_ml.errors import FeatureSpecError, PoseDataError
from stream_pose_ml.features import FeatureSpec, PoseFeatureTransform, sliding_windows
from stream_pose_ml.features.geometry import ANGLES, BONES, DISTANCES
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_INDEX, COCO_17
from stream_pose_ml.keypoints.sequence import PoseSequence

pytestmark = pytest.mark.filterwarnings("error")  # NaN and degenerate input must not warn

WIDTH, HEIGHT = 1920, 1080

#: A person facing the camera, in pixels of a 1920x1080 image (y down): arms out sideways, the
#: left forearm raised 45 degrees, legs straight, feet pointing outwards. Torso: 200 px.
POSE_PIXELS: dict[str, tuple[float, float]] = {
    "nose": (960, 330),
    "left_eye_inner": (968, 322),
    "left_eye": (975, 321),
    "left_eye_outer": (982, 322),
    "right_eye_inner": (952, 322),
    "right_eye": (945, 321),
    "right_eye_outer": (938, 322),
    "left_ear": (995, 330),
    "right_ear": (925, 330),
    "mouth_left": (972, 350),
    "mouth_right": (948, 350),
    "left_shoulder": (1020, 400),
    "right_shoulder": (900, 400),
    "left_elbow": (1120, 400),
    "right_elbow": (800, 400),
    "left_wrist": (1220, 300),
    "right_wrist": (700, 400),
    "left_pinky": (1250, 280),
    "right_pinky": (665, 410),
    "left_index": (1260, 260),
    "right_index": (660, 400),
    "left_thumb": (1235, 275),
    "right_thumb": (670, 390),
    "left_hip": (1020, 600),
    "right_hip": (900, 600),
    "left_knee": (1020, 800),
    "right_knee": (900, 800),
    "left_ankle": (1020, 1000),
    "right_ankle": (900, 1000),
    "left_heel": (1010, 1020),
    "right_heel": (910, 1020),
    "left_foot_index": (1060, 1000),
    "right_foot_index": (860, 1000),
}

EXPECTED_ANGLES = {
    "left_elbow": 135.0,
    "right_elbow": 180.0,
    "left_shoulder": 90.0,
    "right_shoulder": 90.0,
    "left_hip": 180.0,
    "right_hip": 180.0,
    "left_knee": 180.0,
    "right_knee": 180.0,
    "left_ankle": 90.0,
    "right_ankle": 90.0,
    "left_wrist": 180.0,
    "right_wrist": 180.0,
    "left_hip_spread": 90.0,
    "right_hip_spread": 90.0,
    "neck": 180.0,
    "trunk_lean": 0.0,
    "shoulder_line_tilt": 90.0,
    "hip_line_tilt": 90.0,
    "left_shin_lean": 0.0,
    "right_shin_lean": 0.0,
}


def pose_frame(
    pixels: dict[str, tuple[float, float]] = POSE_PIXELS, size: tuple[int, int] = (WIDTH, HEIGHT)
) -> np.ndarray:
    """``(33, 4)`` normalized x, y, z = 0, visibility = 1 of a pose given in pixels."""
    frame = np.zeros((33, 4))
    for name, (px, py) in pixels.items():
        frame[BLAZEPOSE_INDEX[name]] = (px / size[0], py / size[1], 0.0, 1.0)
    return frame


def pose_sequence(n_frames: int = 40, seed: int = 3) -> PoseSequence:
    """The pose swaying over ``n_frames`` frames; no pose in frame 5, no left wrist in frame 17."""
    rng = np.random.default_rng(seed)
    base = pose_frame()
    data = np.repeat(base[None], n_frames, axis=0)
    data[:, :, :2] += rng.normal(0.0, 0.01, size=(n_frames, 33, 2))
    data[:, :, 2] = rng.normal(0.0, 0.05, size=(n_frames, 33))
    data[5:6] = np.nan
    data[17:18, BLAZEPOSE_INDEX["left_wrist"]] = np.nan
    return PoseSequence(data, image_size=(WIDTH, HEIGHT), fps=30.0, name="sway")


def features_by_name(transform: PoseFeatureTransform, X, **kwargs) -> dict[str, np.ndarray]:
    frame = transform.transform_frame(X, **kwargs)
    return {name: frame[name].to_numpy() for name in frame.columns}


# -- values -----------------------------------------------------------------------------------
def test_angles_of_the_known_pose() -> None:
    seq = PoseSequence(pose_frame()[None], image_size=(WIDTH, HEIGHT))
    out = features_by_name(PoseFeatureTransform(FeatureSpec(decimal_precision=None)), seq)
    assert set(EXPECTED_ANGLES) == {a.name for a in ANGLES}
    for name, expected in EXPECTED_ANGLES.items():
        assert out[f"angle_{name}"][0] == pytest.approx(expected, abs=1e-9), name


def test_distances_of_the_known_pose_over_torso_length() -> None:
    seq = PoseSequence(pose_frame()[None], image_size=(WIDTH, HEIGHT))
    out = features_by_name(PoseFeatureTransform(FeatureSpec(decimal_precision=None)), seq)
    torso = 200.0
    expected = {
        "left_wrist-right_wrist": np.hypot(520, 100) / torso,
        "left_ankle-right_ankle": 120 / torso,
        "left_shoulder-right_shoulder": 0.6,
        "nose-mid_hip": 270 / torso,
        "left_ankle-left_hip": 2.0,
        "right_wrist-right_shoulder": 1.0,
        "left_heel-right_heel": 100 / torso,
    }
    for pair, value in expected.items():
        assert out[f"dist_{pair}"][0] == pytest.approx(value, abs=1e-12), pair
    assert len([k for k in out if k.startswith("dist_")]) == len(DISTANCES)


def test_normalized_coordinates_and_vectors_of_the_known_pose() -> None:
    seq = PoseSequence(pose_frame()[None], image_size=(WIDTH, HEIGHT))
    spec = FeatureSpec(joints=True, vectors=True, decimal_precision=None)
    out = features_by_name(PoseFeatureTransform(spec), seq)
    # mid hip (960, 600), torso 200 px: the nose is 0 across and 1.35 torsos up.
    assert out["norm_nose_x"][0] == pytest.approx(0.0, abs=1e-12)
    assert out["norm_nose_y"][0] == pytest.approx(-1.35)
    assert out["norm_left_wrist_x"][0] == pytest.approx(1.3)
    assert out["norm_left_hip_y"][0] == pytest.approx(0.0, abs=1e-12)
    assert out["joint_left_wrist_x"][0] == pytest.approx(1220 / WIDTH)
    assert out["joint_left_wrist_y"][0] == pytest.approx(300 / HEIGHT)
    assert out["vec_mid_hip-mid_shoulder_x"][0] == pytest.approx(0.0, abs=1e-12)
    assert out["vec_mid_hip-mid_shoulder_y"][0] == pytest.approx(-1.0)
    assert out["vec_left_elbow-left_wrist_x"][0] == pytest.approx(0.5)
    assert len([k for k in out if k.startswith("vec_")]) == 2 * len(BONES)


def test_same_pose_in_other_image_shapes_gives_the_same_features() -> None:
    spec = FeatureSpec(vectors=True, decimal_precision=None)
    reference = PoseFeatureTransform(spec).transform(
        PoseSequence(pose_frame()[None], image_size=(WIDTH, HEIGHT))
    )
    for size in ((1920, 1920), (2400, 1080), (1300, 1500)):
        other = PoseSequence(pose_frame(size=size)[None], image_size=size)
        np.testing.assert_allclose(
            PoseFeatureTransform(spec).transform(other), reference, rtol=1e-9, atol=1e-12
        )
    # Without the image size the aspect ratio is 1, which distorts the raised forearm.
    unknown = PoseFeatureTransform(spec).transform_frame(PoseSequence(pose_frame()[None]))
    assert abs(unknown["angle_left_elbow"][0] - 135.0) > 5.0


def test_translation_and_scale_do_not_change_body_features() -> None:
    spec = FeatureSpec(vectors=True, decimal_precision=None)
    near = {k: (v[0] * 1.5 - 400, v[1] * 1.5 - 300) for k, v in POSE_PIXELS.items()}
    far = {k: (v[0] * 0.5 + 200, v[1] * 0.5 + 100) for k, v in POSE_PIXELS.items()}
    transform = PoseFeatureTransform(spec)
    rows = [
        transform.transform(PoseSequence(pose_frame(p)[None], image_size=(WIDTH, HEIGHT)))
        for p in (POSE_PIXELS, near, far)
    ]
    np.testing.assert_allclose(rows[1], rows[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rows[2], rows[0], rtol=1e-9, atol=1e-12)


def test_include_z_makes_angles_3d_with_depth_scaled_like_x() -> None:
    frame = pose_frame()
    # Left forearm points straight at the camera: x, y of the wrist equal the elbow's.
    frame[BLAZEPOSE_INDEX["left_wrist"], :2] = frame[BLAZEPOSE_INDEX["left_elbow"], :2]
    frame[BLAZEPOSE_INDEX["left_wrist"], 2] = -0.05
    seq = PoseSequence(frame[None], image_size=(WIDTH, HEIGHT))
    flat = features_by_name(PoseFeatureTransform(FeatureSpec(decimal_precision=None)), seq)
    deep = features_by_name(
        PoseFeatureTransform(FeatureSpec(include_z=True, decimal_precision=None)), seq
    )
    assert np.isnan(flat["angle_left_elbow"][0])  # zero-length forearm in the image plane
    assert deep["angle_left_elbow"][0] == pytest.approx(90.0)
    assert deep["norm_left_wrist_z"][0] == pytest.approx(-0.05 * WIDTH / HEIGHT / (200 / HEIGHT))
    assert deep["dist_left_wrist-left_shoulder"][0] == pytest.approx(
        np.hypot(100 / HEIGHT, 0.05 * WIDTH / HEIGHT) / (200 / HEIGHT)
    )


# -- degenerate input ---------------------------------------------------------------------------
def test_missing_frames_and_landmarks_give_nan_only_where_needed() -> None:
    seq = pose_sequence()
    out = features_by_name(PoseFeatureTransform(), seq)
    assert all(np.isnan(values[5]) for values in out.values())  # no detection
    assert np.isnan(out["angle_left_elbow"][17]) and np.isnan(out["angle_left_wrist"][17])
    assert np.isnan(out["dist_left_wrist-right_wrist"][17])
    assert np.isnan(out["norm_left_wrist_x"][17]) and not np.isnan(out["norm_nose_x"][17])
    assert not np.isnan(out["angle_right_elbow"][17])
    present = [i for i in range(len(seq)) if i not in (5, 17)]
    assert not any(np.isnan(values[present]).any() for values in out.values())


def test_zero_torso_gives_nan_for_scaled_features_only() -> None:
    frame = pose_frame()
    for name in ("left_shoulder", "right_shoulder"):  # shoulders collapse onto the hips
        frame[BLAZEPOSE_INDEX[name]] = frame[BLAZEPOSE_INDEX[name.replace("shoulder", "hip")]]
    out = features_by_name(
        PoseFeatureTransform(FeatureSpec(joints=True, vectors=True)), PoseSequence(frame[None])
    )
    for name, values in out.items():
        if not name.startswith("angle_"):
            assert np.isnan(values[0]) == name.startswith(("norm_", "dist_", "vec_")), name
    assert np.isnan(out["angle_trunk_lean"][0])  # zero-length trunk
    assert out["angle_left_knee"][0] == pytest.approx(180.0)
    assert out["joint_nose_x"][0] == pytest.approx(960 / WIDTH, abs=1e-4)


def test_other_landmark_sets_give_nan_for_absent_landmarks() -> None:
    blaze = pose_sequence(4)
    coco = PoseSequence(
        blaze.data[:, [BLAZEPOSE_INDEX[n] for n in COCO_17]],
        image_size=blaze.image_size,
        landmark_names=COCO_17,
    )
    spec = FeatureSpec(decimal_precision=None)
    from_coco = features_by_name(PoseFeatureTransform(spec), coco)
    from_blaze = features_by_name(PoseFeatureTransform(spec), blaze)
    assert np.isnan(from_coco["angle_left_ankle"]).all()  # needs the foot index
    assert np.isnan(from_coco["norm_left_heel_x"]).all()
    np.testing.assert_array_equal(from_coco["angle_left_knee"], from_blaze["angle_left_knee"])
    np.testing.assert_array_equal(from_coco["norm_nose_y"], from_blaze["norm_nose_y"])


# -- inputs ------------------------------------------------------------------------------------
def test_window_one_sequence_array_and_list_agree() -> None:
    seq = pose_sequence()
    transform = PoseFeatureTransform()
    from_seq = transform.transform(seq)
    assert from_seq.shape == (len(seq), len(transform.get_feature_names_out()))
    sized = PoseFeatureTransform(image_size=seq.image_size)
    from_3d = sized.transform(seq.data)
    from_4d = sized.transform(seq.data[:, None])
    from_list = transform.transform([seq[i] for i in range(len(seq))])
    for other in (from_3d, from_4d, from_list):
        np.testing.assert_array_equal(other, from_seq)


def test_windowed_inputs() -> None:
    seq = pose_sequence()
    transform = PoseFeatureTransform(FeatureSpec(window=8))
    assert transform.transform(seq[:8]).shape == (1, 8 * len(FeatureSpec().columns))
    rows = transform.transform([seq[0:8], seq[10:18], seq[30:38]])
    arrays = transform.with_input(image_size=seq.image_size).transform(
        np.stack([seq.data[0:8], seq.data[10:18], seq.data[30:38]])
    )
    np.testing.assert_array_equal(rows, arrays)
    with pytest.raises(PoseDataError, match="9 frames but the feature spec's window is 8"):
        transform.transform(seq[:9])
    with pytest.raises(PoseDataError, match="window 1 has 7 frames"):
        transform.transform([seq[0:8], seq[0:7]])
    with pytest.raises(PoseDataError, match=r"\(n_windows, 8, landmarks, channels\)"):
        transform.transform(seq.data)


def test_per_call_options_still_work_with_a_deprecation_warning() -> None:
    seq = pose_sequence(6)
    transform = PoseFeatureTransform().fit()
    with pytest.warns(DeprecationWarning, match="PoseFeatureTransform"):
        old = transform.transform(seq.data, image_size=seq.image_size)
    np.testing.assert_array_equal(old, transform.transform(seq))
    with pytest.warns(DeprecationWarning):
        frame = transform.transform_frame(seq.data, image_size=seq.image_size)
    np.testing.assert_array_equal(frame.to_numpy(), old)
    with pytest.raises(TypeError, match="unexpected keyword"):
        transform.transform(seq.data, size=(1, 2))


def test_fit_computes_the_plan_once_and_parameter_changes_are_seen() -> None:
    seq = pose_sequence(4)
    transform = PoseFeatureTransform(FeatureSpec(window=2)).fit()
    plan = transform.plan_
    transform.transform(seq[0:2])
    assert transform._plan() is plan  # no rebuild per call
    sized = transform.with_input(image_size=(100, 100))
    assert sized._plan() is plan and sized.image_size == (100, 100)
    assert transform.image_size is None  # the copy has its own input description
    transform.set_params(spec=FeatureSpec(window=3))
    assert transform._plan().spec.window == 3  # set after fit: not the stale plan


def test_windows_from_different_videos_use_their_own_image_size() -> None:
    spec = FeatureSpec(decimal_precision=None, window=2)
    wide = PoseSequence(np.stack([pose_frame()] * 2), image_size=(WIDTH, HEIGHT))
    square = PoseSequence(np.stack([pose_frame(size=(1920, 1920))] * 2), image_size=(1920, 1920))
    rows = PoseFeatureTransform(spec).transform([wide, square])
    np.testing.assert_allclose(rows[0], rows[1], rtol=1e-9, atol=1e-12)


def test_bad_inputs() -> None:
    transform = PoseFeatureTransform()
    seq = pose_sequence(3)
    with pytest.raises(PoseDataError, match="not dict"):
        transform.transform({"frames": []})
    with pytest.raises(PoseDataError, match="carries its own"):
        PoseFeatureTransform(image_size=(640, 480)).transform(seq)
    with pytest.raises(PoseDataError, match="landmark_names= and channels="):
        transform.transform(np.zeros((2, 1, 17, 4)))
    with pytest.raises(PoseDataError, match="include_z=False"):
        PoseFeatureTransform(
            FeatureSpec(include_z=True), channels=("x", "y", "visibility")
        ).transform(seq.data[..., [0, 1, 3]])
    with pytest.raises(PoseDataError, match="image_size"):
        transform.with_input(image_size=(640, 0)).transform(seq.data)
    with pytest.raises(PoseDataError, match="image_size"):
        PoseFeatureTransform(image_size=(640, 0)).fit()
    xy_only = transform.with_input(channels=("y", "x"), image_size=(WIDTH, HEIGHT)).transform(
        seq.data[..., [1, 0]]
    )
    np.testing.assert_array_equal(xy_only, transform.transform(seq))


def test_sliding_windows_are_a_view_with_stride() -> None:
    seq = pose_sequence(20)
    windows = sliding_windows(seq, 5)
    assert windows.shape == (16, 5, 33, 4) and np.shares_memory(windows, seq.data)
    np.testing.assert_array_equal(windows[3], seq.data[3:8])
    strided = sliding_windows(seq, 5, stride=4)
    assert strided.shape == (4, 5, 33, 4)
    np.testing.assert_array_equal(strided[2], seq.data[8:13])
    assert sliding_windows(seq, 21).shape == (0, 21, 33, 4)
    with pytest.raises(PoseDataError, match="stride"):
        sliding_windows(seq, 5, stride=0)
    empty = PoseFeatureTransform(FeatureSpec(window=21)).transform(sliding_windows(seq, 21))
    assert empty.shape == (0, 21 * len(FeatureSpec().columns))


@pytest.mark.parametrize("mode", ["flatten", "pool"])
def test_live_rows_equal_offline_rows(mode: str) -> None:
    seq = pose_sequence(60)
    transform = PoseFeatureTransform(FeatureSpec(window=12, window_mode=mode, vectors=True))
    offline = transform.with_input(image_size=seq.image_size).transform(sliding_windows(seq, 12))
    for start in (0, 1, 17, 48):  # the live server's rolling window: the last 12 frames
        live = transform.transform(seq[start : start + 12])
        np.testing.assert_array_equal(live[0], offline[start])


# -- windows: flatten and pool ----------------------------------------------------------------
def test_flatten_is_the_per_frame_rows_side_by_side() -> None:
    seq = pose_sequence()
    per_frame = PoseFeatureTransform().transform_frame(seq[4:7])
    flat = PoseFeatureTransform(FeatureSpec(window=3)).transform_frame(seq[4:7])
    assert flat.shape == (1, 3 * per_frame.shape[1])
    for t in range(3):
        for name in ("angle_left_knee", "norm_nose_x", "dist_nose-mid_hip"):
            np.testing.assert_array_equal(flat[f"{name}__t{t:02d}"], per_frame[name][t])
    assert list(flat.columns[: per_frame.shape[1]]) == [f"{c}__t00" for c in per_frame.columns]


def test_pool_is_nan_aware_statistics_over_the_window() -> None:
    seq = pose_sequence()
    window = seq[3:19]  # holds the missing frame 5 and the missing left wrist of frame 17
    spec = FeatureSpec(decimal_precision=None)
    per_frame = PoseFeatureTransform(spec).transform_frame(window)
    pooled = PoseFeatureTransform(
        FeatureSpec(decimal_precision=None, window=16, window_mode="pool")
    ).transform_frame(window)
    assert pooled.shape == (1, 4 * per_frame.shape[1])
    assert list(pooled.columns[:2]) == [f"{c}__mean" for c in per_frame.columns[:2]]
    for name in ("angle_left_elbow", "dist_left_wrist-right_wrist", "norm_nose_y"):
        values = per_frame[name].to_numpy()
        assert np.isnan(values).sum() >= 1
        assert pooled[f"{name}__mean"][0] == pytest.approx(np.nanmean(values), rel=1e-12)
        assert pooled[f"{name}__std"][0] == pytest.approx(np.nanstd(values), rel=1e-9)
        assert pooled[f"{name}__min"][0] == np.nanmin(values)
        assert pooled[f"{name}__max"][0] == np.nanmax(values)


def test_pool_of_an_undetected_window_is_nan() -> None:
    empty = PoseSequence.empty(4, image_size=(WIDTH, HEIGHT))
    row = PoseFeatureTransform(FeatureSpec(window=4, window_mode="pool")).transform(empty)
    assert row.shape == (1, 4 * len(FeatureSpec().columns)) and np.isnan(row).all()


def test_decimal_precision_rounds_the_output() -> None:
    seq = pose_sequence(10)
    exact = PoseFeatureTransform(FeatureSpec(decimal_precision=None)).transform(seq)
    for digits in (0, 2, 4):
        rounded = PoseFeatureTransform(FeatureSpec(decimal_precision=digits)).transform(seq)
        np.testing.assert_array_equal(rounded, np.round(exact, digits))
    assert not np.array_equal(exact, np.round(exact, 4), equal_nan=True)


# -- columns -----------------------------------------------------------------------------------
def test_columns_restrict_and_order_the_output() -> None:
    seq = pose_sequence()
    spec = FeatureSpec(window=4, joints=True)
    full = PoseFeatureTransform(spec).transform_frame(seq[10:14])
    wanted = ["dist_nose-mid_hip__t03", "joint_nose_x__t00", "angle_left_knee__t02"]
    transform = PoseFeatureTransform(spec, columns=wanted)
    out = transform.transform_frame(seq[10:14])
    assert list(out.columns) == wanted
    pd.testing.assert_frame_equal(out, full[wanted])
    assert list(transform.fit().feature_names_out_) == wanted


def test_columns_of_a_pooled_spec() -> None:
    seq = pose_sequence()
    spec = FeatureSpec(window=8, window_mode="pool")
    full = PoseFeatureTransform(spec).transform_frame(seq[0:8])
    wanted = ["angle_neck__max", "norm_left_wrist_y__std", "angle_neck__min"]
    out = PoseFeatureTransform(spec, columns=wanted).transform_frame(seq[0:8])
    pd.testing.assert_frame_equal(out, full[wanted])


def test_columns_without_spec_rebuild_the_spec() -> None:
    seq = pose_sequence()
    wanted = ["angle_left_knee__t01", "vec_left_hip-left_knee_y__t00", "norm_nose_z__t02"]
    transform = PoseFeatureTransform(columns=wanted).fit()
    assert transform.spec_ == FeatureSpec.from_columns(wanted)
    assert transform.transform(seq[0:3]).shape == (1, 3)


def test_columns_the_spec_cannot_make_are_named() -> None:
    with pytest.raises(FeatureSpecError, match="angle_left_knee__t00"):
        PoseFeatureTransform(FeatureSpec(), columns=["angle_left_knee__t00"]).fit()
    with pytest.raises(FeatureSpecError, match=r"\['joint_nose_x'\]"):
        PoseFeatureTransform(FeatureSpec(), columns=["angle_left_knee", "joint_nose_x"]).fit()
    with pytest.raises(FeatureSpecError, match="repeat"):
        PoseFeatureTransform(FeatureSpec(), columns=["angle_neck", "angle_neck"]).fit()
    with pytest.raises(FeatureSpecError, match="duplicate"):
        PoseFeatureTransform(columns=["angle_neck", "angle_neck"]).fit()
    with pytest.raises(FeatureSpecError, match="one string"):
        PoseFeatureTransform(columns="angle_neck").fit()
    with pytest.raises(FeatureSpecError, match="unknown feature spec keys"):
        PoseFeatureTransform({"windows": 3}).fit()


# -- scikit-learn --------------------------------------------------------------------------------
def test_estimator_contract() -> None:
    spec = {"window": 3, "joints": True}
    transform = PoseFeatureTransform(spec, columns=None)
    assert transform.get_params() == {
        "spec": spec,
        "columns": None,
        "image_size": None,
        "landmark_names": None,
        "channels": None,
    }
    assert transform.get_params()["spec"] is spec  # stored unchanged
    copy = clone(transform)
    assert copy.get_params()["spec"] == spec and not hasattr(copy, "spec_")
    fitted = transform.fit()
    assert fitted is transform and transform.spec_ == FeatureSpec(window=3, joints=True)
    names = transform.get_feature_names_out()
    assert list(names) == list(transform.feature_names_out_) == list(transform.spec_.columns)
    transform.set_params(spec=FeatureSpec(window=2))
    assert transform.get_feature_names_out()[0] == "norm_nose_x__t00"
    seq = pose_sequence()
    frame = transform.set_output(transform="pandas").transform(seq[0:2])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(transform.get_feature_names_out())


def make_movement_dataset(n_clips: int, seed: int) -> tuple[list[PoseSequence], np.ndarray]:
    """Clips of 6 frames: arms lowered (label 0) or raised (label 1), anywhere, any size."""
    rng = np.random.default_rng(seed)
    clips, labels = [], []
    for i in range(n_clips):
        label = i % 2
        scale, dx, dy = rng.uniform(0.5, 1.1), rng.uniform(-300, 300), rng.uniform(-100, 60)
        pixels = dict(POSE_PIXELS)
        for side, sign in (("left", 1), ("right", -1)):
            sx, sy = pixels[f"{side}_shoulder"]
            lift = -1 if label else 1  # raised arms go up the image
            pixels[f"{side}_elbow"] = (sx + sign * 60, sy + lift * 80)
            pixels[f"{side}_wrist"] = (sx + sign * 110, sy + lift * 160)
        frames = []
        for _ in range(6):
            moved = {
                k: np.array([v[0] * scale + dx, v[1] * scale + dy]) + rng.normal(0, 6, size=2)
                for k, v in pixels.items()
            }
            frames.append(pose_frame({k: tuple(v) for k, v in moved.items()}))
        data = np.stack(frames)
        data[rng.integers(0, 6)] = np.nan  # a dropped detection in every clip
        clips.append(PoseSequence(data, image_size=(WIDTH, HEIGHT)))
        labels.append(label)
    return clips, np.array(labels)


def test_pipeline_with_a_real_classifier() -> None:
    train_x, train_y = make_movement_dataset(60, seed=1)
    test_x, test_y = make_movement_dataset(30, seed=2)
    pipeline = Pipeline(
        [
            ("features", PoseFeatureTransform(FeatureSpec(window=6, window_mode="pool"))),
            ("classifier", RandomForestClassifier(n_estimators=30, random_state=0)),
        ]
    )
    pipeline.fit(train_x, train_y)
    assert pipeline.score(test_x, test_y) >= 0.9
    names = pipeline[:-1].get_feature_names_out()
    assert names[0] == "norm_nose_x__mean" and len(names) == pipeline[-1].n_features_in_
    scores = cross_val_score(pipeline, train_x, train_y, cv=3)
    assert scores.mean() >= 0.9


def test_pipeline_with_model_columns() -> None:
    train_x, train_y = make_movement_dataset(40, seed=4)
    columns = ["angle_left_shoulder__t05", "norm_left_wrist_y__t05", "angle_neck__t00"]
    pipeline = Pipeline(
        [
            ("features", PoseFeatureTransform(FeatureSpec(window=6), columns=columns)),
            ("classifier", RandomForestClassifier(n_estimators=10, random_state=0)),
        ]
    ).fit(train_x, train_y)
    assert pipeline[-1].n_features_in_ == 3
    assert list(pipeline[0].get_feature_names_out()) == columns
    assert pipeline.predict(train_x[:4]).shape == (4,)


def test_importing_the_transform_loads_no_mediapipe_opencv_or_flask() -> None:
    code = (
        "import sys, stream_pose_ml.features as f; f.PoseFeatureTransform().fit(); "
        "bad = [m for m in ('mediapipe', 'cv2', 'flask', 'flask_socketio') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

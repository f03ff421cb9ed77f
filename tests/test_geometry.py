"""Geometry: hand-computed angles and distances, aspect correction, invariance, degenerate cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stream_pose_ml.features import geometry
from stream_pose_ml.features.geometry import (
    ANGLES,
    BONES,
    DIRECTIONS,
    DISTANCES,
    POINT_NAMES,
    VIRTUAL_POINTS,
)
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33

pytestmark = pytest.mark.filterwarnings("error")  # degenerate geometry must not warn


def angle_at(a: tuple, vertex: tuple, c: tuple) -> float:
    points = np.array([a, vertex, c], dtype=float)
    return float(geometry.joint_angles(points, np.array([[0, 1, 2]]))[0])


def test_right_straight_and_zero_angles_are_exact() -> None:
    assert angle_at((1, 0), (0, 0), (0, 1)) == 90.0
    assert angle_at((-1, 0), (0, 0), (3, 0)) == 180.0
    assert angle_at((1, 1), (0, 0), (2, 2)) == 0.0
    assert angle_at((1, 0), (0, 0), (1, 1)) == pytest.approx(45.0, abs=1e-12)


def test_angles_of_a_3_4_5_triangle() -> None:
    a, b, c = (0, 0), (4, 0), (4, 3)
    assert angle_at(a, b, c) == pytest.approx(90.0, abs=1e-12)
    assert angle_at(b, a, c) == pytest.approx(np.degrees(np.arctan2(3, 4)), abs=1e-12)
    assert angle_at(a, c, b) == pytest.approx(np.degrees(np.arctan2(4, 3)), abs=1e-12)
    assert angle_at(b, a, c) == pytest.approx(36.8698976, abs=1e-6)
    total = angle_at(a, b, c) + angle_at(b, a, c) + angle_at(a, c, b)
    assert total == pytest.approx(180.0, abs=1e-9)


def test_3d_angle_uses_depth_and_2d_projection_ignores_it() -> None:
    # Forearm pointing at the camera: 90 degrees in 3-D, a zero-length forearm in 2-D.
    points = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
    assert geometry.joint_angles(points, np.array([[0, 1, 2]]))[0] == 90.0
    assert np.isnan(geometry.joint_angles(points[:, :2], np.array([[0, 1, 2]]))[0])
    # A 3-4-5 triangle tilted out of the image plane keeps its angles in 3-D.
    tilted = np.array([[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [4.0, 3 * 0.6, 3 * 0.8]])
    assert geometry.joint_angles(tilted, np.array([[0, 1, 2]]))[0] == pytest.approx(90.0)
    assert geometry.joint_angles(tilted, np.array([[1, 0, 2]]))[0] == pytest.approx(36.8698976)


def test_angles_vectorize_over_leading_axes() -> None:
    rng = np.random.default_rng(1)
    points = rng.normal(size=(4, 5, 6, 2))
    triplets = np.array([[0, 1, 2], [3, 4, 5], [5, 0, 3]])
    out = geometry.joint_angles(points, triplets)
    assert out.shape == (4, 5, 3)
    assert np.all((out >= 0) & (out <= 180))
    for k, (a, v, c) in enumerate(triplets):
        u, w = points[2, 3, a] - points[2, 3, v], points[2, 3, c] - points[2, 3, v]
        expected = np.degrees(np.arccos(u @ w / np.linalg.norm(u) / np.linalg.norm(w)))
        assert out[2, 3, k] == pytest.approx(expected, abs=1e-9)


def test_orientation_against_image_vertical() -> None:
    up = np.array(DIRECTIONS["image_up"][:2])
    # y grows downwards: a segment going up the image has negative dy.
    points = np.array([[0.5, 0.8], [0.5, 0.4], [0.9, 0.8], [0.5, 0.9], [0.7, 0.6]])
    pairs = np.array([[0, 1], [0, 2], [0, 3], [0, 4]])
    out = geometry.orientation_angles(points, pairs, np.tile(up, (4, 1)))
    np.testing.assert_allclose(out, [0.0, 90.0, 180.0, 45.0], atol=1e-12)


def test_zero_length_segment_gives_nan_angle_without_warning() -> None:
    assert np.isnan(angle_at((0, 0), (0, 0), (1, 0)))
    assert np.isnan(angle_at((1, 0), (0, 0), (0, 0)))
    assert np.isnan(angle_at((0, 0), (0, 0), (0, 0)))
    points = np.zeros((2, 2))
    up = np.array([DIRECTIONS["image_up"][:2]])
    assert np.isnan(geometry.orientation_angles(points, np.array([[0, 1]]), up)[0])


def test_missing_landmark_gives_nan_features() -> None:
    points = np.array([[0.0, 0.0], [1.0, 0.0], [np.nan, np.nan], [1.0, 1.0]])
    angles = geometry.joint_angles(points, np.array([[0, 1, 3], [0, 1, 2]]))
    assert angles[0] == 90.0 and np.isnan(angles[1])
    dists = geometry.pairwise_distances(points, np.array([[0, 1], [0, 2]]), np.array(2.0))
    assert dists[0] == 0.5 and np.isnan(dists[1])


def test_midpoint_is_the_mean_of_the_two_points() -> None:
    a, b = np.array([0.2, 0.4]), np.array([0.6, 0.8])
    np.testing.assert_allclose(geometry.midpoint(a, b), [0.4, 0.6])  # not a + b / 2 = (0.5, 0.8)


def test_virtual_points_are_midpoints_and_nan_when_absent() -> None:
    names = ("left_hip", "right_hip", "left_shoulder")
    points = np.array([[[0.2, 0.6], [0.4, 0.8], [0.3, 0.2]]])  # (1 frame, 3 points, 2)
    out = geometry.with_virtual_points(points, names)
    assert out.shape == (1, 5, 2)
    np.testing.assert_allclose(out[0, 3], [0.3, 0.7])  # mid_hip
    assert np.isnan(out[0, 4]).all()  # mid_shoulder: no right shoulder
    assert tuple(VIRTUAL_POINTS) == ("mid_hip", "mid_shoulder")


def test_aspect_ratio_and_correction() -> None:
    assert geometry.aspect_ratio(None) == 1.0
    assert geometry.aspect_ratio((1920, 1080)) == pytest.approx(16 / 9)
    with pytest.raises(ValueError, match="positive"):
        geometry.aspect_ratio((0, 1080))
    xyz = np.array([[[0.5, 0.25, -0.1]], [[0.5, 0.25, -0.1]]])  # (2 frames, 1 point, 3)
    out = geometry.aspect_corrected(xyz, 2.0)
    np.testing.assert_allclose(out[0, 0], [1.0, 0.25, -0.2])
    per_frame = geometry.aspect_corrected(xyz, np.array([1.0, 2.0]))
    np.testing.assert_allclose(per_frame[:, 0, 0], [0.5, 1.0])
    np.testing.assert_allclose(per_frame[:, 0, 2], [-0.1, -0.2])
    assert xyz[0, 0, 0] == 0.5  # the input is not modified


def test_the_same_physical_pose_gives_the_same_angle_in_any_image_shape() -> None:
    # Shoulder, elbow, wrist in pixels: a 135-degree elbow.
    pixels = np.array([[600.0, 400.0], [700.0, 400.0], [800.0, 300.0]])
    triplet = np.array([[0, 1, 2]])
    angles = {}
    for width, height in ((1920, 1080), (1080, 1080), (900, 1600)):
        normalized = pixels / [width, height]
        points = geometry.aspect_corrected(normalized, geometry.aspect_ratio((width, height)))
        angles[width, height] = geometry.joint_angles(points, triplet)[0]
        uncorrected = geometry.joint_angles(normalized, triplet)[0]
        if width != height:
            assert abs(uncorrected - 135.0) > 5.0  # what the correction is for
    for value in angles.values():
        assert value == pytest.approx(135.0, abs=1e-9)


def test_torso_length_and_zero_torso() -> None:
    torso = geometry.torso_length(np.array([[0.5, 0.3], [0.5, 0.5]]), np.array([[0.5, 0.7]] * 2))
    np.testing.assert_allclose(torso, [0.4, 0.2])
    zero = geometry.torso_length(np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    assert np.isnan(zero)
    points = np.array([[0.1, 0.1], [0.4, 0.5]])
    assert np.isnan(geometry.pairwise_distances(points, np.array([[0, 1]]), zero)).all()
    assert np.isnan(geometry.normalized_coordinates(points, points[0], zero)).all()
    assert np.isnan(geometry.bone_vectors(points, np.array([[0, 1]]), zero)).all()


def test_distances_vectors_and_normalized_coordinates_by_hand() -> None:
    points = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 2.0]])
    scale = np.array(2.0)
    np.testing.assert_allclose(
        geometry.pairwise_distances(points, np.array([[0, 1], [1, 2]]), scale),
        [2.5, np.sqrt(8) / 2],
    )
    np.testing.assert_allclose(
        geometry.bone_vectors(points, np.array([[0, 1]]), scale), [[1.5, 2.0]]
    )
    np.testing.assert_allclose(
        geometry.normalized_coordinates(points, np.array([1.0, 2.0]), scale),
        [[-0.5, -1.0], [1.0, 1.0], [0.0, 0.0]],
    )


def test_normalized_coordinates_and_distances_ignore_translation_and_scale() -> None:
    rng = np.random.default_rng(7)
    points = rng.uniform(0.2, 0.8, size=(10, 35, 3))  # frames, points (hips at 0/1, sh. at 2/3)
    pairs = rng.integers(0, 35, size=(12, 2))

    def features(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mid_hip = geometry.midpoint(p[:, 0], p[:, 1])
        torso = geometry.torso_length(geometry.midpoint(p[:, 2], p[:, 3]), mid_hip)
        return (
            geometry.normalized_coordinates(p, mid_hip, torso),
            geometry.pairwise_distances(p, pairs, torso),
            geometry.bone_vectors(p, pairs, torso),
        )

    moved = points * 2.7 + np.array([0.3, -1.1, 0.4])
    for before, after in zip(features(points), features(moved), strict=True):
        np.testing.assert_allclose(before, after, rtol=1e-10, atol=1e-12)


def test_feature_tables_refer_to_known_points_and_are_unique() -> None:
    known = set(POINT_NAMES)
    assert len({angle.name for angle in ANGLES}) == len(ANGLES)
    for angle in ANGLES:
        assert angle.a in known and angle.vertex in known
        assert angle.c in known or angle.c in DIRECTIONS
    assert sum(angle.c in DIRECTIONS for angle in ANGLES) >= 2
    assert 15 <= len(DISTANCES) <= 25 and len(set(DISTANCES)) == len(DISTANCES)
    assert len(set(BONES)) == len(BONES)
    for a, b in DISTANCES + BONES:
        assert a in known and b in known and a != b
    assert POINT_NAMES[:33] == BLAZEPOSE_33
    names = {angle.name for angle in ANGLES}
    for side in ("left", "right"):
        for joint in ("elbow", "shoulder", "hip", "knee", "ankle", "wrist"):
            assert f"{side}_{joint}" in names
    assert {"neck", "trunk_lean"} <= names


def test_docs_define_every_named_feature_exactly() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "features.md").read_text()
    for angle in ANGLES:
        if angle.c in DIRECTIONS:
            row = f"| `angle_{angle.name}` | `{angle.vertex}` -> `{angle.a}` |"
        else:
            row = f"| `angle_{angle.name}` | `{angle.a}` | **`{angle.vertex}`** | `{angle.c}` |"
        assert row in text, row
    for a, b in DISTANCES:
        assert f"| `dist_{a}-{b}` | `{a}` | `{b}` |" in text
    for a, b in BONES:
        assert f"| `vec_{a}-{b}_<axis>` | `{a}` | `{b}` |" in text
    for name, (a, b) in VIRTUAL_POINTS.items():
        assert f"| `{name}` | `({a} + {b}) / 2` |" in text

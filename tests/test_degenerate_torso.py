"""docs/features.md, "Missing data and degenerate geometry", on a zero-length torso: true."""

from __future__ import annotations

import numpy as np

from stream_pose_ml.features import FeatureSpec, PoseFeatureTransform
from stream_pose_ml.keypoints import PoseSequence
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_INDEX
from stream_pose_ml.learning.synthetic import synthetic_sequence


def test_a_zero_torso_leaves_only_the_angles_that_do_not_use_it() -> None:
    rng = np.random.default_rng(3)
    frame = synthetic_sequence(np.zeros(1), rng).data.copy()
    point = frame[0, :, :2]
    # shoulders and hips apart, but the mid shoulder on the mid hip: a torso of length 0
    mid_hip = (point[BLAZEPOSE_INDEX["left_hip"]] + point[BLAZEPOSE_INDEX["right_hip"]]) / 2
    for side, dy in (("left", -0.1), ("right", 0.1)):
        point[BLAZEPOSE_INDEX[f"{side}_shoulder"]] = mid_hip + np.array([0.0, dy])
    seq = PoseSequence(data=frame, fps=30.0, image_size=(1280, 720))
    spec = FeatureSpec(joints=True, normalized=True, angles=True, distances=True, vectors=True)
    row = PoseFeatureTransform(spec).fit().transform_frame(seq).iloc[0]

    torso_rays = {"angle_neck", "angle_trunk_lean"}
    scaled = [c for c in row.index if c.startswith(("norm_", "dist_", "vec_"))]
    unaffected = [c for c in row.index if c.startswith(("angle_", "joint_"))]
    assert row[scaled].isna().all()
    assert row[sorted(torso_rays)].isna().all()
    others = [c for c in unaffected if c not in torso_rays]
    assert len(others) > 30 and row[others].notna().all(), row[others][row[others].isna()]

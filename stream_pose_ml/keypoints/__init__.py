"""Keypoint data: the `PoseSequence` type, landmark sets and file formats."""

from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, CHANNELS
from stream_pose_ml.keypoints.sequence import PoseSequence

__all__ = ["BLAZEPOSE_33", "CHANNELS", "PoseSequence"]

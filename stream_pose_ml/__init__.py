"""StreamPoseML: real-time video pose classification, from videos to a live classifier."""

from stream_pose_ml.keypoints import PoseSequence

__version__ = "0.3.0"
__all__ = ["PoseSequence", "__version__"]

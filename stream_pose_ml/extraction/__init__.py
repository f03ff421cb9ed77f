"""Videos -> `PoseSequence`: pose model assets, the MediaPipe pose estimator, video decoding.

Import the submodules directly (``stream_pose_ml.extraction.pose_estimator``); this package
imports nothing heavy so that MediaPipe and OpenCV load only when used.
"""

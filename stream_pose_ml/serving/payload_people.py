"""Keypoint messages of several people (``configure {"num_poses": 2..5}``): each frame keeps its
list of poses, as the browser's ``PoseLandmarkerResult.landmarks`` gives them, in the detector's
order. The rest of a message is read as :mod:`stream_pose_ml.serving.payload` reads it (this is
that module's multi-person part, split off for size)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from stream_pose_ml.errors import LandmarkFormatError, PayloadError
from stream_pose_ml.keypoints.landmark_parser import N_CHANNELS, N_LANDMARKS, parse_landmarks
from stream_pose_ml.serving.payload import (
    FrameBatch,
    PayloadLimits,
    _frame_id,
    _image_size,
    _timestamp,
    frame_list,
    frame_object,
)


def people_batch(message: Mapping[str, Any], limits: PayloadLimits, max_poses: int) -> FrameBatch:
    """A FrameBatch with every frame's poses (up to ``max_poses``) in ``people``."""
    if "frames" in message:
        frames = frame_list(message, limits)
        size = _image_size(message.get("image_size"), "image_size")
        where = [f"frames[{i}]" for i in range(len(frames))]
    else:
        frames, size, where = [message], None, ["message"]
    poses, sent, ids, stamps = [], [], [], []
    for item, name in zip(frames, where, strict=True):
        frame = frame_object(item, name)
        found, n_sent = _poses(frame["landmarks"], f"{name}.landmarks", max_poses)
        poses.append(found)
        sent.append(n_sent)
        ids.append(_frame_id(frame.get("frame_id"), f"{name}.frame_id"))
        stamps.append(_timestamp(frame.get("timestamp"), f"{name}.timestamp"))
        size = _image_size(frame.get("image_size"), f"{name}.image_size") or size
    first = np.full((len(frames), N_LANDMARKS, N_CHANNELS), np.nan)
    for i, found in enumerate(poses):
        if len(found):
            first[i] = found[0]
    return FrameBatch(
        data=first,
        frame_ids=np.array(ids, dtype=np.int64),
        timestamps=np.array(stamps, dtype=np.float64),
        image_size=size,
        people=tuple(poses),
        people_sent=tuple(sent),
    )


def _poses(value: Any, where: str, max_poses: int) -> tuple[np.ndarray, int]:
    """``((k, 33, 4) poses, poses sent)`` of a frame's landmarks: one pose, ``[]`` (nobody) or
    a list of poses (the browser's ``PoseLandmarkerResult.landmarks``), of which the first
    ``max_poses`` are parsed (an empty pose is all NaN, so indices stay the client's)."""
    if not isinstance(value, list):
        raise PayloadError(
            "bad_type", f"{where} must be a list of {N_LANDMARKS} landmarks or of poses"
        )
    several = bool(value) and isinstance(value[0], list)
    several = several and (not value[0] or isinstance(value[0][0], (Mapping, list)))
    listed = value if several else [value] if value else []
    try:
        parsed = [
            parse_landmarks(pose, f"{where}[{j}]" if several else where)
            for j, pose in enumerate(listed[:max_poses])
        ]
    except LandmarkFormatError as exc:
        raise PayloadError(exc.code, str(exc)) from None
    found = np.stack(parsed) if parsed else np.zeros((0, N_LANDMARKS, N_CHANNELS))
    return found, len(listed)

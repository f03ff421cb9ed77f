"""Landmark sets and skeletons as data: BlazePose-33, COCO-17 and OpenPose BODY-25."""

from __future__ import annotations

#: MediaPipe BlazePose landmark names, in MediaPipe's index order.
BLAZEPOSE_33: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)

#: Channels of a pose array: normalized image coordinates (x right, y down, both in [0, 1]
#: of the image width and height), MediaPipe's relative depth z (same scale as x, smaller is
#: closer to the camera) and the landmark's visibility score in [0, 1].
CHANNELS: tuple[str, ...] = ("x", "y", "z", "visibility")

#: BlazePose skeleton edges (pairs of landmark names), as MediaPipe draws them.
BLAZEPOSE_EDGES: tuple[tuple[str, str], ...] = (
    ("nose", "left_eye_inner"),
    ("left_eye_inner", "left_eye"),
    ("left_eye", "left_eye_outer"),
    ("left_eye_outer", "left_ear"),
    ("nose", "right_eye_inner"),
    ("right_eye_inner", "right_eye"),
    ("right_eye", "right_eye_outer"),
    ("right_eye_outer", "right_ear"),
    ("mouth_left", "mouth_right"),
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("left_wrist", "left_pinky"),
    ("left_wrist", "left_index"),
    ("left_wrist", "left_thumb"),
    ("left_pinky", "left_index"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
    ("right_wrist", "right_pinky"),
    ("right_wrist", "right_index"),
    ("right_wrist", "right_thumb"),
    ("right_pinky", "right_index"),
    ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"),
    ("left_hip", "right_hip"),
    ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"),
    ("left_ankle", "left_heel"),
    ("left_heel", "left_foot_index"),
    ("left_ankle", "left_foot_index"),
    ("right_hip", "right_knee"),
    ("right_knee", "right_ankle"),
    ("right_ankle", "right_heel"),
    ("right_heel", "right_foot_index"),
    ("right_ankle", "right_foot_index"),
)

#: COCO-17 keypoint names (YOLO-pose, RTMPose, MMPose order). Each one is also a BlazePose name.
COCO_17: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

#: OpenPose BODY-25 keypoint names in OpenPose's order.
OPENPOSE_BODY_25: tuple[str, ...] = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "mid_hip",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
)

#: How each BODY-25 point is obtained from BlazePose: a BlazePose name, or the midpoint of two.
#: BlazePose has no small toe; its foot index (tip of the second toe) stands in for both toes.
BODY_25_FROM_BLAZEPOSE: dict[str, tuple[str, ...]] = {
    "nose": ("nose",),
    "neck": ("left_shoulder", "right_shoulder"),
    "right_shoulder": ("right_shoulder",),
    "right_elbow": ("right_elbow",),
    "right_wrist": ("right_wrist",),
    "left_shoulder": ("left_shoulder",),
    "left_elbow": ("left_elbow",),
    "left_wrist": ("left_wrist",),
    "mid_hip": ("left_hip", "right_hip"),
    "right_hip": ("right_hip",),
    "right_knee": ("right_knee",),
    "right_ankle": ("right_ankle",),
    "left_hip": ("left_hip",),
    "left_knee": ("left_knee",),
    "left_ankle": ("left_ankle",),
    "right_eye": ("right_eye",),
    "left_eye": ("left_eye",),
    "right_ear": ("right_ear",),
    "left_ear": ("left_ear",),
    "left_big_toe": ("left_foot_index",),
    "left_small_toe": ("left_foot_index",),
    "left_heel": ("left_heel",),
    "right_big_toe": ("right_foot_index",),
    "right_small_toe": ("right_foot_index",),
    "right_heel": ("right_heel",),
}

BLAZEPOSE_INDEX: dict[str, int] = {name: i for i, name in enumerate(BLAZEPOSE_33)}


def left_right_pairs(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The ``(left, right)`` name pairs of a landmark set: names that differ only by the words
    ``left`` and ``right`` (``left_knee``/``right_knee``, ``mouth_left``/``mouth_right``)."""
    pairs = []
    for name in names:
        parts = name.split("_")
        if "left" in parts:
            mirror = "_".join("right" if part == "left" else part for part in parts)
            if mirror in names:
                pairs.append((name, mirror))
    return tuple(pairs)


#: BlazePose's 16 left/right landmark pairs (the nose has no mirror).
BLAZEPOSE_LEFT_RIGHT: tuple[tuple[str, str], ...] = left_right_pairs(BLAZEPOSE_33)

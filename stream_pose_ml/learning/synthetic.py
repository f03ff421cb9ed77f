"""Synthetic labelled poses for tests, benchmarks and a first try of the training workflow.

Each "video" is a BlazePose-33 sequence of a standing person whose left elbow is bent (class
``"Successful Weight Transfer"``, value 1) or nearly straight (``"Failure Weight Transfer"``, 0)
in alternating annotated segments, with per-video body size, position and posture and per-frame
sway and jitter. The features come from the real :class:`PoseFeatureTransform`, so the table
has the same layout as one built from video: ``video_id``, ``step_frame_id``, ``frame_number``,
``step_type``, ``weight_transfer_type``, then the feature columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stream_pose_ml.features.spec import FeatureSpec
from stream_pose_ml.features.transform import PoseFeatureTransform
from stream_pose_ml.features.windows import sliding_windows
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33
from stream_pose_ml.keypoints.sequence import PoseSequence

#: Label of each class value of ``weight_transfer_type``.
CLASS_LABELS: dict[int, str] = {0: "Failure Weight Transfer", 1: "Successful Weight Transfer"}
#: The value map the original StreamPoseML's notebook passes to ModelBuilder for these labels.
VALUE_MAP: dict[str, dict[str, int]] = {
    "weight_transfer_type": {label: value for value, label in CLASS_LABELS.items()}
}
#: Left elbow angle ranges in degrees per class value.
ELBOW_ANGLES: dict[int, tuple[float, float]] = {0: (150.0, 178.0), 1: (70.0, 115.0)}
IMAGE_SIZE = (1280, 720)

# Standing pose in body units: origin mid-hip, x to the image right, y down, torso length 1.
_BODY: dict[str, tuple[float, float]] = {
    "nose": (0.0, -1.38),
    "left_eye_inner": (0.03, -1.43),
    "left_eye": (0.055, -1.435),
    "left_eye_outer": (0.08, -1.43),
    "right_eye_inner": (-0.03, -1.43),
    "right_eye": (-0.055, -1.435),
    "right_eye_outer": (-0.08, -1.43),
    "left_ear": (0.12, -1.4),
    "right_ear": (-0.12, -1.4),
    "mouth_left": (0.04, -1.31),
    "mouth_right": (-0.04, -1.31),
    "left_shoulder": (0.23, -1.0),
    "right_shoulder": (-0.23, -1.0),
    "left_hip": (0.13, 0.0),
    "right_hip": (-0.13, 0.0),
    "left_knee": (0.14, 0.85),
    "right_knee": (-0.14, 0.85),
    "left_ankle": (0.14, 1.7),
    "right_ankle": (-0.14, 1.7),
    "left_heel": (0.13, 1.78),
    "right_heel": (-0.13, 1.78),
    "left_foot_index": (0.2, 1.82),
    "right_foot_index": (-0.2, 1.82),
}
_UPPER_ARM, _FOREARM = 0.55, 0.5
_INDEX = {name: i for i, name in enumerate(BLAZEPOSE_33)}


def _rotate(v: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    """Rotate ``(..., 2)`` vectors by ``(...)`` angles (degrees, counter-clockwise on screen)."""
    rad = np.deg2rad(degrees)[..., None]
    c, s = np.cos(rad), np.sin(rad)
    x, y = v[..., :1], v[..., 1:]
    return np.concatenate([x * c + y * s, -x * s + y * c], axis=-1)


def synthetic_sequence(
    classes: np.ndarray, rng: np.random.Generator, name: str = "synthetic"
) -> PoseSequence:
    """A pose sequence with one frame per entry of ``classes`` (0, 1, or -1 for unlabelled).

    Unlabelled frames get an elbow angle between the two class ranges' extremes.
    """
    n = len(classes)
    points = np.zeros((n, len(BLAZEPOSE_33), 2))
    for landmark, xy in _BODY.items():
        points[:, _INDEX[landmark]] = xy
    # posture of this person: knee bend and right arm are nuisance variation
    points[:, [_INDEX["left_knee"], _INDEX["right_knee"]], 0] += rng.normal(0, 0.03, 2)
    low = np.array([ELBOW_ANGLES.get(int(c), (60.0, 179.0))[0] for c in classes])
    high = np.array([ELBOW_ANGLES.get(int(c), (60.0, 179.0))[1] for c in classes])
    target = rng.uniform(low, high)
    elbow = np.convolve(np.pad(target, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    for side, sign, angle in (
        ("left", 1.0, elbow),
        ("right", -1.0, np.full(n, rng.uniform(120, 175))),
    ):
        shoulder = points[:, _INDEX[f"{side}_shoulder"]]
        abduction = rng.uniform(8, 25) + rng.normal(0, 1.5, n)
        down = np.stack([np.sin(np.deg2rad(sign * abduction)), np.cos(np.deg2rad(abduction))], -1)
        elbow_xy = shoulder + _UPPER_ARM * down
        # the forearm turns from "straight down" towards the body midline by 180 - angle
        forearm = _rotate(down, -sign * (180.0 - angle))
        wrist = elbow_xy + _FOREARM * forearm
        points[:, _INDEX[f"{side}_elbow"]] = elbow_xy
        points[:, _INDEX[f"{side}_wrist"]] = wrist
        for finger, offset in (("pinky", 0.06), ("index", 0.08), ("thumb", 0.05)):
            points[:, _INDEX[f"{side}_{finger}"]] = wrist + offset * forearm
    # this person in this video: size, position and slight lean; per frame: sway and jitter
    width, height = IMAGE_SIZE
    torso = rng.uniform(0.16, 0.24)  # torso length in image heights
    lean = rng.normal(0, 3) + 2 * np.sin(np.linspace(0, rng.uniform(2, 6), n))
    points = _rotate(points, lean[:, None])
    centre = np.array([rng.uniform(0.35, 0.65), rng.uniform(0.45, 0.6)])
    sway = np.stack([0.01 * np.sin(np.linspace(0, 4, n)), np.zeros(n)], -1)[:, None]
    xy = points * torso + sway + rng.normal(0, 0.002, points.shape)
    x = centre[0] + xy[..., 0] * height / width  # body units are image heights
    y = centre[1] + xy[..., 1]
    z = rng.normal(0, 0.05, x.shape)
    visibility = rng.uniform(0.85, 1.0, x.shape)
    data = np.stack([x, y, z, visibility], axis=-1)
    return PoseSequence(data=data, fps=30.0, image_size=IMAGE_SIZE, source="synthetic", name=name)


def synthetic_dataset(
    n_videos: int = 12,
    frames_per_video: int = 60,
    spec: FeatureSpec | None = None,
    seed: int = 0,
    unlabeled_frames: int = 4,
) -> tuple[pd.DataFrame, dict[str, PoseSequence]]:
    """A labelled feature table and its pose sequences (keyed by ``video_id``).

    Each video starts with ``unlabeled_frames`` unlabelled frames, then alternates classes in
    segments of 10-25 frames. With ``spec.window > 1`` a row is the window ending at each frame
    (flattened or pooled as the spec says), labelled by its last frame.
    """
    spec = spec or FeatureSpec(decimal_precision=4)
    transform = PoseFeatureTransform(spec).fit()
    columns = list(transform.get_feature_names_out())
    rng = np.random.default_rng(seed)
    tables, sequences = [], {}
    for v in range(n_videos):
        classes = np.full(frames_per_video, -1)
        start, current = unlabeled_frames, int(rng.integers(0, 2))
        while start < frames_per_video:
            stop = min(frames_per_video, start + int(rng.integers(10, 26)))
            classes[start:stop] = current
            start, current = stop, 1 - current
        video_id = f"video_{v:02d}"
        sequence = synthetic_sequence(classes, rng, name=video_id)
        sequences[video_id] = sequence
        if spec.window == 1:
            rows, last = transform.transform(sequence), np.arange(frames_per_video)
        else:
            sized = transform.with_input(image_size=sequence.image_size)
            rows = sized.transform(sliding_windows(sequence, spec.window))
            last = np.arange(spec.window - 1, frames_per_video)
        labels = classes[last]
        weight = np.array([CLASS_LABELS.get(int(c)) for c in labels], dtype=object)
        sides = np.where(last % 2 == 0, "Left Step", "Right Step").astype(object)
        step = np.where(labels >= 0, sides, np.array(None, dtype=object))
        meta = pd.DataFrame(
            {
                "video_id": video_id,
                "step_frame_id": np.where(labels >= 0, last - unlabeled_frames + 1, np.nan),
                "frame_number": last,
                "step_type": step,
                "weight_transfer_type": weight,
            }
        )
        tables.append(pd.concat([meta, pd.DataFrame(rows, columns=columns)], axis=1))
    table = pd.concat(tables, ignore_index=True)
    table.attrs["feature_spec"] = spec.to_dict()
    return table, sequences


def fit_window_model(window: int, seed: int = 0) -> tuple[Any, FeatureSpec]:
    """A small gradient-boosting classifier (it takes NaN, like frames without a detection)
    fitted on :func:`synthetic_dataset` windows of ``window`` frames (flattened, the real
    transform's columns), and its feature spec: a stand-in model for tests and demos, where
    what it answers does not matter."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    spec = FeatureSpec(window=window, window_mode="flatten", decimal_precision=4)
    table, _ = synthetic_dataset(n_videos=4, frames_per_video=40, spec=spec, seed=seed)
    columns = list(PoseFeatureTransform(spec).fit().get_feature_names_out())
    labelled = table[table["weight_transfer_type"].notna()]
    model = HistGradientBoostingClassifier(max_iter=15, random_state=seed)
    model.fit(labelled[columns], labelled["weight_transfer_type"])
    return model, spec

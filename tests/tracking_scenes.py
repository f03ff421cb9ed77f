"""Generated scenes of several people with known identities, for the tracker's tests.

A person is a frontal BlazePose-33 template (the person's left on the image's right, arms and
legs apart so that left and right differ) scaled to a height and placed by the position of
the feet; arms and legs swing with the walk. Each frame lists the visible people's detections
in a shuffled order, with their true names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, BLAZEPOSE_INDEX
from stream_pose_ml.tracking import PoseTracker, TrackerSettings, identity_report
from stream_pose_ml.tracking.identity import IdentityReport

FPS = 30.0
IMAGE_SIZE = (1920, 1080)
ASPECT = IMAGE_SIZE[0] / IMAGE_SIZE[1]

#: Template: (x, y) in body heights, the person's left at +x; y from the head top (-0.5) to
#: the soles (+0.5); 0 is the middle of the hips.
_SIDE = {
    "eye_inner": (0.012, -0.45),
    "eye": (0.025, -0.45),
    "eye_outer": (0.037, -0.45),
    "ear": (0.055, -0.44),
    "shoulder": (0.12, -0.32),
    "elbow": (0.17, -0.17),
    "wrist": (0.2, -0.03),
    "pinky": (0.21, 0.02),
    "index": (0.205, 0.025),
    "thumb": (0.19, 0.01),
    "hip": (0.07, 0.0),
    "knee": (0.085, 0.24),
    "ankle": (0.095, 0.45),
    "heel": (0.09, 0.47),
    "foot_index": (0.11, 0.5),
}


def _template() -> np.ndarray:
    points = np.zeros((len(BLAZEPOSE_33), 2))
    points[BLAZEPOSE_INDEX["nose"]] = (0.0, -0.42)
    points[BLAZEPOSE_INDEX["mouth_left"]] = (0.02, -0.39)
    points[BLAZEPOSE_INDEX["mouth_right"]] = (-0.02, -0.39)
    for part, (x, y) in _SIDE.items():
        points[BLAZEPOSE_INDEX[f"left_{part}"]] = (x, y)
        points[BLAZEPOSE_INDEX[f"right_{part}"]] = (-x, y)
    return points


TEMPLATE = _template()
_ARM = np.array(
    [
        BLAZEPOSE_INDEX[f"{s}_{p}"]
        for s in ("left", "right")
        for p in ("wrist", "pinky", "index", "thumb")
    ]
)
_LEG = np.array(
    [
        BLAZEPOSE_INDEX[f"{s}_{p}"]
        for s in ("left", "right")
        for p in ("ankle", "heel", "foot_index")
    ]
)
_SIDE_SIGN = np.where(TEMPLATE[:, 0] >= 0, 1.0, -1.0)


def pose(
    x: float,
    feet_y: float,
    height: float,
    phase: float,
    rng: np.random.Generator,
    noise: float = 0.002,
) -> np.ndarray:
    """``(33, 4)`` normalized ``x, y, z, visibility`` of one person; ``x`` is the body's centre."""
    body = TEMPLATE.copy()
    swing = 0.04 * np.sin(phase)
    body[_ARM, 1] += swing * _SIDE_SIGN[_ARM]
    body[_LEG, 1] -= 0.5 * abs(swing) * (1 + _SIDE_SIGN[_LEG]) / 2
    out = np.zeros((len(BLAZEPOSE_33), 4))
    out[:, 0] = x + body[:, 0] * height / ASPECT
    out[:, 1] = feet_y - (0.5 - body[:, 1]) * height
    out[:, :2] += rng.normal(0.0, noise, (len(BLAZEPOSE_33), 2))
    out[:, 3] = 0.95
    return out


#: frame index -> (x, feet_y, height), or None when the person is not detected
Path = Callable[[int], "tuple[float, float, float] | None"]


@dataclass(frozen=True)
class Scene:
    """Per frame: the detections ``(n, 33, 4)`` (shuffled) and their true names."""

    frames: list[np.ndarray]
    truths: list[list[str]]
    clean: list[np.ndarray]  # the detections before any injected swap

    def track(self, settings: TrackerSettings | None = None) -> tuple[IdentityReport, list[list]]:
        """Run `PoseTracker` over the scene: the identity report and the tracked poses."""
        tracker = PoseTracker(settings, image_size=IMAGE_SIZE)
        outputs, frames = [], []
        for i, detections in enumerate(self.frames):
            tracked = tracker.update(detections, i / FPS)
            outputs.append(tracked)
            given = {r.detection: r.track_id for r in tracked}
            frames.append({truth: given.get(k) for k, truth in enumerate(self.truths[i])})
        return identity_report(frames), outputs


def make_scene(paths: Mapping[str, Path], n_frames: int, seed: int = 0) -> Scene:
    rng = np.random.default_rng(seed)
    frames, truths = [], []
    for i in range(n_frames):
        names, poses = [], []
        for k, (name, path) in enumerate(paths.items()):
            where = path(i)
            if where is not None:
                names.append(name)
                poses.append(pose(*where, phase=0.3 * i + k, rng=rng))
        order = rng.permutation(len(names))
        frames.append(np.array([poses[j] for j in order]).reshape(len(names), 33, 4))
        truths.append([names[j] for j in order])
    return Scene(frames, truths, [f.copy() for f in frames])


def walk(x0: float, x1: float, feet_y: float, height: float, n_frames: int, start: int = 0) -> Path:
    """Walking from ``x0`` to ``x1`` over ``n_frames`` from frame ``start``; detected while the
    body's centre is inside the image."""

    def where(i: int) -> tuple[float, float, float] | None:
        t = (i - start) / n_frames
        if t < 0 or t > 1:
            return None
        x = x0 + (x1 - x0) * t
        return (x, feet_y, height) if 0.0 <= x <= 1.0 else None

    return where


def still(x: float, feet_y: float, height: float) -> Path:
    """Standing at one place."""
    return lambda i: (x, feet_y, height)


def along(xs: Sequence[float], feet_y: float, height: float) -> Path:
    """At ``xs[i]`` in frame ``i``."""
    return lambda i: (float(xs[i]), feet_y, height)


def hidden(path: Path, frames: range) -> Path:
    """``path`` with no detection in ``frames`` (an occlusion)."""
    return lambda i: None if i in frames else path(i)


def inject_swaps(
    scene: Scene, share: float, seed: int = 1, after: int = 10
) -> tuple[Scene, set[tuple[int, int]]]:
    """Swap a random left/right group (face, arms, legs or all) of ``share`` of the detections
    after frame ``after``; returns the scene and the swapped (frame, detection) pairs."""
    from stream_pose_ml.tracking.similarity import mirror_permutation, swap_groups

    rng = np.random.default_rng(seed)
    mirror = mirror_permutation(BLAZEPOSE_33)
    _, membership = swap_groups(BLAZEPOSE_33)
    frames, swapped = [], set()
    for i, detections in enumerate(scene.frames):
        detections = detections.copy()
        for k in range(len(detections)):
            if i > after and rng.random() < share:
                choice = rng.integers(len(membership) + 1)
                group = membership.any(axis=0) if choice == len(membership) else membership[choice]
                order = np.where(group, mirror, np.arange(len(BLAZEPOSE_33)))
                detections[k] = detections[k][order]
                swapped.add((i, k))
        frames.append(detections)
    return Scene(frames, scene.truths, scene.clean), swapped

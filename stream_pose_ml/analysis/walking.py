"""Synthetic walking and running with known foot contacts, for the gait analyzer's accuracy.

Each foot repeats a stride: stance (on the floor; still, or sliding back on a treadmill) for
``duty`` of it, then swing (lifted, carried forward from rest). A real heel touches down still
moving forward and stops within a few hundredths of a second as the foot rolls onto it (the
demo walker's heel lands at a median 0.84 of the walking speed, docs/analysis.md; Bruening &
Ridge 2014 put their contact threshold at 0.78): here it lands at ``contact_speed`` times the
walking speed and brakes evenly over ``glide_s``. Initial contact is the first stance frame
(the first with the heel on the floor), toe-off the first swing frame; the knees follow from the
hip and ankle (two-link inverse kinematics), the pelvis bobs, the arms swing against the legs.
The 3-D points are projected by `motion.project`, with its noise and dropped frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stream_pose_ml.analysis.motion import (
    ANKLE_HEIGHT,
    HEAD,
    HIP_HALF,
    SHIN,
    SHOULDER_HALF,
    THIGH,
    TORSO,
    project,
)
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_INDEX
from stream_pose_ml.keypoints.sequence import PoseSequence

FOOT_LENGTH = 0.2


@dataclass
class GaitTruth:
    """Frames of each foot's initial contacts and toe-offs (first stance / first swing frame)."""

    contacts: dict[str, list[int]] = field(default_factory=dict)
    toe_offs: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class WalkingSession:
    sequence: PoseSequence
    truth: GaitTruth
    cadence: float  # steps per minute
    duty: float  # stance share of a stride
    in_view: np.ndarray  # (frames,) bool: the person is inside the picture (dropped or not)


def _knee(hip: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """Knee positions ``(n, 2)`` (forward, up) bending forward, from hip and ankle ``(n, 2)``."""
    d = ankle - hip
    dist = np.clip(np.linalg.norm(d, axis=1), 1e-6, THIGH + SHIN - 1e-6)
    along = (THIGH**2 - SHIN**2 + dist**2) / (2 * dist)
    across = np.sqrt(np.maximum(THIGH**2 - along**2, 0.0))
    unit = d / dist[:, None]
    normal = np.stack([-unit[:, 1], unit[:, 0]], axis=1)  # rotated +90: forward for a leg down
    knee = hip + unit * along[:, None] + normal * across[:, None]
    return np.where(normal[:, :1] < 0, hip + unit * along[:, None] - normal * across[:, None], knee)


def walking_session(
    cadence: float = 110.0,
    duty: float = 0.6,
    stride_length: float = 1.3,
    seconds: float = 8.0,
    treadmill: bool = False,
    yaw_deg: float = 90.0,
    fps: float = 30.0,
    noise_px: float = 1.5,
    drop_rate: float = 0.0,
    seed: int = 0,
    contact_speed: float = 0.8,
    glide_s: float = 0.05,
) -> WalkingSession:
    """Walking (``duty`` > 0.5) or running (``duty`` < 0.5, with flight) at ``cadence`` steps
    per minute; overground (the pelvis travels) or on a treadmill (it stays). The heel lands at
    ``contact_speed`` times the walking speed and stops over ``glide_s`` seconds."""
    n = round(seconds * fps)
    t = np.arange(n) / fps
    stride_s = 120.0 / cadence
    speed = stride_length / stride_s
    rng = np.random.default_rng(seed)
    start_phase = float(rng.uniform(0.0, 1.0))
    pelvis_f = np.zeros(n) if treadmill else speed * t - speed * seconds / 2
    points = np.zeros((n, 33, 3))
    idx = BLAZEPOSE_INDEX
    truth = GaitTruth()
    hip_u = ANKLE_HEIGHT + (THIGH + SHIN) * (0.95 if duty > 0.5 else 0.9)
    hip_u = hip_u + 0.02 * np.cos(4 * np.pi * (t / stride_s + start_phase))
    for side, offset, lat in (("right", 0.0, -1.0), ("left", 0.5, 1.0)):
        phase_total = t / stride_s + start_phase + offset
        stride_no, phase = np.floor(phase_total), phase_total % 1.0
        stance = phase < duty
        # foot position (heel) forward: contact at x_c, then swing to x_c + stride_length
        # contact half a stance ahead of the pelvis (which is where the pelvis is then)
        contact_at = (stride_no - start_phase - offset) * stride_length - speed * seconds / 2
        contact_at = contact_at + duty * stride_length / 2
        swing = np.clip((phase - duty) / (1.0 - duty), 0.0, 1.0)
        # stance: the heel lands at contact_speed x speed and brakes evenly over glide_s
        since = np.minimum(phase * stride_s, glide_s)
        landing = contact_speed * speed
        glide = landing * glide_s / 2
        settle = landing * since - landing * since**2 / (2 * glide_s)
        # swing: from rest to the next landing speed (a cubic with those end slopes)
        end_slope = landing * (1.0 - duty) * stride_s / (stride_length - glide)
        ease = (end_slope - 2) * swing**3 + (3 - end_slope) * swing**2
        heel_f = np.where(
            stance, contact_at + settle, contact_at + glide + (stride_length - glide) * ease
        )
        if treadmill:
            heel_f = heel_f - speed * t + speed * seconds / 2
        lift = np.where(stance, 0.0, 0.1 * np.sin(np.pi * swing))
        heel_u = 0.03 + lift
        toe_f, toe_u = heel_f + FOOT_LENGTH, 0.02 + lift
        # heel rises at the end of stance, toe still down
        push = np.where(stance, np.clip((phase - (duty - 0.15)) / 0.15, 0.0, 1.0), 0.0)
        heel_u = heel_u + 0.08 * push
        ankle_f, ankle_u = heel_f + 0.05, heel_u + 0.05
        hip = np.stack([pelvis_f, hip_u], axis=1)
        knee = _knee(hip, np.stack([ankle_f, ankle_u], axis=1))
        for name, f, u in (
            ("hip", pelvis_f, hip_u),
            ("knee", knee[:, 0], knee[:, 1]),
            ("ankle", ankle_f, ankle_u),
            ("heel", heel_f, heel_u),
            ("foot_index", toe_f, toe_u),
        ):
            points[:, idx[f"{side}_{name}"]] = np.stack([f, u, np.full(n, lat * HIP_HALF)], axis=1)
        starts = np.flatnonzero(stance[1:] & ~stance[:-1]) + 1
        offs = np.flatnonzero(~stance[1:] & stance[:-1]) + 1
        truth.contacts[side] = starts.tolist()
        truth.toe_offs[side] = offs.tolist()
        # the opposite arm swings with this leg
        arm = "left" if side == "right" else "right"
        swing_angle = 0.35 * np.sin(2 * np.pi * phase_total)
        sh_f, sh_u = pelvis_f, hip_u + TORSO
        elbow = np.stack([sh_f + 0.28 * np.sin(swing_angle), sh_u - 0.28 * np.cos(swing_angle)], 1)
        wrist = elbow + np.stack(
            [0.26 * np.sin(swing_angle + 0.3), -0.26 * np.cos(swing_angle + 0.3)], 1
        )
        arm_lat = -lat * SHOULDER_HALF
        points[:, idx[f"{arm}_shoulder"]] = np.stack([sh_f, sh_u, np.full(n, arm_lat)], 1)
        points[:, idx[f"{arm}_elbow"]] = np.stack(
            [elbow[:, 0], elbow[:, 1], np.full(n, arm_lat)], 1
        )
        for part in ("wrist", "pinky", "index", "thumb"):
            points[:, idx[f"{arm}_{part}"]] = np.stack(
                [wrist[:, 0], wrist[:, 1], np.full(n, arm_lat)], 1
            )
    head_u = hip_u + TORSO + HEAD
    for name, df, du, dl in (
        ("nose", 0.11, 0.0, 0.0),
        ("left_eye", 0.09, 0.03, 0.03),
        ("right_eye", 0.09, 0.03, -0.03),
        ("left_eye_inner", 0.1, 0.03, 0.015),
        ("right_eye_inner", 0.1, 0.03, -0.015),
        ("left_eye_outer", 0.08, 0.03, 0.045),
        ("right_eye_outer", 0.08, 0.03, -0.045),
        ("left_ear", 0.0, 0.0, 0.07),
        ("right_ear", 0.0, 0.0, -0.07),
        ("mouth_left", 0.1, -0.05, 0.025),
        ("mouth_right", 0.1, -0.05, -0.025),
    ):
        points[:, idx[name]] = np.stack([pelvis_f + df, head_u + du, np.full(n, dl)], 1)
    sequence = project(points, yaw_deg, noise_px, drop_rate, seed, fps, name="walking")
    # overground, the person walks out of the picture: those frames have nobody
    pelvis_x = sequence.data[:, [idx["left_hip"], idx["right_hip"]], 0].mean(axis=1)
    outside = (pelvis_x < 0.08) | (pelvis_x > 0.92)
    sequence.data[outside] = np.nan
    return WalkingSession(sequence, truth, cadence, duty, ~outside)

"""Synthetic movements with known truth: a kinematic skeleton squatting, falling, sitting.

A 3-D stick figure (segment lengths of an adult, metres) is posed frame by frame from joint
angles, projected orthographically for a camera at a chosen yaw (0: the person faces the camera,
90: the person faces image right, their right side nearest), and turned into BlazePose
``(frames, 33, 4)`` landmarks with pixel noise and dropped frames. Because the joint angles are
chosen, the truth (repetition frames, depth, lean, valgus, fall onset) is known exactly; the
accuracy tests and docs/analysis.md measure the analyzers against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_INDEX
from stream_pose_ml.keypoints.sequence import PoseSequence

# segment lengths and half widths, metres
SHIN, THIGH, TORSO, HEAD = 0.43, 0.45, 0.52, 0.22
ANKLE_HEIGHT, HIP_HALF, SHOULDER_HALF, ANKLE_HALF = 0.08, 0.1, 0.19, 0.15
IMAGE_SIZE = (1280, 720)
METRES_TO_HEIGHTS = 0.42  # image heights per metre: a standing adult fills ~3/4 of the frame
FLOOR_Y = 0.9  # normalized image y of the floor


def _ease(n: int) -> np.ndarray:
    """``n`` samples of a smooth 0 -> 1 transition (half a cosine)."""
    return 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, max(n, 2)))[:n]


def body_points(
    knee_flexion_deg: np.ndarray,
    valgus: np.ndarray,
    trunk_lean_deg: np.ndarray,
    shin_lean_share: np.ndarray,
) -> np.ndarray:
    """``(frames, 33, 3)`` body points (forward, up, left metres; feet on the floor at 0).

    The shins lean forward by ``shin_lean_share`` of the knee flexion; ``valgus`` in [0, 1) moves
    the knees inward by that share of the ankle half width at full flexion.
    """
    n = len(knee_flexion_deg)
    flex = np.radians(knee_flexion_deg)
    alpha = flex * shin_lean_share
    beta = np.radians(trunk_lean_deg)
    depth_share = np.clip(knee_flexion_deg / 90.0, 0.0, 1.5)
    out = np.zeros((n, 33, 3))

    def put(name: str, f: np.ndarray, u: np.ndarray, lat: np.ndarray | float) -> None:
        out[:, BLAZEPOSE_INDEX[name]] = np.stack([f, u, np.broadcast_to(lat, f.shape)], axis=-1)

    knee_f, knee_u = SHIN * np.sin(alpha), ANKLE_HEIGHT + SHIN * np.cos(alpha)
    hip_f, hip_u = knee_f + THIGH * np.sin(alpha - flex), knee_u + THIGH * np.cos(alpha - flex)
    sh_f, sh_u = hip_f + TORSO * np.sin(beta), hip_u + TORSO * np.cos(beta)
    zero = np.zeros(n)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        knee_lat = sign * (ANKLE_HALF * (1.0 - valgus * np.minimum(depth_share, 1.0)))
        put(f"{side}_ankle", zero, zero + ANKLE_HEIGHT, sign * ANKLE_HALF)
        put(f"{side}_heel", zero - 0.06, zero + 0.03, sign * ANKLE_HALF)
        put(f"{side}_foot_index", zero + 0.14, zero + 0.02, sign * (ANKLE_HALF + 0.03))
        put(f"{side}_knee", knee_f, knee_u, knee_lat)
        put(f"{side}_hip", hip_f, hip_u, sign * HIP_HALF)
        put(f"{side}_shoulder", sh_f, sh_u, sign * SHOULDER_HALF)
        # arms reach forward as a counterweight, more so when deeper
        reach = np.radians(30.0 + 50.0 * np.minimum(depth_share, 1.0))
        elbow_f, elbow_u = sh_f + 0.28 * np.sin(reach), sh_u - 0.28 * np.cos(reach)
        wrist_f, wrist_u = (
            elbow_f + 0.26 * np.sin(reach + 0.3),
            elbow_u - 0.26 * np.cos(reach + 0.3),
        )
        put(f"{side}_elbow", elbow_f, elbow_u, sign * (SHOULDER_HALF + 0.02))
        put(f"{side}_wrist", wrist_f, wrist_u, sign * SHOULDER_HALF)
        for hand, d in (("pinky", -0.02), ("index", 0.02), ("thumb", 0.0)):
            put(f"{side}_{hand}", wrist_f + 0.07, wrist_u + d, sign * SHOULDER_HALF)
        put(f"{side}_eye", sh_f + HEAD * np.sin(beta) + 0.09, sh_u + HEAD + 0.03, sign * 0.03)
        put(f"{side}_eye_inner", sh_f + HEAD * np.sin(beta) + 0.1, sh_u + HEAD + 0.03, sign * 0.015)
        put(
            f"{side}_eye_outer", sh_f + HEAD * np.sin(beta) + 0.08, sh_u + HEAD + 0.03, sign * 0.045
        )
        put(f"{side}_ear", sh_f + HEAD * np.sin(beta), sh_u + HEAD, sign * 0.07)
    put("nose", sh_f + HEAD * np.sin(beta) + 0.11, sh_u + HEAD, 0.0)
    put("mouth_left", sh_f + HEAD * np.sin(beta) + 0.1, sh_u + HEAD - 0.05, 0.025)
    put("mouth_right", sh_f + HEAD * np.sin(beta) + 0.1, sh_u + HEAD - 0.05, -0.025)
    return out


def project(
    points: np.ndarray,
    yaw_deg: float,
    noise_px: float = 0.0,
    drop_rate: float = 0.0,
    seed: int = 0,
    fps: float = 30.0,
    name: str = "synthetic",
) -> PoseSequence:
    """Body points ``(frames, 33, 3)`` (forward, up, left metres) as seen by a camera at
    ``yaw_deg``: BlazePose landmarks with Gaussian ``noise_px`` pixel noise and a share
    ``drop_rate`` of frames without a detection."""
    rng = np.random.default_rng(seed)
    yaw = np.radians(yaw_deg)
    forward, up, left = points[..., 0], points[..., 1], points[..., 2]
    across = forward * np.sin(yaw) + left * np.cos(yaw)  # image right
    depth = -forward * np.cos(yaw) + left * np.sin(yaw)  # away from the camera
    width, height = IMAGE_SIZE
    x = 0.5 + across * METRES_TO_HEIGHTS * height / width
    y = FLOOR_Y - up * METRES_TO_HEIGHTS
    x = x + rng.normal(0.0, noise_px / width, x.shape)
    y = y + rng.normal(0.0, noise_px / height, y.shape)
    # the far side of the body is seen less surely
    visibility = np.clip(0.95 - 1.5 * (depth - depth.mean(axis=1, keepdims=True)), 0.35, 0.99)
    data = np.stack([x, y, depth * METRES_TO_HEIGHTS, visibility], axis=-1)
    dropped = rng.random(len(data)) < drop_rate
    data[dropped] = np.nan
    return PoseSequence(data=data, fps=fps, image_size=IMAGE_SIZE, source="synthetic", name=name)


#: The knee angle (degrees) the truth's start and end frames are measured at.
STANDING_KNEE_DEG = 160.0


@dataclass(frozen=True)
class SquatRep:
    """One scripted repetition: bottom knee angle (degrees, 180 straight), phase times in
    seconds, knee valgus share, extra trunk lean (degrees) and shin lean share."""

    bottom_knee_deg: float = 80.0
    down_s: float = 1.0
    bottom_s: float = 0.2
    up_s: float = 0.9
    rest_s: float = 0.8
    valgus: float = 0.0
    extra_lean_deg: float = 0.0
    shin_lean_share: float = 0.3


@dataclass
class SquatTruth:
    """The scripted truth of one repetition (frames of the generated sequence)."""

    start_frame: int  # the last frame with a knee angle >= STANDING_KNEE_DEG before the bottom
    bottom_frames: tuple[int, int]  # first and last frame at the deepest knee angle
    end_frame: int  # the first frame back at >= STANDING_KNEE_DEG
    bottom_knee_deg: float
    hip_below_knee: bool
    max_trunk_lean_deg: float
    max_knee_over_toe: float
    min_knee_ankle_ratio: float


@dataclass
class SquatSession:
    sequence: PoseSequence
    truth: list[SquatTruth] = field(default_factory=list)


def squat_session(
    reps: list[SquatRep],
    yaw_deg: float = 90.0,
    fps: float = 30.0,
    noise_px: float = 1.5,
    drop_rate: float = 0.0,
    lead_s: float = 1.0,
    seed: int = 0,
) -> SquatSession:
    """A person standing ``lead_s`` seconds, then doing ``reps``; with the truth of each."""
    flex: list[np.ndarray] = [np.zeros(round(lead_s * fps))]
    valgus: list[np.ndarray] = [np.zeros(len(flex[0]))]
    lean: list[np.ndarray] = [np.zeros(len(flex[0]))]
    shin: list[np.ndarray] = [np.full(len(flex[0]), 0.3)]
    spans: list[tuple[int, int, int, int]] = []
    frame = len(flex[0])
    for rep in reps:
        depth = 180.0 - rep.bottom_knee_deg
        parts = [
            depth * _ease(round(rep.down_s * fps)),
            np.full(round(rep.bottom_s * fps), depth),
            depth * (1.0 - _ease(round(rep.up_s * fps))),
            np.zeros(round(rep.rest_s * fps)),
        ]
        curve = np.concatenate(parts)
        n = len(curve)
        bent = np.flatnonzero(curve > 180.0 - STANDING_KNEE_DEG)
        deepest = np.flatnonzero(curve >= depth - 1e-9)
        spans.append(
            (
                frame + int(bent[0]) - 1,
                frame + int(deepest[0]),
                frame + int(deepest[-1]),
                frame + int(bent[-1]) + 1,
            )
        )
        flex.append(curve)
        valgus.append(np.full(n, rep.valgus))
        lean.append(curve * 0.3 + rep.extra_lean_deg * curve / max(depth, 1e-9))
        shin.append(np.full(n, rep.shin_lean_share))
        frame += n
    knee_flexion = np.concatenate(flex)
    points = body_points(
        knee_flexion, np.concatenate(valgus), np.concatenate(lean), np.concatenate(shin)
    )
    sequence = project(points, yaw_deg, noise_px, drop_rate, seed, fps, name="squats")
    truth = []
    idx = BLAZEPOSE_INDEX
    for (start, b0, b1, end), rep in zip(spans, reps, strict=True):
        seg = points[start : end + 1]
        hip, knee = seg[:, idx["right_hip"]], seg[:, idx["right_knee"]]
        toe, ankle = seg[:, idx["right_foot_index"]], seg[:, idx["right_ankle"]]
        shoulder = seg[:, idx["right_shoulder"]]
        trunk = shoulder - hip
        lean_deg = np.degrees(np.arctan2(np.abs(trunk[:, 0]), trunk[:, 1]))
        knee_gap = seg[:, idx["left_knee"], 2] - seg[:, idx["right_knee"], 2]
        ankle_gap = seg[:, idx["left_ankle"], 2] - seg[:, idx["right_ankle"], 2]
        truth.append(
            SquatTruth(
                start_frame=start,
                bottom_frames=(b0, b1),
                end_frame=end,
                bottom_knee_deg=rep.bottom_knee_deg,
                hip_below_knee=bool((hip[:, 1] < knee[:, 1]).any()),
                max_trunk_lean_deg=float(lean_deg.max()),
                max_knee_over_toe=float(
                    ((knee[:, 0] - toe[:, 0]) / np.linalg.norm(knee - ankle, axis=1)).max()
                ),
                min_knee_ankle_ratio=float((knee_gap / ankle_gap).min()),
            )
        )
    return SquatSession(sequence, truth)


#: Falls, and the daily activities a fall detector must not mistake for one.
FALLS = ("fall_forward", "fall_backward", "fall_sideways")
DAILY_ACTIVITIES = ("sit_down", "lie_down_slowly", "bend", "squat_fast")


@dataclass
class FallSession:
    """A generated activity: ``onset_frame``/``impact_frame`` of the fall (None when no fall)."""

    sequence: PoseSequence
    activity: str
    onset_frame: int | None = None
    impact_frame: int | None = None


def _tilt(points: np.ndarray, pitch_deg: np.ndarray, roll_deg: np.ndarray) -> np.ndarray:
    """Rotate body points about the feet: ``pitch`` forward (negative: backward), ``roll`` to
    the person's left; nothing goes below the floor."""
    pitch = np.radians(pitch_deg)[:, None]
    roll = np.radians(roll_deg)[:, None]
    f, u, lat = points[..., 0], points[..., 1], points[..., 2]
    f, u = f * np.cos(pitch) + u * np.sin(pitch), -f * np.sin(pitch) + u * np.cos(pitch)
    lat, u = lat * np.cos(roll) + u * np.sin(roll), -lat * np.sin(roll) + u * np.cos(roll)
    return np.stack([f, np.maximum(u, 0.0), lat], axis=-1)


def _hold(value: float, seconds: float, fps: float) -> np.ndarray:
    return np.full(max(round(seconds * fps), 1), float(value))


def _move(
    start: float, end: float, seconds: float, fps: float, accelerate: bool = False
) -> np.ndarray:
    n = max(round(seconds * fps), 2)
    share = np.linspace(0.0, 1.0, n) ** 2 if accelerate else _ease(n)
    return start + (end - start) * share


def fall_session(
    activity: str,
    yaw_deg: float = 90.0,
    fps: float = 30.0,
    noise_px: float = 1.5,
    drop_rate: float = 0.0,
    seed: int = 0,
) -> FallSession:
    """One ``activity`` (:data:`FALLS` or :data:`DAILY_ACTIVITIES`) after 1-2 s of standing,
    with durations drawn from ``seed``; a fall's onset is the first frame of the fall."""
    rng = np.random.default_rng(seed)
    lead = _hold(0.0, float(rng.uniform(1.0, 2.0)), fps)
    onset = impact = None
    if activity in FALLS:
        fall_s = float(rng.uniform(0.6, 1.0))
        angle = float(rng.uniform(80.0, 90.0))
        tilt = np.concatenate(
            [lead * 0, _move(0.0, angle, fall_s, fps, True), _hold(angle, 2.5, fps)]
        )
        buckle = 60.0 if activity == "fall_backward" else float(rng.uniform(0.0, 25.0))
        flex = np.concatenate([lead, _move(0.0, buckle, fall_s, fps), _hold(buckle, 2.5, fps)])
        lean = np.zeros(len(flex))
        onset, impact = len(lead), len(lead) + round(fall_s * fps) - 1
        pitch = {"fall_forward": tilt, "fall_backward": -tilt}.get(activity, np.zeros(len(tilt)))
        roll = tilt if activity == "fall_sideways" else np.zeros(len(tilt))
    elif activity in ("sit_down", "squat_fast"):
        down = (
            float(rng.uniform(1.2, 2.0))
            if activity == "sit_down"
            else float(rng.uniform(0.35, 0.5))
        )
        depth = float(rng.uniform(85.0, 100.0)) if activity == "sit_down" else 125.0
        hold = 3.0 if activity == "sit_down" else 0.1
        flex = np.concatenate(
            [
                lead,
                _move(0.0, depth, down, fps),
                _hold(depth, hold, fps),
                _move(depth, 0.0, down, fps),
                _hold(0.0, 1.0, fps),
            ]
        )
        lean = flex * 0.3
        pitch = roll = np.zeros(len(flex))
    elif activity == "lie_down_slowly":
        sit_s, lie_s = float(rng.uniform(1.5, 2.5)), float(rng.uniform(2.5, 4.0))
        flex = np.concatenate(
            [
                lead,
                _move(0.0, 100.0, sit_s, fps),
                _move(100.0, 20.0, lie_s, fps),
                _hold(20.0, 2.0, fps),
            ]
        )
        lean = np.concatenate(
            [lead, _move(0.0, 30.0, sit_s, fps), _move(30.0, 0.0, lie_s, fps), _hold(0.0, 2.0, fps)]
        )
        pitch = -np.concatenate(
            [
                lead * 0,
                np.zeros(round(sit_s * fps)),
                _move(0.0, 85.0, lie_s, fps),
                _hold(85.0, 2.0, fps),
            ]
        )
        roll = np.zeros(len(flex))
    elif activity == "bend":
        bend_s = float(rng.uniform(0.8, 1.5))
        lean = np.concatenate(
            [
                lead,
                _move(0.0, 90.0, bend_s, fps),
                _hold(90.0, 1.5, fps),
                _move(90.0, 0.0, bend_s, fps),
                _hold(0.0, 1.0, fps),
            ]
        )
        flex = lean * 0.2
        pitch = roll = np.zeros(len(flex))
    else:
        raise ValueError(f"unknown activity {activity!r}; have {FALLS + DAILY_ACTIVITIES}")
    n = min(len(flex), len(lean), len(pitch), len(roll))
    upright = body_points(flex[:n], np.zeros(n), lean[:n], np.full(n, 0.3))
    points = _tilt(upright, pitch[:n], roll[:n])
    sequence = project(points, yaw_deg, noise_px, drop_rate, seed, fps, name=activity)
    return FallSession(sequence, activity, onset, impact)

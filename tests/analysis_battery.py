"""Generated squat sessions and falls with known truth, scored against the analyzers (shared
by the analyzer tests and the accuracy numbers of docs/analysis.md)."""

from __future__ import annotations

from typing import Any

import numpy as np

from stream_pose_ml.analysis import SquatAnalyzer, SquatParams, analyze
from stream_pose_ml.analysis.accuracy import SquatScore
from stream_pose_ml.analysis.falls import FallAnalyzer
from stream_pose_ml.analysis.gait import GaitAnalyzer, GaitParams
from stream_pose_ml.analysis.motion import (
    DAILY_ACTIVITIES,
    FALLS,
    FallSession,
    SquatRep,
    SquatSession,
    fall_session,
    squat_session,
)
from stream_pose_ml.analysis.walking import WalkingSession, walking_session

SIDE_YAWS = (90.0, -90.0, 80.0, -80.0)
FRONT_YAWS = (0.0, 15.0, -15.0, 180.0)
DEPTHS = (45.0, 60.0, 75.0, 85.0, 115.0, 125.0, 130.0)  # >= 15 degrees from the 100 threshold


def random_session(rng: np.random.Generator, yaw: float, seed: int) -> SquatSession:
    reps = [
        SquatRep(
            bottom_knee_deg=float(rng.choice(DEPTHS)),
            down_s=float(rng.uniform(0.4, 1.6)),
            bottom_s=float(rng.choice([0.0, 0.3, 1.0])),
            up_s=float(rng.uniform(0.4, 1.4)),
            rest_s=float(rng.choice([0.3, 1.0, 2.0])),
            valgus=float(rng.choice([0.0, 0.4])),
            extra_lean_deg=float(rng.choice([0.0, 0.0, 25.0])),
            shin_lean_share=float(rng.choice([0.2, 0.3, 0.45])),
        )
        for _ in range(int(rng.integers(3, 7)))
    ]
    return squat_session(
        reps,
        yaw_deg=yaw,
        noise_px=float(rng.choice([1.0, 2.0, 3.0])),
        drop_rate=float(rng.choice([0.0, 0.03, 0.08])),
        seed=seed,
    )


def judged(value: float, threshold: float, margin: float, above: bool) -> bool | None:
    """Whether ``value`` breaks ``threshold`` (above or below it), None within ``margin``."""
    if abs(value - threshold) < margin:
        return None
    return value > threshold if above else value < threshold


def score_battery(
    view: str, sessions: int, seed: int = 0, params: SquatParams | None = None
) -> SquatScore:
    """Score ``sessions`` random sessions filmed from the ``side`` or the ``front``."""
    params = params or SquatParams()
    rng = np.random.default_rng(seed)
    yaws = SIDE_YAWS if view == "side" else FRONT_YAWS
    score = SquatScore()
    for i in range(sessions):
        session = random_session(rng, float(yaws[i % len(yaws)]), seed * 1000 + i)
        events = analyze(SquatAnalyzer(params), session.sequence).events
        truth = session.truth
        if view == "side":
            flags = {
                "trunk_lean": [
                    judged(t.max_trunk_lean_deg, params.max_trunk_lean_deg, 4.0, True)
                    for t in truth
                ],
                "knee_over_toe": [
                    judged(t.max_knee_over_toe, params.max_knee_over_toe, 0.06, True) for t in truth
                ],
            }
        else:
            flags = {
                "knee_valgus": [
                    judged(t.min_knee_ankle_ratio, params.min_knee_ankle_ratio, 0.07, False)
                    for t in truth
                ]
            }
        score.add(events, truth, params.max_bottom_knee_deg, flags)
    return score


FALL_YAWS = (90.0, -90.0, 0.0, 180.0, 45.0)


def fall_sessions(seeds: range, drop_rate: float = 0.03) -> list[FallSession]:
    """Every fall and daily activity, from every `FALL_YAWS` camera, for each seed."""
    return [
        fall_session(
            activity,
            yaw_deg=yaw,
            noise_px=1.0 + (seed % 3),
            drop_rate=drop_rate,
            seed=seed * 100 + j * 10 + k,
        )
        for seed in seeds
        for j, activity in enumerate(FALLS + DAILY_ACTIVITIES)
        for k, yaw in enumerate(FALL_YAWS)
    ]


def score_falls(sessions: list[FallSession], analyzer: FallAnalyzer) -> dict[str, Any]:
    """Falls found (an event between onset and 1 s after impact), false alarms on daily
    activities, onset error and delay after impact (seconds)."""
    found = missed = false_alarms = 0
    onset_errors: list[float] = []
    delays: list[float] = []
    for session in sessions:
        events = [e for e in analyze(analyzer, session.sequence).events if e.kind == "fall"]
        if session.onset_frame is None or session.impact_frame is None:
            false_alarms += len(events)
            continue
        fps = float(session.sequence.fps or 30.0)
        hits = [
            e for e in events if session.onset_frame <= e.end_frame <= session.impact_frame + fps
        ]
        found += int(bool(hits))
        missed += int(not hits)
        false_alarms += len(events) - min(len(hits), 1)
        if hits:
            onset_errors.append((hits[0].start_frame - session.onset_frame) / fps)
            delays.append((hits[0].end_frame - session.impact_frame) / fps)
    return {
        "falls": found + missed,
        "found": found,
        "missed": missed,
        "daily_activities": sum(s.onset_frame is None for s in sessions),
        "false_alarms": false_alarms,
        "onset_error_mean_s": round(float(np.mean(onset_errors)), 3) if onset_errors else None,
        "onset_error_max_s": round(float(np.max(onset_errors)), 3) if onset_errors else None,
        "delay_after_impact_mean_s": round(float(np.mean(delays)), 3) if delays else None,
        "delay_after_impact_max_s": round(float(np.max(delays)), 3) if delays else None,
    }


def score_gait(
    sessions: list[WalkingSession], params: GaitParams, start_s: float = 1.0, model: Any = None
) -> dict[str, Any]:
    """Each true initial contact / toe-off after ``start_s`` (the floor line needs a second)
    matched to the nearest detected one of the same foot: the share of them within 1 and 2
    frames (a miss, nothing within 5 frames, counts as outside), the mean signed and absolute
    errors (frames) of those found, and the misses. An event is scored when the person is in
    the picture from 5 frames before it to 5 after (dropped frames included): nothing can tell
    a heel's peak on the first frames of a person, nor confirm it once they have left.
    ``model``: a `GaitContactModel` for ``method="classifier"``."""
    out: dict[str, Any] = {}
    for kind, attr in (("initial_contact", "contacts"), ("toe_off", "toe_offs")):
        errors: list[int] = []
        missed = 0
        for session in sessions:
            events = analyze(GaitAnalyzer(params, model), session.sequence).events
            fps = float(session.sequence.fps or 30.0)
            for foot, frames in getattr(session.truth, attr).items():
                found = np.array(
                    [e.start_frame for e in events if e.kind == kind and e.values["foot"] == foot]
                )
                for frame in frames:
                    view = session.in_view[max(frame - 5, 0) : frame + 6]
                    if frame < start_s * fps or len(view) < 11 or not view.all():
                        continue
                    near = found[np.abs(found - frame) <= 5] if len(found) else found
                    if not len(near):
                        missed += 1
                        continue
                    errors.append(int(near[np.argmin(np.abs(near - frame))] - frame))
        array = np.array(errors)
        scored = len(errors) + missed
        out[kind] = {
            "events": scored,
            "within_1_frame": round(float(np.sum(np.abs(array) <= 1)) / scored, 4),
            "within_2_frames": round(float(np.sum(np.abs(array) <= 2)) / scored, 4),
            "mean_error_frames": round(float(array.mean()), 3),
            "mean_abs_error_frames": round(float(np.abs(array).mean()), 3),
            "missed": missed,
        }
    return out


def gait_sessions(seeds: range) -> list[WalkingSession]:
    """Walking (90-130 steps/min, stance 0.6) and running (150-180, stance 0.38), overground
    (3.5 s across the picture) and on a treadmill (8 s), filmed from either side."""
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        running = bool(seed % 2)
        cadence = float(rng.uniform(150, 180) if running else rng.uniform(90, 130))
        out.append(
            walking_session(
                cadence=cadence,
                duty=0.38 if running else 0.6,
                stride_length=float(rng.uniform(1.8, 2.4) if running else rng.uniform(1.1, 1.5)),
                treadmill=seed % 4 >= 2,
                seconds=8.0 if seed % 4 >= 2 else 3.5,
                yaw_deg=90.0 if seed % 8 < 4 else -90.0,
                noise_px=float(rng.choice([1.0, 2.0])),
                drop_rate=float(rng.choice([0.0, 0.03])),
                seed=seed,
            )
        )
    return out

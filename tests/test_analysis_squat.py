"""The squat analyzer against generated squats with known truth: a kinematic skeleton doing
squats of several depths, speeds and pauses, with knee valgus, extra trunk lean and knees far
forward, filmed from the side, the front and at 45 degrees, with pixel noise and dropped frames
(`stream_pose_ml.analysis.motion`, `tests/analysis_battery.py`)."""

from __future__ import annotations

import numpy as np
import pytest
from analysis_battery import score_battery

from stream_pose_ml.analysis import SquatAnalyzer, analyze, event_counts, squat_params
from stream_pose_ml.analysis.motion import SquatRep, squat_session
from stream_pose_ml.keypoints import PoseSequence


@pytest.mark.parametrize("view", ["side", "front"])
def test_repetitions_counted_exactly_and_every_shallow_one_flagged(view: str) -> None:
    score = score_battery(view, sessions=24, seed=2)
    summary = score.summary()
    assert summary["sessions_counted_exactly"] == summary["sessions"] == 24
    assert summary["detected_reps"] == summary["matched_reps"] == summary["true_reps"] > 90
    assert summary["shallow_flagged"] == summary["shallow_true"] > 20
    assert summary["shallow_false_alarms"] == 0
    assert summary["bottom_within_2_frames"] >= 0.9
    for kind in ("trunk_lean", "knee_over_toe") if view == "side" else ("knee_valgus",):
        assert summary[f"{kind}_found"] > 10, kind
        assert summary[f"{kind}_missed"] == summary[f"{kind}_false_alarms"] == 0, kind
    if view == "side":
        assert summary["start_within_1_frame"] >= 0.7 and summary["end_within_1_frame"] >= 0.8
        assert summary["knee_angle_mae_deg"] < 2.5 and summary["trunk_lean_mae_deg"] < 2.5
        assert max(np.abs(score.start_error_frames)) <= 3


def test_an_oblique_camera_is_reported_not_guessed() -> None:
    session = squat_session([SquatRep(70), SquatRep(120), SquatRep(60)], yaw_deg=45.0)
    events = analyze(SquatAnalyzer(), session.sequence).events
    assert event_counts(events) == {"camera_angle": 1}
    (event,) = events
    assert event.values["view"] == "oblique" and 0.25 < event.number("width_ratio") < 0.45


def test_view_switch_between_sets_is_followed() -> None:
    side = squat_session([SquatRep(70), SquatRep(120)], yaw_deg=90.0, seed=1).sequence
    front = squat_session([SquatRep(70), SquatRep(60, valgus=0.4)], yaw_deg=0.0, seed=2).sequence
    both = PoseSequence(
        data=np.concatenate([side.data, front.data]), fps=30, image_size=side.image_size
    )
    events = analyze(SquatAnalyzer(), both).events
    reps = [e for e in events if e.kind == "repetition"]
    assert [e.values["view"] for e in reps] == ["side", "side", "front", "front"]
    assert [e.values["shallow"] for e in reps] == [False, True, False, False]
    assert [any(x.kind == "knee_valgus" for x in e.errors) for e in reps[2:]] == [False, True]


def test_profiles_judge_the_same_squat_differently() -> None:
    # a 95-degree squat: deep enough for a beginner, shallow for an expert (90 degrees, hip
    # below knee); knees 0.36 shin lengths ahead of the toes: fine for a beginner only
    session = squat_session([SquatRep(95, shin_lean_share=0.45)], yaw_deg=90.0)
    (beginner,) = analyze(SquatAnalyzer(profile="beginner"), session.sequence).events
    (expert,) = analyze(SquatAnalyzer(profile="expert"), session.sequence).events
    assert beginner.values["shallow"] is False and expert.values["shallow"] is True
    assert {e.kind for e in beginner.errors} == set()
    assert {e.kind for e in expert.errors} == {"shallow", "knee_over_toe"}
    shallow = next(e for e in expert.errors if e.kind == "shallow")
    assert shallow.start_frame <= expert.number("bottom_frame") <= shallow.end_frame
    with pytest.raises(ValueError, match="unknown squat profile"):
        squat_params("olympian")


def test_the_deepest_squats_put_the_hip_below_the_knee() -> None:
    session = squat_session([SquatRep(45), SquatRep(80)], yaw_deg=90.0)
    deep, half = (e for e in analyze(SquatAnalyzer(), session.sequence).events)
    assert [t.hip_below_knee for t in session.truth] == [True, False]
    assert deep.values["hip_below_knee"] is True and half.values["hip_below_knee"] is False
    expert = analyze(SquatAnalyzer(profile="expert"), session.sequence).events
    assert [e.values["shallow"] for e in expert] == [False, True]


def test_a_bob_or_a_too_quick_dip_is_not_a_repetition() -> None:
    session = squat_session(
        [SquatRep(150), SquatRep(130, down_s=0.15, bottom_s=0.0, up_s=0.15), SquatRep(80)],
        yaw_deg=90.0,
    )
    reps = [e for e in analyze(SquatAnalyzer(), session.sequence).events]
    assert len(reps) == 1 and reps[0].values["min_knee_angle_deg"] == pytest.approx(80, abs=3)
    assert reps[0].values["repetition"] == 1


def test_forced_view_skips_detection() -> None:
    session = squat_session([SquatRep(70)], yaw_deg=45.0)
    events = analyze(SquatAnalyzer(squat_params(view="side")), session.sequence).events
    assert event_counts(events) == {"repetition": 1}
    with pytest.raises(ValueError, match="view must be"):
        squat_params(view="top")

"""Gait events against generated walking and running with known foot contacts
(`stream_pose_ml.analysis.walking`): side views, overground and on a treadmill, with noise and
dropped frames. The issue's target is 95 % of contacts within one frame; the thresholds below
are that target or, for the other measures, the measured accuracy (docs/analysis.md)."""

from __future__ import annotations

import numpy as np
import pytest
from analysis_battery import gait_sessions, score_gait

from stream_pose_ml.analysis import analyze
from stream_pose_ml.analysis.gait import GaitAnalyzer, GaitParams, heel_speed_contact
from stream_pose_ml.analysis.walking import walking_session
from stream_pose_ml.keypoints import PoseSequence


@pytest.fixture(scope="module")
def sessions() -> tuple[list, list]:
    both = gait_sessions(range(16))
    return [s for s in both if s.duty > 0.5], [s for s in both if s.duty < 0.5]


def test_coordinate_method_accuracy(sessions: tuple[list, list]) -> None:
    walking, running = sessions
    for group in (walking, running):
        score = score_gait(group, GaitParams())
        # the target (a miss counts as outside); measured: 100 % and 99 % (seeds 0-31)
        assert score["initial_contact"]["within_1_frame"] >= 0.95, score
        assert abs(score["initial_contact"]["mean_error_frames"]) < 0.5, score
        assert score["toe_off"]["within_2_frames"] >= 0.95, score
    # Zeni's heel peak alone comes earlier: the heel still outruns the pelvis as it lands
    peak = score_gait(running, GaitParams(contact_rule="peak"))["initial_contact"]
    refined = score_gait(running, GaitParams())["initial_contact"]
    assert peak["mean_error_frames"] < refined["mean_error_frames"] - 0.2
    walk_toe_off = score_gait(walking, GaitParams())["toe_off"]
    assert walk_toe_off["within_1_frame"] >= 0.95, walk_toe_off


def test_heel_speed_contact_interpolates_the_crossing() -> None:
    # the heel relative to the pelvis: forward at +1 per second until 1.0 s, then back at -1
    # (walking speed 1); the heel's forward speed falls below 0.78 of it where the relative
    # speed crosses -0.22, between the midpoints 0.95 s (+1) and 1.05 s (-1): at 1.011 s
    times = np.round(np.arange(0.5, 1.5, 0.1), 6)
    heels = [(i, t, (t if t <= 1.0 else 2.0 - t)) for i, t in enumerate(times)]
    assert heel_speed_contact(heels, (5, 1.0), 0.78, 0.3) == (5, 1.0)
    slower = [(i, t, v if t <= 1.0 else 1.0 - 0.5 * (t - 1.0)) for i, t, v in heels]
    # walking speed 0.5: -0.11 is crossed at 0.95 + 0.1 * 1.11 / 1.5 = 1.024 s, still frame 5
    assert heel_speed_contact(slower, (5, 1.0), 0.78, 0.3) == (5, 1.0)
    late = [
        (i, t, v if t <= 1.1 else 1.1 - (t - 1.1))
        for i, t, v in ((i, t, t) for i, t in enumerate(times))
    ]
    # the heel keeps moving forward to 1.1 s: the crossing is at 1.111 s, frame 6
    assert heel_speed_contact(late, (5, 1.0), 0.78, 0.3) == (6, 1.1)
    # no stance after the peak (the person left): the peak stands
    assert heel_speed_contact(heels[:6], (5, 1.0), 0.78, 0.3) == (5, 1.0)


def test_floor_line_method_accuracy(sessions: tuple[list, list]) -> None:
    walking, running = sessions
    walk = score_gait(walking, GaitParams(method="floor_line"))
    run = score_gait(running, GaitParams(method="floor_line"))
    # measured (seeds 0-15, misses counted as outside): 85 % and 85 % within 2 frames, and
    # 5 and 10 contacts missed while the floor is fitted or at 2 px noise
    for score in (walk, run):
        assert score["initial_contact"]["within_2_frames"] >= 0.8, score
        assert 0.0 < score["initial_contact"]["mean_error_frames"] < 1.2, score  # late


def test_cadence_stride_and_stance_share() -> None:
    session = walking_session(cadence=120.0, duty=0.6, treadmill=True, seconds=8.0, seed=3)
    analyzer = GaitAnalyzer()
    events = analyze(analyzer, session.sequence).events
    contacts = [e for e in events if e.kind == "initial_contact"]
    # the last contact is confirmed only once the heel has come back: it may be cut off
    assert len(contacts) >= sum(len(v) for v in session.truth.contacts.values()) - 1
    strides = [e.number("stride_time_s") for e in contacts if e.values["stride_time_s"]]
    assert np.median(strides) == pytest.approx(1.0, abs=0.04)  # 120 steps/min
    cadences = [e.number("cadence_steps_per_min") for e in contacts[2:]]
    assert np.median(cadences) == pytest.approx(120.0, rel=0.05)
    shares = [e.number("stance_share") for e in contacts if "stance_share" in e.values]
    assert np.median(shares) == pytest.approx(0.6, abs=0.07)
    analyzer.update(None, 100.0, 10_000)
    assert analyzer.summary()["cadence"] is not None


def test_short_gaps_are_filled() -> None:
    session = walking_session(cadence=110.0, treadmill=True, noise_px=1.0, seed=5)
    data = session.sequence.data.copy()
    contact = session.truth.contacts["right"][3]
    data[contact - 2 : contact + 2] = np.nan  # 4 frames (0.13 s) without a person
    gappy = PoseSequence(data=data, fps=30, image_size=session.sequence.image_size)
    result = analyze(GaitAnalyzer(), gappy)
    found = [
        e.start_frame
        for e in result.events
        if e.kind == "initial_contact" and e.values["foot"] == "right"
    ]
    # linear filling flattens the peak it covers: the contact moves to the gap's edge
    assert min(abs(f - contact) for f in found) <= 3
    assert np.isfinite(result.signal["right_heel_rel"][contact - 2 : contact + 2]).all()
    assert not any(e.kind == "gap" for e in result.events)

"""Fall detection against generated falls (forward, backward, sideways) and daily activities
(sitting down, lying down slowly, bending, a fast squat), from five camera angles, with pixel
noise and dropped frames: the rule baseline and the calibrated random forest trained through
ModelBuilder on other generated recordings (whole recordings kept apart)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from analysis_battery import fall_sessions, score_falls

from stream_pose_ml.analysis import AnalysisInputError, analyze
from stream_pose_ml.analysis.fall_model import (
    FallRecording,
    fall_feature_table,
    train_fall_model,
)
from stream_pose_ml.analysis.falls import FALL_FEATURES, FallAnalyzer
from stream_pose_ml.analysis.motion import FallSession, fall_session


def test_rule_finds_every_fall_and_raises_no_false_alarm() -> None:
    score = score_falls(fall_sessions(range(2)), FallAnalyzer())
    assert score["falls"] == 30 and score["daily_activities"] == 40
    assert score["found"] == 30 and score["false_alarms"] == 0
    assert 0.0 <= score["onset_error_mean_s"] <= 0.5
    assert score["delay_after_impact_max_s"] <= 0.5


def test_fall_event_carries_onset_probability_and_features() -> None:
    session = fall_session("fall_sideways", yaw_deg=90.0, seed=7)
    result = analyze(FallAnalyzer(), session.sequence)
    (event,) = result.events
    assert event.kind == "fall" and event.values["fall"] == 1
    assert session.onset_frame is not None and session.impact_frame is not None
    assert session.onset_frame <= event.start_frame == event.values["onset_frame"]
    assert event.start_frame < event.end_frame <= session.impact_frame + 10
    assert event.number("probability") >= 0.5
    assert event.number("max_descent_speed") > 1.0  # body lengths per second
    probability = result.signal["probability"]
    assert np.nanmax(probability[: session.onset_frame]) < 0.05
    assert np.isfinite(result.signal["head_accel"][session.onset_frame :]).any()


def recordings(sessions: list[FallSession]) -> list[FallRecording]:
    out = []
    for i, session in enumerate(sessions):
        labels = np.zeros(session.sequence.n_frames, dtype=bool)
        if session.onset_frame is not None and session.impact_frame is not None:
            labels[session.onset_frame : session.impact_frame + 30] = True  # falling, then 1 s
        out.append(FallRecording(session.sequence, f"{session.activity}-{i}", labels))
    return out


def test_trained_model_through_model_builder(tmp_path: Path) -> None:
    table = fall_feature_table(recordings(fall_sessions(range(3, 6))))
    assert list(table.columns[3:10]) == list(FALL_FEATURES)
    assert table["video_id"].nunique() == 105 and 0.05 < table["fall"].mean() < 0.25
    builder = train_fall_model(table, tmp_path / "plots")
    report = builder.report
    assert report.roc_auc > 0.9
    assert set(builder.split.groups_train).isdisjoint(builder.split.groups_test)
    assert (tmp_path / "plots" / "roc_curve.png").exists()
    held_out = fall_sessions(range(1))  # seeds the model never saw
    score = score_falls(held_out, FallAnalyzer(model=builder.model))
    # measured: 15 of 15 falls, 1 false alarm (a fast squat) of 20 daily activities; the rule
    # has none: the forest learns from 105 generated recordings only
    assert score["found"] == 15 and score["false_alarms"] <= 1, score


def test_sequence_level_labels_mark_the_fastest_descent() -> None:
    fall = fall_session("fall_forward", yaw_deg=90.0, seed=1)
    sit = fall_session("sit_down", yaw_deg=90.0, seed=1)
    table = fall_feature_table(
        [
            FallRecording(fall.sequence, "fall", is_fall=True),
            FallRecording(sit.sequence, "sit", is_fall=False),
        ]
    )
    positive = table[table["fall"] == 1]
    assert set(positive["video_id"]) == {"fall"}
    assert fall.onset_frame is not None and fall.impact_frame is not None
    assert fall.onset_frame <= positive["frame_number"].min() <= fall.impact_frame
    assert positive["time_s"].max() - positive["time_s"].min() == pytest.approx(1.0, abs=0.05)
    with pytest.raises(AnalysisInputError, match="exactly one"):
        fall_feature_table([FallRecording(fall.sequence, "x")])
    with pytest.raises(AnalysisInputError, match="3 frame labels"):
        fall_feature_table([FallRecording(fall.sequence, "x", frame_labels=[True] * 3)])

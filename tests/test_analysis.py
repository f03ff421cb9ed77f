"""The analyzer interface: frame-by-frame updates equal `analyze`, missing frames and gaps are
explicit, bad input is refused with a clear error, and the two smoothings differ as documented."""

from __future__ import annotations

import numpy as np
import pytest

from stream_pose_ml.analysis import (
    AnalysisEvent,
    AnalysisInputError,
    SquatAnalyzer,
    analyze,
    event_counts,
)
from stream_pose_ml.analysis.motion import SquatRep, squat_session
from stream_pose_ml.analysis.smoothing import CausalSmoother, zero_phase
from stream_pose_ml.keypoints import PoseSequence


def session(drop_rate: float = 0.05, seed: int = 3) -> PoseSequence:
    reps = [SquatRep(70), SquatRep(125, bottom_s=1.0), SquatRep(55, valgus=0.4, up_s=0.5)]
    return squat_session(reps, yaw_deg=90.0, drop_rate=drop_rate, seed=seed).sequence


def test_frames_fed_one_by_one_give_the_events_of_analyze() -> None:
    sequence = session()
    assert (~sequence.detected).sum() > 5  # some frames have nobody
    offline = analyze(SquatAnalyzer(), sequence)
    live = SquatAnalyzer()
    events: list[AnalysisEvent] = []
    for i in range(sequence.n_frames):
        row = sequence.data[i]
        landmarks = None if np.isnan(row).all() else row.tolist()  # JSON-like input works too
        events += live.update(landmarks, i / 30.0, i, [1280, 720])
    assert events == offline.events and len(events) == 3
    signal = live.signal()
    assert np.array_equal(signal["frames"], np.arange(sequence.n_frames))
    np.testing.assert_array_equal(signal["knee_angle_deg"], offline.signal["knee_angle_deg"])
    missing = ~sequence.detected
    assert np.isnan(signal["knee_angle_deg"][missing]).all()
    assert np.isfinite(signal["knee_angle_deg"][~missing]).all()
    # events survive a JSON round trip unchanged
    assert [AnalysisEvent.from_dict(e.to_dict()) for e in events] == events


def test_a_long_gap_is_an_event_and_drops_the_repetition_in_progress() -> None:
    sequence = session(drop_rate=0.0)
    data = sequence.data.copy()
    rep = analyze(SquatAnalyzer(), sequence).events[1]
    middle = (rep.start_frame + rep.end_frame) // 2
    data[middle - 10 : middle + 10] = np.nan  # 0.67 s without a person, mid repetition
    events = analyze(SquatAnalyzer(), PoseSequence(data=data, fps=30, image_size=(1280, 720)))
    assert event_counts(events.events) == {"repetition": 2, "gap": 1}
    gap = next(e for e in events.events if e.kind == "gap")
    assert (gap.start_frame, gap.end_frame) == (middle - 11, middle + 10)
    assert gap.values["seconds"] == pytest.approx(21 / 30, abs=1e-3)
    # short dropouts (a few frames) are not gaps
    data = sequence.data.copy()
    data[middle - 3 : middle + 3] = np.nan
    short = analyze(SquatAnalyzer(), PoseSequence(data=data, fps=30, image_size=(1280, 720)))
    assert event_counts(short.events) == {"repetition": 3}


def test_bad_input_is_refused_with_a_clear_error() -> None:
    analyzer = SquatAnalyzer()
    with pytest.raises(AnalysisInputError, match=r"\(33, 4\)"):
        analyzer.update(np.zeros((17, 3)), 0.0, 0)
    analyzer.update(None, 1.0, 0)
    with pytest.raises(AnalysisInputError, match="before the previous frame"):
        analyzer.update(None, 0.5, 1)
    with pytest.raises(AnalysisInputError, match="finite"):
        analyzer.update(None, float("nan"), 2)
    with pytest.raises(AnalysisInputError, match="no frame rate"):
        analyze(SquatAnalyzer(), PoseSequence.empty(3))
    with pytest.raises(AnalysisInputError, match="2 times for 3 frames"):
        analyze(SquatAnalyzer(), PoseSequence.empty(3), times_s=[0.0, 0.1])
    assert analyze(SquatAnalyzer(), PoseSequence.empty(3, fps=30)).events == []


def test_causal_smoothing_lags_and_zero_phase_does_not() -> None:
    smoother = CausalSmoother(tau_s=0.1)
    step = [smoother.update(np.array([[0.0 if t < 0 else 1.0, 0.0]]), t) for t in (-0.1, 0.0, 0.1)]
    assert step[1][0, 0] == pytest.approx(1 - np.exp(-1.0))  # one time constant: 63 %
    assert step[2][0, 0] == pytest.approx(1 - np.exp(-2.0))
    times = np.arange(60) / 30.0
    xy = np.zeros((60, 1, 2))
    xy[:, 0, 0] = np.sin(2 * np.pi * times)
    xy[20:23] = np.nan
    both = zero_phase(xy, times, tau_s=0.05, max_gap_s=0.5)
    assert np.isnan(both[20:23]).all() and np.isfinite(both[23:]).all()
    peak_true, peak_zero = np.nanargmax(xy[:, 0, 0]), np.nanargmax(both[:, 0, 0])
    assert abs(int(peak_zero) - int(peak_true)) <= 1
    sequence = session(drop_rate=0.0)
    causal = analyze(SquatAnalyzer(), sequence).events
    offline = analyze(SquatAnalyzer(), sequence, zero_phase_smoothing=True).events
    assert len(causal) == len(offline) == 3
    lags = [c.end_frame - z.end_frame for c, z in zip(causal, offline, strict=True)]
    assert all(0 <= lag <= 2 for lag in lags) and sum(lags) > 0  # causal ends a bit later
    analyzer = SquatAnalyzer()
    analyze(analyzer, sequence, zero_phase_smoothing=True)
    assert analyzer.prefiltered is False  # back to the live configuration

"""Analyzers inside the stream runner give the events of the offline analysis of the same poses.

1. A generated video whose frames show their index (``stream_videos.write_index_video``, at
   irregular phone-like times) and a pose algorithm that reads the index from each decoded frame
   and answers with the pose of a synthetic squatting skeleton for that frame (some frames
   without a person): the runner's squat events equal ``analyze`` of the same sequence at the
   runner's frame times, and the annotated video is written with the analyzer's marks.
2. The demo video with real MediaPipe (slow): the same check on real poses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from stream_videos import read_index, vfr_times, write_index_video

from stream_pose_ml.analysis import AnalysisEvent, SquatAnalyzer, analyze
from stream_pose_ml.analysis.motion import IMAGE_SIZE, SquatRep, squat_session
from stream_pose_ml.keypoints import PoseSequence
from stream_pose_ml.stream import BaseAlgo, FrameWindow, PoseAlgo, StreamRunner, read_results
from stream_pose_ml.stream.analyzers import AnalyzerAlgo
from stream_pose_ml.stream.drawing import Mark


class ScriptedPoseAlgo(BaseAlgo):
    """The pose of a known sequence for the frame index the decoded image shows."""

    def __init__(self, sequence: PoseSequence) -> None:
        super().__init__("pose")
        self.sequence = sequence

    def process(self, window: FrameWindow) -> dict[str, Any]:
        shown = read_index(window.newest.image)
        row = self.sequence.data[shown]
        landmarks = None if np.isnan(row[:, :2]).all() else row
        return {"landmarks": landmarks, "image_size": list(IMAGE_SIZE)}


def runner_events(records: list[dict], name: str) -> list[AnalysisEvent]:
    found = [r for r in records if r["algorithm"] == name]
    for record in found:
        events = record["value"]["events"]
        assert record["window_start"] == min(e["start_frame"] for e in events)
        assert record["window_end"] == record["frame_index"] == max(e["end_frame"] for e in events)
    return [AnalysisEvent.from_dict(e) for r in found for e in r["value"]["events"]]


def test_runner_squat_events_equal_offline_analysis(tmp_path: Path) -> None:
    reps = [SquatRep(70), SquatRep(125), SquatRep(60, valgus=0.4, extra_lean_deg=25)]
    session = squat_session(reps, yaw_deg=90, drop_rate=0.05, seed=4)
    n = session.sequence.n_frames
    times = vfr_times(n, seed=5)  # 10-70 ms apart
    video = write_index_video(tmp_path / "squats.mp4", times)
    out, annotated = tmp_path / "run.jsonl", tmp_path / "annotated.mp4"
    algo = AnalyzerAlgo(SquatAnalyzer())
    StreamRunner(
        video, [ScriptedPoseAlgo(session.sequence), algo], outputs=[out], video_out=annotated
    ).run()
    _, records, metrics = read_results(out)
    live = runner_events(records, "squat")
    frame_times = [r["time_s"] for r in records if r["algorithm"] == "pose"]
    assert len(frame_times) == n
    offline = analyze(SquatAnalyzer(), session.sequence, times_s=frame_times).events
    assert live == offline
    repetitions = [e for e in offline if e.kind == "repetition"]
    assert len(repetitions) == 3
    assert [e.values["shallow"] for e in repetitions] == [False, True, False]
    assert metrics["algorithms"]["squat"]["errors"] == 0
    assert annotated.stat().st_size > 10_000
    last = [r for r in records if r["algorithm"] == "squat"][-1]
    overlay = algo.overlay(last["value"], _frame_at(repetitions[-1].end_s + 1.0))
    assert overlay is not None
    assert Mark("repetition: trunk_lean", "error") in overlay.marks
    assert "repetitions: 3" in overlay.labels
    later = algo.overlay(last["value"], _frame_at(repetitions[-1].end_s + 3.0))
    assert later is not None and later.marks == () and "repetitions: 3" in later.labels


def _frame_at(time_s: float) -> Any:
    from stream_pose_ml.stream.frames import Frame

    return Frame(0, time_s, 0.0, np.zeros((8, 8, 3), np.uint8))


@pytest.mark.slow
def test_runner_events_equal_offline_analysis_on_the_demo_video(
    demo_video: Path, tmp_path: Path
) -> None:
    out = tmp_path / "demo.jsonl"
    StreamRunner(
        demo_video, [PoseAlgo(complexity="lite"), AnalyzerAlgo(SquatAnalyzer())], outputs=[out]
    ).run()
    _, records, _ = read_results(out)
    poses = [r for r in records if r["algorithm"] == "pose"]
    sequence = PoseSequence.from_mediapipe(
        [
            None if r["value"]["landmarks"] is None else np.asarray(r["value"]["landmarks"])
            for r in poses
        ],
        fps=30,
        image_size=tuple(poses[0]["value"]["image_size"]),
    )
    result = analyze(SquatAnalyzer(), sequence, times_s=[r["time_s"] for r in poses])
    assert runner_events(records, "squat") == result.events
    assert len(result.signal["frames"]) == 230

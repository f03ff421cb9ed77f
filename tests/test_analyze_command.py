"""``stream-pose-ml analyze`` as a user runs it (a subprocess): a generated squat session with
known repetitions as a keypoint file, and a real clip of the demo video through the job pipeline."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from job_clips import short_clip_path

from stream_pose_ml.analysis import analyze
from stream_pose_ml.analysis.motion import SquatRep, squat_session
from stream_pose_ml.analysis.registry import make_analyzer

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stream_pose_ml.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_keypoint_file_gives_the_offline_events(tmp_path: Path) -> None:
    reps = [SquatRep(), SquatRep(bottom_knee_deg=120.0), SquatRep()]  # the second is shallow
    session = squat_session(reps, seed=3)
    source = session.sequence.to_npz(tmp_path / "squats.npz")
    done = cli("analyze", str(source), "--analyzer", "squat", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "3 events from squat" in done.stdout
    with open(tmp_path / "out" / "events.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["kind"] for r in rows] == ["repetition"] * 3
    assert [("shallow" in r["errors"]) for r in rows] == [False, True, False]
    expected = analyze(make_analyzer("squat"), session.sequence).events
    assert [int(r["frame_start"]) for r in rows] == [e.start_frame for e in expected]
    assert (tmp_path / "out" / "squat.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    events = json.loads((tmp_path / "out" / "events.json").read_text())
    assert [e["frame_end"] for e in events] == [e.end_frame for e in expected]


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    done = cli("analyze", str(text), "--analyzer", "gait", "--out", str(tmp_path / "out"))
    assert done.returncode != 0
    assert "not a readable video" in done.stderr
    done = cli("analyze", str(tmp_path / "missing.npz"), "--analyzer", "gait", "--out", "x")
    assert done.returncode != 0 and "no such file" in done.stderr


@pytest.mark.slow
def test_a_video_gives_the_job_files(
    tmp_path_factory: pytest.TempPathFactory, demo_video: Path, tmp_path: Path
) -> None:
    clip = short_clip_path(tmp_path_factory.getbasetemp(), demo_video)
    out = tmp_path / "out"
    done = cli(
        "analyze", str(clip), "--analyzer", "gait", "--complexity", "lite", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr[-2000:]
    files = ("annotated.mp4", "timeline.json", "events.csv", "keypoints.json", "gait.png")
    for name in files:
        assert (out / name).stat().st_size > 0, name
    timeline = json.loads((out / "timeline.json").read_text())
    with open(out / "events.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(timeline["events"])
    assert f"{len(rows)} events from gait" in done.stdout

"""The worker process on a real clip (PyAV, MediaPipe lite, the example model): five files
from one runner pass, consistent with each other and with results.jsonl."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import pytest
from job_clips import example_model_path, short_clip_path

from stream_pose_ml.stream import read_results
from stream_pose_ml.video_jobs import FILES, JobSettings, JobStore

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, demo_video: Path) -> tuple[Path, dict]:
    """A job (squat and gait analyzers, the example model) run by a real worker process."""
    clip = short_clip_path(tmp_path_factory.getbasetemp(), demo_video)
    model = example_model_path(REPO)
    store = JobStore(tmp_path_factory.mktemp("worker"))
    with open(clip, "rb") as handle:
        video = store.add_video(handle, "clip.mp4", 1 << 30)
    settings = JobSettings(complexity="lite", analyzers=("squat", "gait"))
    job = store.create(
        video["sha256"], settings, {"model_id": "arms", "filename": model.name, "path": model}
    )
    folder = store.job_dir(job["id"])
    done = subprocess.run(
        [sys.executable, "-m", "stream_pose_ml.video_jobs.worker", str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return folder, video


def test_all_five_files_and_progress(finished: tuple[Path, dict]) -> None:
    folder, video = finished
    for name in FILES:
        assert (folder / name).stat().st_size > 0, name
    progress = json.loads((folder / "progress.json").read_text())
    assert progress["percent"] == 100.0
    assert progress["frames_done"] == progress["frames_total"] == video["frames"] == 90
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["algorithm_errors"] == {}
    assert set(summary["analyzers"]) == {"squat", "gait"}


def test_annotated_video_is_h264_with_every_frame(finished: tuple[Path, dict]) -> None:
    folder, video = finished
    with av.open(str(folder / "annotated.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = sum(1 for _ in container.decode(stream))
    assert frames == video["frames"]


def records_of(folder: Path) -> list[dict[str, Any]]:
    _, records, _ = read_results(folder / "results.jsonl")
    return records


def test_timeline_and_events_match_results(finished: tuple[Path, dict]) -> None:
    folder, video = finished
    records = records_of(folder)
    timeline = json.loads((folder / "timeline.json").read_text())
    assert (timeline["fps"], timeline["frames"]) == (video["fps"], video["frames"])
    expected = [
        (e["analyzer"], e["kind"], e["start_frame"], e["end_frame"])
        for r in records
        if r["algorithm"] in ("squat", "gait")
        for e in r["value"]["events"]
    ]
    got = [(e["analyzer"], e["kind"], e["frame_start"], e["frame_end"]) for e in timeline["events"]]
    assert sorted(got) == sorted(expected)
    with open(folder / "events.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert header[:8] == [
        "analyzer",
        "kind",
        "frame_start",
        "frame_end",
        "start_s",
        "end_s",
        "errors",
        "text",
    ]
    with open(folder / "events.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["analyzer"], r["kind"], int(r["frame_start"])) for r in rows] == [
        (e["analyzer"], e["kind"], e["frame_start"]) for e in timeline["events"]
    ]
    keys = {s["key"] for s in timeline["series"]}
    assert {"squat.knee_angle_deg", "gait.left_heel_height"} <= keys
    knee = next(s for s in timeline["series"] if s["key"] == "squat.knee_angle_deg")
    assert len(knee["t"]) == len(knee["v"]) == video["frames"]
    assert any(v is not None for v in knee["v"])
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["events"] == len(timeline["events"])


def test_model_labels_in_timeline(finished: tuple[Path, dict]) -> None:
    folder, _ = finished
    windows = [r for r in records_of(folder) if r["algorithm"] == "classifier"]
    assert windows
    timeline = json.loads((folder / "timeline.json").read_text())
    labels = {item["label"] for item in timeline["labels"]}
    assert labels == {r["value"]["label"] for r in windows}
    assert labels <= {"Arms Raised", "Arms Lowered"}
    starts = [item["start_s"] for item in timeline["labels"]]
    assert starts == sorted(starts) and starts[0] == windows[0]["time_s"]
    probability = [s for s in timeline["series"] if s["key"].startswith("classifier.probability")]
    assert probability and all(len(s["t"]) == len(windows) for s in probability)
    summary = json.loads((folder / "summary.json").read_text())
    assert sum(summary["labels"].values()) == len(windows)


def test_keypoints_are_the_subject_sequence(finished: tuple[Path, dict]) -> None:
    folder, video = finished
    poses = [r for r in records_of(folder) if r["algorithm"] == "pose"]
    keypoints = json.loads((folder / "keypoints.json").read_text())
    assert keypoints["type"] == "PoseSequence"
    assert keypoints["frame_numbers"] == [r["frame_index"] for r in poses]
    assert keypoints["image_size"] == [video["width"], video["height"]]
    assert len(keypoints["data"]) == len(poses) and len(keypoints["data"][0]) == 33
    detected = [row[0][0] is not None for row in keypoints["data"]]
    assert detected == [r["value"]["landmarks"] is not None for r in poses]
    assert sum(detected) > len(poses) // 2
    first = next(i for i, r in enumerate(poses) if r["value"]["landmarks"] is not None)
    assert keypoints["data"][first][0][0] == pytest.approx(
        poses[first]["value"]["landmarks"][0][0], abs=1e-5
    )

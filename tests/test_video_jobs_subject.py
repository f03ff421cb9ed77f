"""A job whose subject is chosen from the whole video ("moves_most"), on the real demo video with
two people (one on a box, one walking across): two passes, the walker analyzed throughout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stream_pose_ml.stream import read_results
from stream_pose_ml.video_jobs import JobSettings, JobStore
from stream_pose_ml.video_jobs.worker import run_job

pytestmark = pytest.mark.slow

HIPS = [23, 24]


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, demo_video: Path) -> tuple[Path, dict[str, Any]]:
    store = JobStore(tmp_path_factory.mktemp("subject"))
    with open(demo_video, "rb") as handle:
        video = store.add_video(handle, "demo.mp4", 1 << 30)
    settings = JobSettings(
        complexity="lite", num_poses=2, subject="moves_most", analyzers=("gait",)
    )
    folder = store.job_dir(store.create(video["sha256"], settings, None)["id"])
    run_job(folder)
    return folder, video


def travel(records: list[dict[str, Any]]) -> dict[int, float]:
    """Horizontal travel of each person's hip centre (max - min x) over the replayed frames."""
    xs: dict[int, list[float]] = {}
    for record in records:
        for person in record["value"].get("people") or ():
            hips = np.asarray(person["landmarks"])[HIPS, 0]
            xs.setdefault(person["id"], []).append(float(hips.mean()))
    return {k: max(v) - min(v) for k, v in xs.items()}


def test_the_walker_is_analyzed_on_every_frame(job: tuple[Path, dict[str, Any]]) -> None:
    folder, video = job
    poses = [r for r in read_results(folder / "results.jsonl")[1] if r["algorithm"] == "pose"]
    assert len(poses) == video["frames"]
    moved = travel(poses)
    assert len(moved) >= 2, moved
    subjects = {r["value"]["subject"] for r in poses}
    assert len(subjects) == 1, subjects  # one person for the whole video, chosen up front
    chosen = subjects.pop()
    assert chosen == max(moved, key=moved.__getitem__)
    assert moved[chosen] > 0.6  # walks across most of the frame
    for record in poses:  # the analyzed landmarks are that person's, where present
        by_id = {p["id"]: p["landmarks"] for p in record["value"].get("people") or ()}
        assert record["value"]["landmarks"] == by_id.get(chosen)


def test_outputs_name_the_track_and_progress_ends_at_100(job: tuple[Path, dict[str, Any]]) -> None:
    folder, video = job
    keypoints = json.loads((folder / "keypoints.json").read_text())
    poses = [r for r in read_results(folder / "results.jsonl")[1] if r["algorithm"] == "pose"]
    assert keypoints["metadata"]["subject"] == "moves_most"
    assert keypoints["metadata"]["track_id"] == poses[0]["value"]["subject"]
    progress = json.loads((folder / "progress.json").read_text())
    assert progress["percent"] == 100.0 and progress["frames_done"] == video["frames"]
    assert not (folder / "people.jsonl").exists()  # the first pass's file is removed
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["algorithm_errors"] == {}
    assert summary["subject"] == keypoints["metadata"]["track_id"]
    seen = travel(poses)
    assert [t["id"] for t in summary["tracks"]] == sorted(seen)
    assert all(0 < t["frames"] <= video["frames"] for t in summary["tracks"])


def test_a_track_id_from_the_summary_analyzes_that_person(job: tuple[Path, dict[str, Any]]) -> None:
    """Re-run with the other id (same settings): the same ids come out, that one is analyzed."""
    folder, video = job
    summary = json.loads((folder / "summary.json").read_text())
    other = next(t["id"] for t in summary["tracks"] if t["id"] != summary["subject"])
    store = JobStore(folder.parents[1])
    settings = JobSettings(complexity="lite", num_poses=2, subject=other, analyzers=("gait",))
    again = store.job_dir(store.create(video["sha256"], settings, None)["id"])
    run_job(again)
    rerun = json.loads((again / "summary.json").read_text())
    assert rerun["tracks"] == summary["tracks"]  # deterministic: the same people, the same ids
    poses = [r for r in read_results(again / "results.jsonl")[1] if r["algorithm"] == "pose"]
    assert {r["value"]["subject"] for r in poses} == {other}
    assert rerun["subject"] == other  # also when it is track 0

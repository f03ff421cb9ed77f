"""JobStore and JobSettings on real files: uploads probed by content, dedupe, safe names."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from job_clips import short_clip_path

from stream_pose_ml.errors import ServingError
from stream_pose_ml.video_jobs import FILES, JobSettings, JobStore, analyzer_catalog


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, demo_video: Path) -> Path:
    return short_clip_path(tmp_path_factory.getbasetemp(), demo_video)


def add(store: JobStore, path: Path, name: str = "clip.mp4", max_bytes: int = 1 << 30) -> dict:
    with open(path, "rb") as handle:
        return store.add_video(handle, name, max_bytes)


def test_video_is_probed_and_stored_once(tmp_path: Path, clip: Path) -> None:
    store = JobStore(tmp_path)
    first = add(store, clip, "my clip.mp4")
    second = add(store, clip, "again.mp4")
    assert first == second
    assert (first["width"], first["height"], first["frames"], first["fps"]) == (640, 360, 90, 30.0)
    assert first["duration_s"] == pytest.approx(3.0, abs=0.05)
    assert first["bytes"] == clip.stat().st_size and first["filename"] == "my clip.mp4"
    stored = [p for p in (tmp_path / "videos").iterdir() if p.suffix == ".mp4"]
    assert [p.name for p in stored] == [f"{first['sha256']}.mp4"]
    assert store.videos() == [first] and store.video(first["sha256"]) == first
    assert not list((tmp_path / "videos").glob(".upload-*"))


def test_text_file_named_mp4_is_415(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    with pytest.raises(ServingError) as caught:
        store.add_video(io.BytesIO(b"just some text, not a video\n" * 50), "notes.mp4", 1 << 20)
    assert (caught.value.code, caught.value.status) == ("bad_video", 415)
    assert "video" in caught.value.message
    assert store.videos() == [] and not list((tmp_path / "videos").iterdir())


def test_oversize_upload_is_413_and_leaves_nothing(tmp_path: Path, clip: Path) -> None:
    store = JobStore(tmp_path)
    with pytest.raises(ServingError) as caught:
        add(store, clip, max_bytes=clip.stat().st_size - 1)
    assert (caught.value.code, caught.value.status) == ("too_large", 413)
    assert not list((tmp_path / "videos").iterdir())


def test_job_lifecycle_and_safe_names(tmp_path: Path, clip: Path) -> None:
    store = JobStore(tmp_path)
    video = add(store, clip)
    settings = JobSettings(complexity="lite", analyzers=("squat",))
    job = store.create(video["sha256"], settings, None)
    assert job["status"] == "queued" and job["model"] is None and job["video"] == video
    assert job["progress"]["frames_total"] == 90 and job["settings"]["analyzers"] == ["squat"]
    assert store.get(job["id"]) == job and store.jobs() == [job]
    (tmp_path / "jobs" / job["id"] / "events.csv").write_text("analyzer\n")
    assert store.file_path(job["id"], "events.csv").read_text() == "analyzer\n"
    assert [f["name"] for f in store.get(job["id"])["files"]] == ["events.csv"]
    for name in ("annotated.mp4", "job.json", "task.json", "../job.json", "/etc/passwd", ""):
        with pytest.raises(ServingError) as caught:
            store.file_path(job["id"], name)
        assert (caught.value.code, caught.value.status) == ("unknown_file", 404)
    for job_id in ("j_000000000000", "../jobs", job["id"] + "/..", "videos"):
        with pytest.raises(ServingError) as caught:
            store.get(job_id)
        assert caught.value.code == "unknown_job"
    with pytest.raises(ServingError) as caught:
        store.create("../" + video["sha256"], settings, None)
    assert caught.value.code == "unknown_video"
    store.delete(job["id"])
    assert store.jobs() == [] and not (tmp_path / "jobs" / job["id"]).exists()
    assert store.videos() == [video]  # the video stays
    assert set(FILES) == {
        "annotated.mp4",
        "keypoints.json",
        "results.jsonl",
        "events.csv",
        "timeline.json",
    }


def test_settings_from_form_fields() -> None:
    settings = JobSettings.from_fields(
        {
            "complexity": "Lite",
            "num_poses": "2",
            "subject": "3",
            "analyzers": "squat, gait",
            "classify": "false",
        }
    )
    assert settings == JobSettings("lite", 2, 3, ("squat", "gait"), False)
    assert settings.to_dict()["analyzers"] == ["squat", "gait"]
    assert JobSettings.from_fields({}) == JobSettings()
    assert JobSettings.from_fields({"subject": "longest"}).subject == "longest"
    for fields, code in (
        ({"complexity": "ultra"}, "bad_form"),
        ({"num_poses": "7"}, "bad_form"),
        ({"num_poses": "two"}, "bad_form"),
        ({"subject": "tallest"}, "bad_form"),
        ({"classify": "maybe"}, "bad_form"),
        ({"analyzers": "squat,juggling"}, "unknown_analyzer"),
    ):
        with pytest.raises(ServingError) as caught:
            JobSettings.from_fields(fields)
        assert (caught.value.code, caught.value.status) == (code, 400), fields


def test_analyzer_catalog_lists_the_registry() -> None:
    catalog = analyzer_catalog()
    assert [a["name"] for a in catalog] == ["falls", "gait", "squat"]
    assert all(a["title"] and a["description"] for a in catalog)

"""Outputs that survive a cluster: atomic writes and the manifest a rerun trusts, with the local
executor and real MediaPipe on a 30-frame clip of the demo video."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from stream_pose_ml.datasets.annotations import SEQUENCE_SUFFIXES, find_files
from stream_pose_ml.extraction.manifest import (
    MANIFEST_DIR,
    file_sha256,
    read_manifest,
    write_atomically,
)
from stream_pose_ml.extraction.video import read_frames, write_video
from stream_pose_ml.jobs.process_videos_job import ProcessVideosJob, VideoResult

SIZE = (640, 360)


@pytest.fixture(scope="module")
def videos(demo_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("videos")
    frames = [cv2.resize(rgb, SIZE) for rgb in read_frames(demo_video, max_frames=80)]
    write_video(folder / "walk.mp4", frames[50:80], fps=30.0)
    return folder


def run(videos: Path, out: Path, **kwargs: object) -> VideoResult:
    (result,) = ProcessVideosJob.process_videos(
        videos,
        output_sequence_data_path=out / "seq",
        output_keypoints_data_path=out / "kp",
        write_keypoints_to_file=True,
        sequence_json=True,
        return_output=True,
        workers=1,
        progress=False,
        **kwargs,
    )
    return result


@pytest.fixture(scope="module")
def first(videos: Path, tmp_path_factory: pytest.TempPathFactory) -> VideoResult:
    result = run(videos, tmp_path_factory.mktemp("out"))
    assert result.status == "processed" and result.detected_frames > 20
    return result


def test_write_atomically_replaces_files_and_folders_or_leaves_them(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    write_atomically(target, lambda tmp: tmp.write_text("one"))

    def fails(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, fails)
    assert target.read_text() == "one"
    folder = tmp_path / "frames"
    for text in ("old", "new"):

        def fill(tmp: Path, text: str = text) -> None:
            tmp.mkdir()
            (tmp / f"{text}.json").write_text(text)

        write_atomically(folder, fill)
    assert [p.name for p in folder.iterdir()] == ["new.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "frames"]  # no temporaries


def test_the_record_holds_the_checksums_of_the_video_and_the_outputs(
    first: VideoResult, videos: Path
) -> None:
    seq = first.sequence_path.parent
    (record,) = read_manifest(seq).values()
    assert record.video_sha256 == file_sha256(videos / "walk.mp4")
    assert record.video_size == (videos / "walk.mp4").stat().st_size
    assert record.outputs["npz"]["sha256"] == file_sha256(first.sequence_path)
    assert record.outputs["sequence_json"]["sha256"] == file_sha256(first.sequence_json_path)
    assert record.outputs["keypoints"] == {"path": "walk"}
    assert record.pose_model == "pose_landmarker_full" and record.configuration == {}
    assert record.frames == 30 and record.finished_at
    # the dataset builder reads sequence files only; the manifest folder is not one
    found = find_files(seq, SEQUENCE_SUFFIXES)
    assert [p.name for p in found] == ["walk.mp4_sequence.json", "walk.npz"]
    assert (seq / MANIFEST_DIR / "walk.json").is_file()
    assert len(list(first.keypoints_path.glob("keypoints-*.json"))) == 30


def test_a_damaged_output_is_redone(videos: Path, tmp_path: Path) -> None:
    done = run(videos, tmp_path)
    with open(done.sequence_path, "ab") as handle:
        handle.write(b"\0")  # still loads as an .npz, but not the bytes that were written
    redone = run(videos, tmp_path)
    assert redone.status == "processed"
    assert redone.sequence.data.tobytes() == done.sequence.data.tobytes()
    assert run(videos, tmp_path).status == "skipped"


def test_without_a_record_the_npz_metadata_decides_as_before(videos: Path, tmp_path: Path) -> None:
    done = run(videos, tmp_path)
    record = tmp_path / "seq" / MANIFEST_DIR / "walk.json"
    record.write_text("{not json")
    assert run(videos, tmp_path).status == "processed"  # unreadable record: extracted again
    record.unlink()
    again = run(videos, tmp_path)  # outputs of an older version, no record: trusted
    assert again.status == "skipped"
    assert again.sequence.data.tobytes() == done.sequence.data.tobytes()
    other = run(videos, tmp_path, configuration={"min_detection_confidence": 0.6})
    assert other.status == "processed"  # other settings
    assert json.loads(record.read_text())["configuration"] == {"min_detection_confidence": 0.6}

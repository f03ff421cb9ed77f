"""Extraction outputs at a local folder or an fsspec URL (``memory://``, ``file://``): atomic
writes, the manifest, and the record of outputs a rerun writes; real MediaPipe on a 30-frame clip
of the demo video."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import fsspec
import numpy as np
import pytest

from stream_pose_ml.errors import ExtractionError
from stream_pose_ml.extraction import outputs
from stream_pose_ml.extraction.manifest import MANIFEST_DIR, file_sha256, read_manifest
from stream_pose_ml.extraction.video import read_frames, write_video
from stream_pose_ml.jobs.process_videos_job import ProcessVideosJob, VideoResult
from stream_pose_ml.keypoints import PoseSequence

SIZE = (640, 360)
MEMORY = fsspec.filesystem("memory")


@pytest.fixture(scope="module")
def videos(demo_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("videos")
    frames = [cv2.resize(rgb, SIZE) for rgb in read_frames(demo_video, max_frames=80)]
    write_video(folder / "walk.mp4", frames[50:80], fps=30.0)
    return folder


def run(videos: Path, seq: str | Path, kp: str | Path | None = None, **kw: Any) -> VideoResult:
    results = ProcessVideosJob.process_videos(
        videos,
        output_sequence_data_path=seq,
        output_keypoints_data_path=kp,
        write_keypoints_to_file=kp is not None,
        return_output=True,
        workers=1,
        progress=False,
        **kw,
    )
    assert isinstance(results, list)
    (result,) = results
    return result


def leftovers(base: outputs.Location) -> list[str]:
    if isinstance(base, Path) or base.startswith("local://"):
        return [str(p) for p in Path(str(base).removeprefix("local://")).rglob("*.partial")]
    return [n for n in MEMORY.find(base.removeprefix("memory://")) if ".partial" in n]


# ``local://`` is fsspec's local filesystem behind a URL: the put-then-rename path of the
# filesystems that are not object stores (sftp, hdfs, ...).
@pytest.mark.parametrize("kind", ["folder", "file_url", "memory_url", "local_url"])
def test_files_and_folders_are_replaced_whole_or_left_alone(tmp_path: Path, kind: str) -> None:
    base = {
        "folder": str(tmp_path),
        "file_url": tmp_path.as_uri(),
        "memory_url": f"memory://unit-{tmp_path.name}",
        "local_url": f"local://{tmp_path}",
    }[kind]
    root = outputs.as_location(base)
    assert isinstance(root, Path) == (kind in ("folder", "file_url"))
    target = outputs.join(root, "sub", "a.txt")
    outputs.write_text(target, "one")
    outputs.write_text(target, "two")

    def fails(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        outputs.write_file(target, fails)
    assert outputs.read_bytes(target) == b"two"
    assert outputs.file_sha256(target) == file_sha256(target)

    def frames(count: int):
        def write(tmp: Path) -> None:
            tmp.mkdir()
            for i in range(count):
                (tmp / f"f{i}.json").write_text(str(i))

        return write

    folder = outputs.join(root, "frames")
    outputs.write_folder(folder, frames(3))
    outputs.write_folder(folder, frames(2))  # a shorter version leaves no stale file
    assert outputs.list_names(folder) == ["f0.json", "f1.json"]
    assert (
        outputs.list_names(root, ".txt") == []
        and outputs.list_names(outputs.join(root, "no")) == []
    )
    assert leftovers(root) == []


def test_extraction_to_a_memory_url_matches_the_local_folder(videos: Path, tmp_path: Path) -> None:
    local = run(videos, tmp_path / "seq", tmp_path / "kp", sequence_json=True)
    remote = run(videos, "memory://run/seq", "memory://run/kp", sequence_json=True)
    assert local.status == remote.status == "processed"
    assert remote.sequence_path == "memory://run/seq/walk.npz"
    with outputs.local_copy(remote.sequence_path) as npz:
        there = PoseSequence.from_npz(npz)
    here = PoseSequence.from_npz(tmp_path / "seq" / "walk.npz")
    np.testing.assert_array_equal(there.data, here.data)  # the same keypoints to the last bit
    assert outputs.list_names("memory://run/kp/walk") == outputs.list_names(
        tmp_path / "kp" / "walk"
    )
    assert (
        outputs.read_bytes("memory://run/seq/walk.mp4_sequence.json")
        == (tmp_path / "seq" / "walk.mp4_sequence.json").read_bytes()
    )

    (record,) = read_manifest("memory://run/seq").values()
    (local_record,) = read_manifest(tmp_path / "seq").values()
    assert record.outputs == local_record.outputs
    assert record.outputs["npz"]["sha256"] == outputs.file_sha256("memory://run/seq/walk.npz")
    assert MEMORY.exists(f"/run/seq/{MANIFEST_DIR}/walk.json") and leftovers("memory://run") == []

    again = run(videos, "memory://run/seq", "memory://run/kp", sequence_json=True)
    assert again.status == "skipped" and again.frames == local.frames

    MEMORY.pipe_file("/run/seq/walk.npz", b"truncated")  # a changed output is redone
    redone = run(videos, "memory://run/seq", "memory://run/kp", sequence_json=True)
    assert redone.status == "processed"
    assert outputs.file_sha256("memory://run/seq/walk.npz") == record.outputs["npz"]["sha256"]


def test_a_memory_url_needs_the_one_process_that_holds_it(videos: Path) -> None:
    settings: list[dict[str, Any]] = [{"workers": 2}, {"workers": 1, "executor": "dask"}]
    for kw in settings:
        with pytest.raises(ExtractionError, match="this process only"):
            ProcessVideosJob.process_videos(
                videos, output_sequence_data_path="memory://x/seq", progress=False, **kw
            )
    assert not MEMORY.exists("/x/seq")


@pytest.mark.parametrize("kind", ["folder", "memory_url"])
def test_outputs_written_by_a_rerun_enter_the_manifest(
    videos: Path, tmp_path: Path, kind: str
) -> None:
    root = tmp_path if kind == "folder" else f"memory://rerun-{tmp_path.name}"
    seq, kp = outputs.join(root, "seq"), outputs.join(root, "kp")
    first = run(videos, seq)
    assert first.status == "processed"
    (record,) = read_manifest(seq).values()
    assert set(record.outputs) == {"npz"}

    # The same settings, now also asking for the original's JSON outputs: the .npz is reused.
    second = run(videos, seq, kp, sequence_json=True)
    assert second.status == "skipped" and second.frames == first.frames
    (record,) = read_manifest(seq).values()
    assert set(record.outputs) == {"npz", "sequence_json", "keypoints"}
    json_path = outputs.join(seq, "walk.mp4_sequence.json")
    assert record.outputs["sequence_json"] == {
        "path": "walk.mp4_sequence.json",
        "sha256": outputs.file_sha256(json_path),
    }
    assert record.outputs["keypoints"] == {"path": "walk"}
    frames = outputs.list_names(outputs.join(kp, "walk"))
    assert len(frames) == first.frames
    record_text = outputs.read_bytes(outputs.join(seq, MANIFEST_DIR, "walk.json"))
    assert json.loads(record_text)["video_sha256"] == file_sha256(videos / "walk.mp4")

    # A rerun with everything in place writes nothing; the record is trusted as it is.
    third = run(videos, seq, kp, sequence_json=True)
    assert third.status == "skipped"
    assert outputs.read_bytes(outputs.join(seq, MANIFEST_DIR, "walk.json")) == record_text
    assert leftovers(root) == []

"""Several people at extraction: `ProcessVideosJob` with ``num_poses`` and ``subject``, real
MediaPipe on 90 frames of the demo video (frames 50-139, half size).

In those frames the man stands on the box in the upper half of the frame and the woman walks
across the lower half from right to left (see tests/test_tracking_demo.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from people_clip import N_FRAMES, SIZE, demo_clip

from stream_pose_ml.cli import main
from stream_pose_ml.errors import ExtractionError, PoseDataError, PoseModelConfigError
from stream_pose_ml.extraction.manifest import read_manifest
from stream_pose_ml.extraction.pose_estimator import PoseEstimator
from stream_pose_ml.extraction.video import iter_frames, write_video
from stream_pose_ml.jobs.process_videos_job import ProcessVideosJob, VideoResult
from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.tracking import People, choose_subject
from stream_pose_ml.tracking.selection import parse_subject

#: What a one-person .npz's metadata held before several people existed.
SINGLE_PERSON_METADATA = {
    "pose_model",
    "pose_model_sha256",
    "preprocess",
    "configuration",
    "video",
    "video_codec",
    "extractor",
    "extractor_version",
}


@pytest.fixture(scope="module")
def videos(demo_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("people_videos")
    write_video(folder / "demo.mp4", demo_clip(demo_video), fps=30.0)
    return folder


def extract(videos: Path, out: Path, **kwargs: object) -> VideoResult:
    (result,) = ProcessVideosJob.process_videos(
        videos,
        output_sequence_data_path=out,
        return_output=True,
        workers=1,
        progress=False,
        **kwargs,
    )
    assert result.status != "failed", result.error
    return result


@pytest.fixture(scope="module")
def two(videos: Path, tmp_path_factory: pytest.TempPathFactory) -> VideoResult:
    out = tmp_path_factory.mktemp("two")
    return extract(videos, out, num_poses=2, subject="moves_most")


@pytest.fixture(scope="module")
def one(videos: Path, tmp_path_factory: pytest.TempPathFactory) -> VideoResult:
    return extract(videos, tmp_path_factory.mktemp("one"))


def hips(seq: PoseSequence) -> np.ndarray:
    """``(seen frames, 2)`` mean hip position."""
    return np.nanmean(seq.data[seq.detected][:, 23:25, :2], axis=1)


def test_moves_most_picks_the_walking_person(two: VideoResult) -> None:
    assert two.status == "processed" and two.tracks == 2 and two.track_id is not None
    assert two.people_path == two.sequence_path.with_name("demo.people.npz")
    people = People.from_npz(two.people_path)
    assert len(people) == 2 and two.track_id in people
    (other,) = [i for i in people.ids if i != two.track_id]
    walker, man = people[two.track_id], people[other]
    # by the side of the frame: the walker's hips in the lower half, the man's on the box above
    assert walker.detected.sum() > 60 and man.detected.sum() > 60
    assert (hips(walker)[:, 1] > 0.5).all() and (hips(man)[:, 1] < 0.5).all()
    # and by horizontal travel: she walks from right to left, he stays in place
    walker_x, man_x = hips(walker)[:, 0], hips(man)[:, 0]
    assert np.ptp(walker_x) > 0.3 > 0.1 > np.ptp(man_x)
    assert walker_x[:10].mean() > walker_x[-10:].mean()
    assert choose_subject(people, "moves_most") == two.track_id

    # <stem>.npz is the walker's sequence, readable by every one-person reader
    subject = PoseSequence.from_npz(two.sequence_path)
    np.testing.assert_array_equal(subject.data, walker.data)
    assert subject.n_frames == N_FRAMES and subject.image_size == SIZE
    meta = subject.metadata
    assert meta["num_poses"] == 2 and meta["subject"] == "moves_most"
    assert meta["track_id"] == two.track_id and meta["track_ids"] == people.ids
    assert set(meta) >= SINGLE_PERSON_METADATA
    assert two.to_dict()["track_id"] == two.track_id and two.to_dict()["tracks"] == 2

    record = read_manifest(two.sequence_path.parent)["demo"]
    assert record.num_poses == 2 and record.subject == "moves_most"
    assert record.outputs["people"]["path"] == "demo.people.npz"


def test_one_person_output_is_unchanged(one: VideoResult, videos: Path) -> None:
    """The default is today's extraction: the bare estimator's rows and metadata, no people."""
    rows = np.full((N_FRAMES, 33, 4), np.nan)
    with PoseEstimator() as estimator:
        for index, rgb in iter_frames(videos / "demo.mp4"):
            row = estimator.detect(rgb, round(index * 1000 / 30))
            if row is not None:
                rows[index] = row
    loaded = PoseSequence.from_npz(one.sequence_path)
    np.testing.assert_array_equal(loaded.data, rows)
    assert set(loaded.metadata) == SINGLE_PERSON_METADATA
    assert (one.tracks, one.track_id, one.people_path) == (None, None, None)
    assert not list(one.sequence_path.parent.glob("*.people.npz"))
    record = read_manifest(one.sequence_path.parent)["demo"]
    assert record.num_poses == 1 and record.subject is None and "people" not in record.outputs


def test_a_rerun_skips_and_other_people_settings_redo(
    two: VideoResult, one: VideoResult, videos: Path, tmp_path: Path
) -> None:
    out = two.sequence_path.parent
    again = extract(videos, out, num_poses=2, subject="moves_most")
    assert again.status == "skipped"
    assert (again.track_id, again.tracks, again.people_path) == (
        two.track_id,
        2,
        two.people_path,
    )

    # the one-person output extracted again with two people: redone, the same as `two`
    single = tmp_path / "single"
    shutil.copytree(one.sequence_path.parent, single)
    redone = extract(videos, single, num_poses=2, subject="moves_most")
    assert redone.status == "processed"
    assert redone.sequence_path.read_bytes() == two.sequence_path.read_bytes()
    assert redone.people_path.read_bytes() == two.people_path.read_bytes()

    # another subject (the man, by id) redoes it too
    (man,) = [i for i in People.from_npz(two.people_path).ids if i != two.track_id]
    other = extract(videos, single, num_poses=2, subject=str(man))
    assert other.status == "processed" and other.track_id == man
    assert PoseSequence.from_npz(other.sequence_path).metadata["subject"] == str(man)
    # back to one person: today's bytes again, and no people file left to contradict them
    back = extract(videos, single)
    assert back.status == "processed" and back.tracks is None
    assert back.sequence_path.read_bytes() == one.sequence_path.read_bytes()
    assert not (single / "demo.people.npz").exists()


def test_cli_extract_num_poses_and_subject(
    two: VideoResult, videos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = two.sequence_path.parent
    args = ["extract", str(videos), "--sequences-dir", str(out), "--quiet", "--workers", "1"]
    assert main([*args, "--num-poses", "2", "--subject", "moves_most"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("skipped") and f"2 people tracked, subject #{two.track_id}" in line
    assert main([*args, "--subject", "moves_most"]) == 2
    assert "needs several people" in capsys.readouterr().err
    assert main([*args, "--num-poses", "2", "--subject", "tallest"]) == 2
    assert "unknown subject 'tallest'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["extract", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--num-poses N people to find and track per frame" in help_text
    assert "--subject RULE with --num-poses > 1" in help_text and "moves_most" in help_text


def test_dask_runs_the_same_people_extraction(
    two: VideoResult, videos: Path, tmp_path: Path
) -> None:
    """The Dask executor runs the same single-video function: the same files, bit for bit."""
    on_dask = extract(videos, tmp_path, num_poses=2, subject="moves_most", executor="dask")
    assert (on_dask.status, on_dask.track_id, on_dask.tracks) == ("processed", two.track_id, 2)
    assert on_dask.sequence_path.read_bytes() == two.sequence_path.read_bytes()
    assert on_dask.people_path.read_bytes() == two.people_path.read_bytes()


def test_bad_people_settings_stop_the_job_before_any_video(videos: Path, tmp_path: Path) -> None:
    def run(**kwargs: object) -> None:
        ProcessVideosJob.process_videos(videos, output_sequence_data_path=tmp_path, **kwargs)

    with pytest.raises(PoseDataError, match="unknown subject"):
        run(num_poses=2, subject="tallest")
    with pytest.raises(PoseDataError, match=r"nearest:0\.5,0\.5"):
        run(num_poses=2, subject="nearest:0.5")
    with pytest.raises(ExtractionError, match="needs several people"):
        run(subject="moves_most")
    with pytest.raises(PoseModelConfigError, match="num_poses"):
        run(num_poses=0)
    with pytest.raises(ExtractionError, match="keep one"):
        run(num_poses=2, configuration={"num_poses": 3})
    assert not list(tmp_path.iterdir())


def test_subject_text() -> None:
    assert parse_subject("largest") == ("largest", ())
    assert parse_subject(" moves_most ") == ("moves_most", ())
    assert parse_subject("3") == parse_subject(3) == parse_subject("by_id:3") == ("by_id", (3,))
    assert parse_subject("nearest:0.5, 0.25") == ("nearest", ((0.5, 0.25),))
    assert parse_subject("inside:0,0.5,1,1") == ("inside", ((0.0, 0.5, 1.0, 1.0),))
    for bad in ("tallest", "largest:1", "inside:0,0,1", "by_id:x", "-1", "", True):
        with pytest.raises(PoseDataError):
            parse_subject(bad)  # type: ignore[arg-type]

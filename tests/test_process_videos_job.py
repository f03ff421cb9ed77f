"""`ProcessVideosJob` with real MediaPipe on 60-frame clips cut from the demo video."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

import stream_pose_ml.jobs.process_videos_job as pv
from stream_pose_ml.errors import ExtractionError, ModelAssetError
from stream_pose_ml.extraction.model_assets import PoseModelConfigError
from stream_pose_ml.extraction.pose_estimator import PoseEstimator
from stream_pose_ml.extraction.video import iter_frames, read_frames, write_video
from stream_pose_ml.jobs.process_videos_job import ProcessVideosJob, VideoResult
from stream_pose_ml.keypoints.formats.legacy_json_reader import (
    read_legacy_frame_files,
    read_legacy_sequence_json,
)
from stream_pose_ml.keypoints.sequence import PoseSequence

SIZE = (884, 496)  # half the demo's 1768 x 994, even for the encoders
BLANK = [*range(5), *range(55, 60)]  # black frames: nobody to detect
N_FRAMES = 60


@pytest.fixture(scope="module")
def demo_half(demo_video: Path) -> list[np.ndarray]:
    return [cv2.resize(rgb, SIZE) for rgb in read_frames(demo_video, max_frames=160)]


@pytest.fixture(scope="module")
def src(demo_half: list[np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """walk.mp4 (demo frames 40-89 between black frames at `BLANK`), other.mkv (demo frames
    100-159), broken.mp4 (random bytes) and a text file."""
    folder = tmp_path_factory.mktemp("videos")
    black = np.zeros_like(demo_half[0])
    walk = [black] * 5 + demo_half[40:90] + [black] * 5
    assert len(walk) == N_FRAMES
    write_video(folder / "walk.mp4", walk, fps=30.0)
    write_video(folder / "other.mkv", demo_half[100:160], fps=30.0)
    (folder / "broken.mp4").write_bytes(np.random.default_rng(7).bytes(40_000))
    (folder / "notes.txt").write_text("not a video")
    return folder


@pytest.fixture(scope="module")
def walk_only(src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("walk_only")
    (folder / "walk.mp4").write_bytes((src / "walk.mp4").read_bytes())
    return folder


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("out")


@pytest.fixture(scope="module")
def serial(src: Path, out: Path) -> list[VideoResult]:
    return ProcessVideosJob().process_videos(
        src_videos_path=src,
        output_keypoints_data_path=out / "keypoints",
        output_sequence_data_path=out / "sequences",
        write_keypoints_to_file=True,
        sequence_json=True,
        return_output=True,
        workers=1,
        progress=False,
    )


@pytest.fixture(scope="module")
def parallel(src: Path, out: Path) -> list[VideoResult]:
    return ProcessVideosJob().process_videos(
        src, output_sequence_data_path=out / "parallel", return_output=True, workers=2
    )


def by_name(results: list[VideoResult]) -> dict[str, VideoResult]:
    return {r.path.name: r for r in results}


def test_every_video_is_reported_in_name_order(serial: list[VideoResult]) -> None:
    assert [r.path.name for r in serial] == ["broken.mp4", "other.mkv", "walk.mp4"]
    assert [r.status for r in serial] == ["failed", "processed", "processed"]
    walk = by_name(serial)["walk.mp4"]
    assert walk.frames == N_FRAMES
    assert 0.8 * (N_FRAMES - len(BLANK)) <= walk.detected_frames <= N_FRAMES - len(BLANK)
    assert walk.error is None and walk.seconds > 0
    json.dumps([r.to_dict() for r in serial])  # the records are JSON-ready


def test_a_corrupt_video_fails_alone(serial: list[VideoResult], out: Path) -> None:
    broken = by_name(serial)["broken.mp4"]
    assert broken.status == "failed"
    assert "ExtractionError" in broken.error and "broken.mp4" in broken.error
    assert broken.sequence is None and broken.sequence_path is None
    assert not (out / "sequences" / "broken.npz").exists()
    assert not (out / "keypoints" / "broken").exists()
    assert (out / "sequences" / "other.npz").is_file()


def test_npz_loads_back_with_the_video_facts(serial: list[VideoResult], out: Path) -> None:
    walk = by_name(serial)["walk.mp4"]
    assert walk.sequence_path == out / "sequences" / "walk.npz"
    loaded = PoseSequence.from_npz(walk.sequence_path)
    assert loaded.equals(walk.sequence)
    assert loaded.data.shape == (N_FRAMES, 33, 4)
    np.testing.assert_array_equal(loaded.frame_numbers, np.arange(N_FRAMES))
    assert loaded.fps == 30.0 and loaded.image_size == SIZE
    assert loaded.name == "walk" and loaded.source == "mediapipe"
    meta = loaded.metadata
    assert meta["pose_model"] == "pose_landmarker_full"
    assert len(meta["pose_model_sha256"]) == 64
    assert meta["preprocess"] is False and meta["configuration"] == {}
    assert meta["video"] == "walk.mp4" and meta["extractor_version"]


def test_frames_without_a_pose_are_nan_rows(serial: list[VideoResult]) -> None:
    seq = by_name(serial)["walk.mp4"].sequence
    assert np.isnan(seq.data[BLANK]).all()
    assert not seq.detected[BLANK].any()
    people = np.setdiff1d(np.arange(N_FRAMES), BLANK)
    assert seq.detected[people].mean() >= 0.8
    xy = seq.data[seq.detected][..., :2]
    assert np.nanmedian(xy) > 0.1 and np.nanmedian(xy) < 0.9


def test_job_equals_bare_estimator_over_the_decoded_frames(
    serial: list[VideoResult], src: Path
) -> None:
    rows = np.full((N_FRAMES, 33, 4), np.nan)
    with PoseEstimator() as estimator:
        for index, rgb in iter_frames(src / "walk.mp4"):
            row = estimator.detect(rgb, round(index * 1000 / 30))
            if row is not None:
                rows[index] = row
    np.testing.assert_array_equal(by_name(serial)["walk.mp4"].sequence.data, rows)


def test_legacy_keypoint_files_and_sequence_json(serial: list[VideoResult], out: Path) -> None:
    walk = by_name(serial)["walk.mp4"]
    folder = out / "keypoints" / "walk"
    assert walk.keypoints_path == folder
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"keypoints-{i:04d}.json" for i in range(N_FRAMES)]
    first = json.loads((folder / "keypoints-0000.json").read_text())
    assert first["joint_positions"] == {} and first["frame_number"] == 0
    assert first["image_dimensions"] == {"width": SIZE[0], "height": SIZE[1]}
    from_files = read_legacy_frame_files(folder)
    np.testing.assert_allclose(from_files.data, walk.sequence.data, atol=1e-9)

    assert walk.sequence_json_path == out / "sequences" / "walk.mp4_sequence.json"
    from_json = read_legacy_sequence_json(walk.sequence_json_path)
    np.testing.assert_allclose(from_json.data, walk.sequence.data, atol=1e-9)
    assert from_json.fps == 30.0 and from_json.name == "walk"


def test_two_workers_give_the_same_keypoints_as_one(
    serial: list[VideoResult], parallel: list[VideoResult], out: Path
) -> None:
    assert [r.status for r in parallel] == [r.status for r in serial]
    for one, two in zip(serial, parallel, strict=True):
        if one.status == "processed":
            assert two.sequence_path.parent == out / "parallel"
            np.testing.assert_array_equal(two.sequence.data, one.sequence.data)
            assert two.sequence.metadata == one.sequence.metadata
    assert by_name(parallel)["walk.mp4"].keypoints_path is None  # not asked for


def test_resume_skips_and_overwrite_redoes(walk_only: Path, tmp_path: Path) -> None:
    def run(**kwargs: object) -> VideoResult:
        (result,) = ProcessVideosJob.process_videos(
            walk_only,
            output_sequence_data_path=tmp_path / "seq",
            return_output=True,
            workers=1,
            progress=False,
            **kwargs,
        )
        return result

    first = run()
    npz = tmp_path / "seq" / "walk.npz"
    assert first.status == "processed"
    stamp = npz.stat().st_mtime_ns

    again = run(write_keypoints_to_file=True, output_keypoints_data_path=tmp_path / "kp")
    assert again.status == "skipped"
    assert npz.stat().st_mtime_ns == stamp
    assert again.sequence.equals(first.sequence)
    # An output asked for only now is written from the stored sequence, without MediaPipe.
    assert len(list((tmp_path / "kp" / "walk").glob("keypoints-*.json"))) == N_FRAMES

    redone = run(overwrite=True)
    assert redone.status == "processed"
    assert npz.stat().st_mtime_ns != stamp
    np.testing.assert_array_equal(redone.sequence.data, first.sequence.data)


def test_the_documented_call_runs_as_written(walk_only: Path, tmp_path: Path) -> None:
    keypoints, sequences = str(tmp_path / "frames"), str(tmp_path / "sequences")
    output = pv.ProcessVideosJob().process_videos(
        src_videos_path=str(walk_only),
        output_keypoints_data_path=keypoints,
        output_sequence_data_path=sequences,
        write_keypoints_to_file=True,
        write_serialized_sequence_to_file=True,
        limit=None,
        configuration={},  # mediapipe configuration
        preprocess_video=True,
        return_output=False,
    )
    assert output["keypoints_path"] == keypoints and output["sequence_path"] == sequences
    assert [r.status for r in output["videos"]] == ["processed"]
    assert output["videos"][0].sequence is None  # the data stays on disk
    seq = PoseSequence.from_npz(Path(sequences) / "walk.npz")
    assert seq.metadata["preprocess"] is True
    assert seq.detected.sum() >= 40
    assert len(list(Path(keypoints, "walk").glob("keypoints-*.json"))) == N_FRAMES

    # Other settings than the stored ones: extracted again, not skipped.
    (changed,) = pv.ProcessVideosJob().process_videos(
        str(walk_only), output_sequence_data_path=sequences, return_output=True, progress=False
    )
    assert changed.status == "processed"
    assert changed.sequence.metadata["preprocess"] is False


def test_the_documented_call_in_a_script_without_a_main_guard_uses_workers(
    src: Path, tmp_path: Path
) -> None:
    """Worker processes must not run the calling script again (it has no
    ``if __name__ == "__main__"`` guard, like the original README's snippet)."""
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a.mp4", "b.mp4"):
        (videos / name).write_bytes((src / "walk.mp4").read_bytes())
    script = tmp_path / "extract.py"
    script.write_text(
        "import stream_pose_ml.jobs.process_videos_job as pv\n"
        "print('script body ran')\n"
        "pv.ProcessVideosJob().process_videos(\n"
        f"    src_videos_path={str(videos)!r},\n"
        f"    output_sequence_data_path={str(tmp_path / 'sequences')!r},\n"
        "    write_serialized_sequence_to_file=True,\n"
        "    limit=None,\n"
        "    configuration={},\n"
        "    preprocess_video=False,\n"
        "    return_output=False,\n"
        "    workers=2,\n"
        ")\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.count("script body ran") == 1, done.stdout
    assert sorted(p.name for p in (tmp_path / "sequences").glob("*.npz")) == ["a.npz", "b.npz"]


def test_limit_single_file_and_name_clashes(src: Path, tmp_path: Path) -> None:
    (only,) = ProcessVideosJob.process_videos(
        src, limit=1, write_serialized_sequence_to_file=False, return_output=True
    )
    assert only.path.name == "broken.mp4" and only.status == "failed"

    (single,) = ProcessVideosJob.process_videos(
        src / "broken.mp4", write_serialized_sequence_to_file=False, return_output=True
    )
    assert single.path == src / "broken.mp4"

    clash = tmp_path / "clash"
    clash.mkdir()
    for name in ["same.mp4", "same.webm"]:
        (clash / name).write_bytes(b"not a video")
    first, second = ProcessVideosJob.process_videos(
        clash, output_sequence_data_path=tmp_path / "seq", return_output=True, workers=1
    )
    assert first.status == second.status == "failed"
    assert "same.mp4" in second.error and "rename" in second.error


def test_bad_arguments_raise_typed_errors(src: Path, tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="output_keypoints_data_path"):
        ProcessVideosJob.process_videos(src, write_keypoints_to_file=True)
    with pytest.raises(ExtractionError, match="not found"):
        ProcessVideosJob.process_videos(tmp_path / "missing")
    with pytest.raises(ExtractionError, match="not a video"):
        ProcessVideosJob.process_videos(src / "notes.txt")
    # A configuration MediaPipe cannot take stops the job instead of failing every video.
    with pytest.raises(PoseModelConfigError, match="bogus"):
        ProcessVideosJob.process_videos(
            src, output_sequence_data_path=tmp_path / "seq", configuration={"bogus": 1}
        )
    assert not (tmp_path / "seq").exists()
    with pytest.raises(PoseModelConfigError, match="bogus"):  # the same with worker processes
        ProcessVideosJob.process_videos(src, configuration={"bogus": 1}, workers=2)


def test_a_bad_pose_bundle_stops_the_job(src: Path, tmp_path: Path) -> None:
    """The parent checks the bundle's structure; a bundle only MediaPipe rejects stops the job
    from inside the workers, instead of failing every video one by one."""
    not_a_zip = tmp_path / "not_a_zip.task"
    not_a_zip.write_bytes(b"not a bundle")
    with pytest.raises(ModelAssetError, match=r"not_a_zip\.task is not a usable"):
        ProcessVideosJob.process_videos(src, configuration={"model_path": str(not_a_zip)})
    hollow = tmp_path / "hollow.task"
    with zipfile.ZipFile(hollow, "w") as bundle:
        bundle.writestr("pose_detector.tflite", b"garbage")
        bundle.writestr("pose_landmarks_detector.tflite", b"garbage")
    with pytest.raises(ModelAssetError, match=r"hollow\.task is not a usable"):
        ProcessVideosJob.process_videos(
            src,
            output_sequence_data_path=tmp_path / "seq",
            configuration={"model_path": str(hollow)},
            workers=2,
        )
    assert not list((tmp_path / "seq").glob("*.npz"))


def test_cli_reports_each_video_and_fails_on_errors(
    src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = pv.process_videos_cli(
        [str(src / "broken.mp4"), "--sequences-dir", str(tmp_path), "--quiet"]
    )
    assert code == 1
    assert "failed    broken.mp4" in capsys.readouterr().out
    assert pv.process_videos_cli([str(src), "--sequences-dir", "x", "--configuration", "[1"]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_jobs_package_is_import_light() -> None:
    code = (
        "import sys, stream_pose_ml.jobs as jobs\n"
        "heavy = sorted(m for m in ('cv2', 'mediapipe') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert jobs.ProcessVideosJob.__name__ == 'ProcessVideosJob'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

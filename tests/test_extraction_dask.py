"""`ProcessVideosJob` on a real Dask `LocalCluster` (2 worker processes) with real MediaPipe,
on 40-frame clips cut from the demo video: the same bits as the local executor, a corrupt video
reported while the others finish, a worker killed mid-video and its task run again, reruns."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import cv2
import dask
import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from stream_pose_ml.cli import main as cli_main  # noqa: E402
from stream_pose_ml.errors import ExtractionError  # noqa: E402
from stream_pose_ml.extraction.dask_executor import PLUGIN_NAME  # noqa: E402
from stream_pose_ml.extraction.manifest import file_sha256, read_manifest  # noqa: E402
from stream_pose_ml.extraction.video import read_frames, write_video  # noqa: E402
from stream_pose_ml.jobs.process_videos_job import ProcessVideosJob, VideoResult  # noqa: E402

pytestmark = pytest.mark.slow
SIZE = (884, 496)  # half the demo's size
CLIPS = {"a.mp4": (40, 80), "b.mp4": (100, 140), "c.mkv": (150, 190)}


@pytest.fixture(scope="module")
def src(demo_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 40-frame clips of people moving and broken.mp4 (random bytes)."""
    folder = tmp_path_factory.mktemp("videos")
    frames = [cv2.resize(rgb, SIZE) for rgb in read_frames(demo_video, max_frames=190)]
    for name, (start, stop) in CLIPS.items():
        write_video(folder / name, frames[start:stop], fps=30.0)
    (folder / "broken.mp4").write_bytes(np.random.default_rng(7).bytes(40_000))
    return folder


@pytest.fixture(scope="module")
def client() -> distributed.Client:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


def run(src: Path, out: Path, **kwargs: object) -> list[VideoResult]:
    kwargs.setdefault("progress", False)
    results = ProcessVideosJob.process_videos(
        src, output_sequence_data_path=out, return_output=True, **kwargs
    )
    assert isinstance(results, list)
    return results


def by_name(results: list[VideoResult]) -> dict[str, VideoResult]:
    return {r.path.name: r for r in results}


@pytest.fixture(scope="module")
def local(src: Path, tmp_path_factory: pytest.TempPathFactory) -> list[VideoResult]:
    return run(src, tmp_path_factory.mktemp("local"), workers=2)


@pytest.fixture(scope="module")
def on_dask(
    src: Path, client: distributed.Client, tmp_path_factory: pytest.TempPathFactory
) -> list[VideoResult]:
    return run(src, tmp_path_factory.mktemp("dask"), executor=client)


def test_dask_gives_the_local_executors_keypoints_to_the_last_bit(
    local: list[VideoResult], on_dask: list[VideoResult]
) -> None:
    assert [r.path.name for r in on_dask] == ["a.mp4", "b.mp4", "broken.mp4", "c.mkv"]
    assert [r.status for r in on_dask] == [r.status for r in local]
    for here, there in zip(local, on_dask, strict=True):
        if here.status != "processed":
            continue
        assert there.sequence.data.tobytes() == here.sequence.data.tobytes()
        assert there.sequence.metadata == here.sequence.metadata
        assert there.detected_frames > 30  # people were found: the comparison means something
        # the .npz files themselves are byte for byte the same
        assert there.sequence_path.read_bytes() == here.sequence_path.read_bytes()


def test_results_stream_back_as_they_finish_under_the_progress_bar(
    src: Path,
    client: distributed.Client,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in CLIPS:
        shutil.copy(src / name, videos / name)
    with caplog.at_level("INFO", logger="stream_pose_ml.extraction.video_batch"):
        results = run(videos, tmp_path / "out", executor=client, progress=True)
    assert {r.status for r in results} == {"processed"}
    finished = [r.created for r in caplog.records if r.getMessage().startswith("processed ")]
    assert len(finished) == 3
    # three videos on two workers: the first result is in before the third video is done
    assert finished[-1] - finished[0] > 0.5 * min(r.seconds for r in results)
    bar = capsys.readouterr().err
    assert "extracting" in bar and "3/3" in bar
    # MediaPipe and the pose model were loaded by the plugin in each worker process
    loaded = client.run(
        lambda dask_worker: ("mediapipe" in __import__("sys").modules, sorted(dask_worker.plugins))
    )
    assert all(has and PLUGIN_NAME in plugins for has, plugins in loaded.values()), loaded


def test_a_corrupt_video_is_reported_while_the_others_finish(on_dask: list[VideoResult]) -> None:
    results = by_name(on_dask)
    broken = results.pop("broken.mp4")
    assert broken.status == "failed"
    assert "broken.mp4" in broken.error and "ExtractionError" in broken.error
    assert {r.status for r in results.values()} == {"processed"}
    assert all(r.frames == 40 for r in results.values())


def test_the_manifest_records_each_finished_video(on_dask: list[VideoResult]) -> None:
    out = by_name(on_dask)["a.mp4"].sequence_path.parent
    records = read_manifest(out)
    assert set(records) == {"a", "b", "c"}  # nothing for the video that failed
    for stem, record in records.items():
        result = next(r for r in on_dask if r.path.stem == stem)
        assert record.video == str(result.path) and record.frames == 40
        assert record.outputs["npz"]["path"] == f"{stem}.npz"
        assert record.pose_model == result.sequence.metadata["pose_model"]
    assert not [p for p in out.rglob("*") if ".partial" in p.name]  # no temporary file left


def test_a_rerun_does_no_work(
    src: Path, client: distributed.Client, on_dask: list[VideoResult]
) -> None:
    out = by_name(on_dask)["a.mp4"].sequence_path.parent
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = by_name(run(src, out, executor=client))
    assert again.pop("broken.mp4").status == "failed"  # a failed video is tried again
    assert {r.status for r in again.values()} == {"skipped"}
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps
    np.testing.assert_array_equal(
        again["a.mp4"].sequence.data, by_name(on_dask)["a.mp4"].sequence.data
    )


def test_a_changed_video_is_redone_and_a_touched_one_is_not(
    src: Path, client: distributed.Client, local: list[VideoResult], tmp_path: Path
) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(src / "a.mp4", videos / "clip.mp4")
    out = tmp_path / "out"
    (first,) = run(videos, out, executor=client)
    assert first.status == "processed"
    before = read_manifest(out)["clip"]

    os.utime(videos / "clip.mp4")  # same bytes, a new time: the checksum says it is the same
    (touched,) = run(videos, out, executor=client)
    assert touched.status == "skipped"

    shutil.copy(src / "b.mp4", videos / "clip.mp4")  # other bytes under the same name
    (changed,) = run(videos, out, executor=client)
    assert changed.status == "processed"
    b = by_name(local)["b.mp4"].sequence
    assert changed.sequence.data.tobytes() == b.data.tobytes()
    after = read_manifest(out)["clip"]
    assert after.video_sha256 == file_sha256(src / "b.mp4") != before.video_sha256


def test_a_killed_worker_is_replaced_and_its_video_run_again(
    src: Path, client: distributed.Client, local: list[VideoResult], tmp_path: Path
) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in CLIPS:
        shutil.copy(src / name, videos / name)
    pids = client.run(os.getpid)
    outcome: dict[str, object] = {}

    def job() -> None:
        try:
            outcome["results"] = run(videos, tmp_path / "out", executor=client)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=job)
    thread.start()
    killed: tuple[str, str] | None = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and thread.is_alive():
        executing = client.run(
            lambda dask_worker: [str(ts.key) for ts in dask_worker.state.executing]
        )
        for address, keys in executing.items():
            if keys and address in pids:
                time.sleep(0.5)  # well into the video (each takes seconds)
                os.kill(pids[address], signal.SIGKILL)
                killed = (address, keys[0])
                break
        time.sleep(0.05)
    thread.join(timeout=120)
    assert killed is not None, "no task was seen running"
    assert "error" not in outcome, outcome.get("error")
    results = by_name(outcome["results"])  # type: ignore[arg-type]
    assert {r.status for r in results.values()} == {"processed"}
    for name, result in results.items():
        expected = by_name(local)[name].sequence
        assert result.sequence.data.tobytes() == expected.data.tobytes(), name
    # the task was sent to a worker twice: once to the killed one, once after it died
    address, key = killed
    story = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.story(key))
    assert sum(entry[2] == "processing" for entry in story) >= 2, story
    assert address not in client.run(os.getpid)
    client.wait_for_workers(2, timeout=60)  # the nanny started a new worker


def test_cli_extract_on_a_scheduler_address(
    src: Path, client: distributed.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = client.scheduler.address
    argv = ["extract", str(src), "--sequences-dir", str(tmp_path), "--quiet"]
    code = cli_main([*argv, "--executor", "dask", "--scheduler", address])
    out = capsys.readouterr().out
    assert code == 1  # broken.mp4
    assert "processed a.mp4: 40/40 frames" in out and "failed    broken.mp4" in out
    assert "3 of 4 videos done" in out
    assert sorted(p.name for p in tmp_path.glob("*.npz")) == ["a.npz", "b.npz", "c.npz"]


def test_executor_dask_alone_starts_a_local_cluster_for_the_job(
    src: Path, local: list[VideoResult], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(src / "c.mkv", videos / "c.mkv")
    with caplog.at_level("INFO"):
        (result,) = run(videos, tmp_path / "out", executor="dask", workers=2)
    assert result.status == "processed"
    assert result.sequence.data.tobytes() == by_name(local)["c.mkv"].sequence.data.tobytes()
    # the new cluster's scheduler runs in this process: its INFO lines stay out of the job's log
    # (the module's cluster may log meanwhile: its records are not the new scheduler's)
    chatter = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("distributed")
        and ("Scheduler at:" in r.getMessage() or "State start" in r.getMessage())
    ]
    assert not chatter, chatter


def test_bad_executor_settings_are_typed_errors(src: Path, tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="unknown executor 'ray'"):
        run(src, tmp_path, executor="ray")
    with pytest.raises(ExtractionError, match="needs executor='dask'"):
        run(src, tmp_path, scheduler="tcp://127.0.0.1:1")
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(ExtractionError, match=r"no Dask scheduler answers at tcp://127\.0\.0\.1:9"),
    ):
        run(src, tmp_path, executor="dask", scheduler="tcp://127.0.0.1:9")
    assert not list(tmp_path.glob("*.npz"))

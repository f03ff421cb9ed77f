"""The stream runner's two modes: real time with a slow algorithm (counted drops, late runs,
bounded buffer), offline runs that are byte-identical, and stream-infer's offline and real-time
calls."""

from __future__ import annotations

import sys
import time
from fractions import Fraction

import numpy as np
import pytest
from stream_videos import cfr_times, read_index, write_index_video

from stream_pose_ml.errors import StreamError
from stream_pose_ml.stream import (
    BaseAlgo,
    Dispatcher,
    DispatcherManager,
    FrameWindow,
    Inference,
    Player,
    PoseAlgo,
    PyAVProducer,
    StreamRunner,
)
from stream_pose_ml.stream.results import read_results


class Slow(BaseAlgo):
    """Takes ``delay`` seconds per run and reports the frame it saw."""

    def __init__(self, delay: float, name: str | None = None) -> None:
        super().__init__(name)
        self.delay = delay

    def process(self, window: FrameWindow) -> dict:
        time.sleep(self.delay)
        return {"shown": read_index(window.newest.image)}


@pytest.fixture(scope="module")
def clip30(tmp_path_factory: pytest.TempPathFactory):
    """90 index frames at 30 fps: 3 s."""
    path = tmp_path_factory.mktemp("v") / "clip30.mp4"
    return write_index_video(path, cfr_times(90, Fraction(30)), Fraction(30))


def test_realtime_slow_algorithm_drops_oldest_frames_and_counts_everything(clip30, tmp_path):
    out = tmp_path / "rt.jsonl"
    started = time.monotonic()
    summary = StreamRunner(
        clip30, [Slow(0.1)], mode="realtime", buffer=4, outputs=[out], max_lateness_s=None
    ).run()
    elapsed = time.monotonic() - started
    m = summary.metrics
    assert elapsed >= 2.9  # a file plays at its own pace in real time
    assert m["frames_decoded"] == 90
    assert m["frames_dropped"] > 30  # 10 runs a second cannot keep up with 30 frames
    assert m["frames_processed"] + m["frames_dropped"] == 90
    assert m["buffer_high_water"] <= 4  # bounded, whatever the rate
    algo = m["algorithms"]["Slow"]
    assert algo["runs_done"] == m["frames_processed"]
    assert algo["lateness_ms"]["p95"] > 50  # frames waited in the buffer
    run, records, metrics = read_results(out)
    assert run["mode"] == "realtime" and metrics["frames_dropped"] == m["frames_dropped"]
    ran = [r["frame_index"] for r in records]
    assert ran == sorted(set(ran))  # in order, each frame once
    assert all(r["value"]["shown"] == r["frame_index"] for r in records)
    assert all(r["latency_ms"] is not None and r["latency_ms"] >= 100 for r in records)


def test_realtime_runs_older_than_the_lateness_limit_are_skipped(clip30):
    summary = StreamRunner(
        clip30, [Slow(0.1)], mode="realtime", buffer=8, max_lateness_s=0.05
    ).run()
    algo = summary.metrics["algorithms"]["Slow"]
    assert algo["runs_skipped_late"] > 0
    assert algo["runs_due"] == algo["runs_done"] + algo["runs_skipped_late"]


@pytest.mark.slow
def test_two_offline_runs_with_pose_write_byte_identical_files(demo_video, tmp_path):
    paths = []
    for run in ("a", "b"):
        outputs = [tmp_path / f"{run}.jsonl", tmp_path / f"{run}.parquet"]
        StreamRunner(
            demo_video, [PoseAlgo(complexity="lite")], outputs=outputs, max_frames=40
        ).run()
        paths.append(outputs)
    (a_json, a_pq), (b_json, b_pq) = paths
    assert a_json.read_bytes() == b_json.read_bytes()
    assert a_pq.read_bytes() == b_pq.read_bytes()
    run, records, metrics = read_results(a_pq)
    assert len(records) == 40 and metrics["frames_processed"] == 40
    assert sum(r["value"]["landmarks"] is not None for r in records) >= 35  # people in view
    assert "inference_ms" not in metrics["algorithms"]["pose"]  # no wall-clock values
    assert read_results(a_json)[1] == records


def test_stream_infer_offline_calls_key_results_by_frame(clip30):
    class Every(BaseAlgo):
        def run(self, frames):
            return [read_index(f) for f in frames]

    dispatcher = Dispatcher(30)
    inference = Inference(dispatcher)
    inference.load_algo(Every("sec"), frame_count=3, frame_step=10, interval=1)
    inference.load_algo(Every("tenth"), 1, 1, 0.1)
    player = Player(dispatcher, PyAVProducer(128, 48), path=clip30)
    names = []
    for frame, current_frame in player.play(30):
        assert frame.shape == (48, 128, 3)
        names.append(inference.auto_run_specific(player.play_fps, current_frame))
    results = dispatcher.collect_results
    assert sorted(results["sec"], key=int) == ["0", "30", "60"]
    assert results["sec"]["30"] == [10, 20, 30]  # 3 frames 10 apart, newest last
    assert results["sec"]["0"] == [0]  # the frames before the start are absent
    assert sorted(results["tenth"], key=int) == [str(i) for i in range(0, 90, 3)]  # all 30 kept
    assert dispatcher.get_last_result("tenth") == [87]
    assert names[0] == "tenth" and names[1] is None


def test_stream_infer_realtime_calls_share_one_dispatcher(clip30):
    dispatcher = DispatcherManager(Dispatcher).create(max_size=8)
    inference = Inference(dispatcher)
    inference.load_algo(Slow(0.0, "seen"), frame_count=1, frame_step=1, interval=0.5)
    player = Player(dispatcher, PyAVProducer(128, 48), source=clip30)
    player.play_async(30)
    inference.run_async()
    while player.is_active():
        time.sleep(0.01)
    inference.stop()
    player.stop()
    seen = dispatcher.collect_results["seen"]
    assert sorted(map(int, seen)) == [0, 15, 30, 45, 60, 75]
    assert all(v["shown"] == int(k) for k, v in seen.items())
    assert Dispatcher.create(mode="realtime", buffer=5).max_size == 5


def test_stream_infer_decimation_plays_at_the_lower_rate(clip30):
    dispatcher = Dispatcher()
    inference = Inference(dispatcher)
    inference.load_algo(Slow(0.0, "all"), 1, 1, 0)
    player = Player(dispatcher, PyAVProducer(), clip30)
    for _, current in player.play(10):
        inference.auto_run_specific(player.play_fps, current)
    assert player.play_fps == 10
    assert sorted(map(int, dispatcher.collect_results["all"])) == list(range(0, 90, 3))


def test_bad_runner_settings_are_refused(clip30, tmp_path):
    with pytest.raises(StreamError, match="mode"):
        StreamRunner(clip30, [Slow(0)], mode="fast")  # type: ignore[arg-type]
    with pytest.raises(StreamError, match="at least one"):
        StreamRunner(clip30, [])
    with pytest.raises(StreamError, match=r"\.jsonl"):
        StreamRunner(clip30, [Slow(0)], outputs=[tmp_path / "x.csv"]).run()
    with pytest.raises(StreamError, match="named"):
        StreamRunner(clip30, [Slow(0), Slow(0)]).run()


@pytest.mark.parametrize("kind", ["http", "rtsp"])
def test_realtime_run_over_a_live_network_stream(kind, tmp_path):
    """A real local stream server; a live source is not paced, and the run stops on request."""
    from stream_servers import SYSTEM_PYTHON, rtsp_server_available, stream_server

    if kind == "rtsp":
        problem = rtsp_server_available()
        assert problem is None, f"GStreamer's RTSP server cannot run: {problem}"
    python = SYSTEM_PYTHON if kind == "rtsp" else sys.executable
    with stream_server(kind, 0, python) as (port, _):
        url = (
            f"http://127.0.0.1:{port}/live.ts"
            if kind == "http"
            else f"rtsp://127.0.0.1:{port}/live"
        )
        out = tmp_path / f"{kind}.jsonl"
        summary = StreamRunner(
            url, [Slow(0.0, "seen")], mode="realtime", outputs=[out], max_frames=40
        ).run()
    run, records, metrics = read_results(out)
    assert run["source_info"]["live"] is True and run["source_info"]["kind"] == "stream"
    assert summary.metrics["frames_decoded"] == 40
    assert metrics["frames_processed"] + metrics["frames_dropped"] == 40
    times = [r["time_s"] for r in records]
    assert times == sorted(times) and len(records) == metrics["frames_processed"]


@pytest.mark.slow
def test_pose_of_two_people_keeps_their_ids_and_one_subject(demo_video, tmp_path):
    out = tmp_path / "people.jsonl"
    video = tmp_path / "people.mp4"
    algo = PoseAlgo(complexity="full", num_poses=2)
    StreamRunner(demo_video, [algo], outputs=[out], video_out=video).run()
    records = read_results(out)[1]
    ids = [sorted(p["id"] for p in r["value"]["people"]) for r in records]
    seen = {i for frame in ids for i in frame}
    assert len(seen) == 2, seen  # one id per person over the clip
    both = sum(len(frame) == 2 for frame in ids)
    assert both >= 100, both  # both in view much of the time
    previous = None
    for r in records:  # the subject changes only when the one before is out of view
        now, people = r["value"]["subject"], {p["id"] for p in r["value"]["people"]}
        if previous is not None and now != previous:
            assert previous not in people
        previous = now
    for r in records:  # the subject's landmarks are those of its track
        people_by_id = {p["id"]: p["landmarks"] for p in r["value"]["people"]}
        if r["value"]["subject"] in people_by_id:
            assert r["value"]["landmarks"] == people_by_id[r["value"]["subject"]]


@pytest.mark.slow
def test_a_subject_rule_picks_the_person_inside_a_region(demo_video, tmp_path):
    """``subject="inside:0,0.5,1,1"`` (the lower half) classifies the woman walking there, not
    the man on the box, in every frame she is in view (frames 60-150 of the demo)."""
    out = tmp_path / "inside.jsonl"
    algo = PoseAlgo(complexity="full", num_poses=2, subject="inside:0,0.5,1,1")
    StreamRunner(demo_video, [algo], outputs=[out], max_frames=150).run()
    records = read_results(out)[1]
    low = 0
    for r in records:
        value = r["value"]
        hips = {p["id"]: np.nanmean(np.asarray(p["landmarks"])[23:25, 1]) for p in value["people"]}
        if any(y > 0.5 for y in hips.values()):
            low += 1
            assert hips.get(value["subject"], 0.0) > 0.5, (r["frame_index"], hips, value["subject"])
            assert value["landmarks"] is not None
    assert low >= 60, low

"""Schedules, windows and decimation of the stream runner, on generated videos whose frames show
their own index (30, 30000/1001 and variable frame rates) and on an hour of timestamps."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest
from stream_videos import cfr_times, read_index, vfr_times, write_index_video

from stream_pose_ml.errors import StreamError
from stream_pose_ml.stream import (
    BaseAlgo,
    EveryFrames,
    EveryInterval,
    FrameWindow,
    Scheduled,
    StreamRunner,
    Window,
)
from stream_pose_ml.stream.results import read_results

RATES = {
    "30": (Fraction(30), lambda n: cfr_times(n, Fraction(30))),
    "29.97": (Fraction(30000, 1001), lambda n: cfr_times(n, Fraction(30000, 1001))),
    "vfr": (None, vfr_times),
}


class ShownIndex(BaseAlgo):
    """Reads the index each window frame shows: what the algorithm really saw."""

    def process(self, window: FrameWindow) -> dict:
        return {
            "shown": [None if f is None else read_index(f.image) for f in window.frames],
            "indices": list(window.indices),
            "mask": window.mask.tolist(),
        }


@pytest.fixture(scope="module", params=sorted(RATES))
def video(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    rate, times = RATES[request.param]
    t = times(150)
    path = write_index_video(tmp_path_factory.mktemp("v") / f"{request.param}.mp4", t, rate)
    return path, t


def _run(path: Path, scheduled: list[Scheduled], tmp_path: Path, **options) -> list[dict]:
    out = tmp_path / "r.jsonl"
    StreamRunner(path, scheduled, outputs=[out], **options).run()
    return read_results(out)[1]


def expected_interval_frames(times: list[float], interval: float, start: float = 0.0) -> list[int]:
    """First frame at or after each start + k * interval, one per due time reached."""
    frames: list[int] = []
    k = 0
    for i, t in enumerate(times):
        if t + 1e-6 >= start + k * interval:
            frames.append(i)
            k = math.floor((t + 1e-6 - start) / interval) + 1
    return frames


def test_interval_runs_land_on_the_first_frame_at_or_after_each_due_time(video, tmp_path):
    path, times = video
    records = _run(path, [Scheduled(ShownIndex(), EveryInterval(0.5))], tmp_path)
    ran = [r["frame_index"] for r in records]
    assert ran == expected_interval_frames(times, 0.5)
    assert [r["value"]["shown"][-1] for r in records] == ran  # the frame it names, really
    assert [r["time_s"] for r in records] == pytest.approx([times[i] for i in ran], abs=1e-6)


def test_frame_schedule_with_offset_names_exact_frames(video, tmp_path):
    path, _ = video
    records = _run(path, [Scheduled(ShownIndex(), EveryFrames(7, offset=3))], tmp_path)
    assert [r["frame_index"] for r in records] == list(range(3, 150, 7))
    assert all(r["value"]["shown"] == [r["frame_index"]] for r in records)


def test_windows_are_frame_count_frames_frame_step_apart_newest_last(video, tmp_path):
    path, _ = video
    algo = Scheduled(ShownIndex(), EveryFrames(5), Window(count=4, step=3))
    records = _run(path, [algo], tmp_path)
    for r in records:
        i = r["frame_index"]
        wanted = [i - 9, i - 6, i - 3, i]
        assert r["value"]["indices"] == wanted
        assert r["value"]["mask"] == [j >= 0 for j in wanted]
        assert r["value"]["shown"] == [j if j >= 0 else None for j in wanted]
        assert (r["window_start"], r["window_end"]) == (wanted[0], i)


def test_decimation_keeps_the_first_frame_at_or_after_each_tick(video, tmp_path):
    path, times = video
    out = tmp_path / "d.jsonl"
    summary = StreamRunner(path, [ShownIndex()], fps=10, outputs=[out]).run()
    ran = [r["frame_index"] for r in read_results(out)[1]]
    assert ran == expected_interval_frames(times, 0.1)
    assert summary.metrics["frames_decimated"] == 150 - len(ran)
    assert summary.metrics["frames_decoded"] == 150


def test_an_hour_at_29_97_fps_does_not_drift():
    """107,892 frames of 1001/30000 s: every run on the first frame at or after k seconds."""
    rate = Fraction(30000, 1001)
    schedule = EveryInterval(1.0)
    ran = [i for i in range(107_892) if schedule.due(i, float(i / rate))[0]]
    exact = [math.ceil(k * rate) for k in range(3600)]  # first index with i / rate >= k
    assert ran == exact


def test_due_times_between_two_frames_are_counted_as_missed():
    schedule = EveryInterval(0.1)
    assert schedule.due(0, 0.0) == (True, 0)
    assert schedule.due(1, 0.35) == (True, 2)  # 0.1 and 0.2 passed without a frame
    assert schedule.due(2, 0.36) == (False, 0)
    frames = EveryFrames(2)
    assert frames.due(0, 0.0) == (True, 0)
    assert frames.due(5, 0.0) == (False, 2)  # 2 and 4 never reached the runner


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: EveryInterval(0), "interval"),
        (lambda: EveryFrames(0), "step"),
        (lambda: Window(count=0), "frame_count"),
        (lambda: Window(step=1.5), "frame_step"),  # type: ignore[arg-type]
    ],
)
def test_bad_schedules_are_refused_by_name(make, message):
    with pytest.raises(StreamError, match=message):
        make()

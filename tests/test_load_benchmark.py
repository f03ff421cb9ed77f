"""The Socket.IO load benchmark counts truthfully (``benchmarks/load_socketio.py``).

Two sessions of real demo-video landmarks run for a few seconds against the real API (gunicorn,
an XGBoost bundle) and against the transport floor (``benchmarks/floor_server.py``) with the
benchmark's own machinery; every due window is answered or missing, every result is matched to
its window by frame id, and the server's own counters agree. Two quick checks cover the capacity
search and the client shapes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:  # the benchmarks are scripts, not a package
    sys.path.insert(0, str(BENCHMARKS))

from load_capacity import CapacitySearch  # noqa: E402
from load_shapes import make_shape  # noqa: E402

from stream_pose_ml.features.windows import window_ends  # noqa: E402
from stream_pose_ml.serving import decode_frames  # noqa: E402
from stream_pose_ml.serving.payload import PayloadLimits  # noqa: E402


def test_capacity_search_brackets_bisects_and_confirms() -> None:
    for capacity in (0, 1, 7, 63, 250, 400):
        search = CapacitySearch(start=10, most=400, resolution=0.1, confirm=1)
        while (count := search.next_count()) is not None:
            search.record(count, count <= capacity)
        assert capacity - max(1, capacity // 10) <= search.capacity <= capacity
        assert len(search.steps) < 16
    # a confirmation that fails sends the search below it: 28 passes once, then fails
    search = CapacitySearch(start=10, most=400, resolution=0.1, confirm=1)
    while (count := search.next_count()) is not None:
        runs_of_28 = sum(c == 28 for c, _ in search.steps)
        search.record(count, count < 28 or (count == 28 and runs_of_28 == 0))
    assert [c for c, _ in search.steps] == [10, 20, 40, 30, 25, 27, 28, 28, 27]
    assert search.capacity == 27


def test_batched_shape_sends_when_a_window_is_due() -> None:
    frames = np.random.default_rng(0).random((50, 33, 4)).astype(np.float32)
    shape = make_shape("batched", frames, (640, 480), batch=5, window_size=30, stride=5)
    sent = [out for i in range(47) if (out := shape.add(i, i % 50, i * 1000 / 30)) is not None]
    assert [out.last for out in sent] == window_ends(0, 47, 30, 5).tolist()  # 29, 34, 39, 44
    assert [out.first for out in sent] == [0, 30, 35, 40]
    batch = decode_frames(sent[1].payload, PayloadLimits())
    assert batch.frame_ids.tolist() == list(range(30, 35))
    np.testing.assert_array_equal(batch.data, frames[30:35])
    web_ui = make_shape("json", frames, (640, 480), batch=5, window_size=30, stride=5)
    message = web_ui.add(3, 3, 100.0)
    assert message is not None and message.payload["frame_id"] == 3
    assert set(message.payload) == {"landmarks", "frame_id", "timestamp", "image_size"}
    assert message.payload["landmarks"][0] == dict(
        zip(("x", "y", "z", "visibility"), frames[3, 0].tolist(), strict=True)
    )


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list]:
    """The API and the floor, started the way the benchmark starts them."""
    from load_servers import start_api, start_floor

    folder = tmp_path_factory.mktemp("load")
    targets = [start_floor("gevent", folder / "floor", max_sessions=10)]
    try:
        # no shedding of late frames: on a busy machine a stall would restart windows, and this
        # test is about the counting, not about the server's overload policy
        no_shedding = {"STREAM_POSE_ML_STALE_FRAME_MS": "0"}
        targets.append(start_api("gevent", folder / "api", max_sessions=10, env=no_shedding))
        yield targets
    finally:
        for target in targets:
            target.stop()


@pytest.mark.slow
def test_due_windows_are_answered_or_missing_and_matched_by_frame_id(servers) -> None:
    from load_report import count_windows, window_table
    from load_socketio import parse_args, run_load

    args = parse_args(
        ["--mode", "batched", "--duration", "4", "--warmup", "1", "--grace", "3", "--procs", "1"]
    )
    for target in servers:
        run = run_load(args, target, 2)
        records = [r for p in run.processes for r in p.records]
        assert len(records) == 2 and all(r.connected for r in records), target.kind
        for process in run.processes:
            for record in process.records:
                assert (record.window_size, record.stride) == (30, 5)  # the `configured` answer
                assert record.frames_sent == 120
                table = window_table(record, args.fps, process.measure_from)
                np.testing.assert_array_equal(table.frame_id, window_ends(0, 120, 30, 5))
                assert table.due.all()
                answered = table.answered
                # matched by frame id: each result names a due window, arrives after the message
                # holding that window's last frame, and echoes that frame's timestamp
                assert table.unmatched == 0 and record.mismatched == 0 and record.duplicates == 0
                assert set(record.answered) == set(table.frame_id[answered].tolist())
                assert (table.arrival[answered] > table.sent[answered]).all()
                # batched: the message holding a window's last frame ends with it
                assert set(table.frame_id.tolist()) <= set(record.message_last)
                # the server's own count: every due window classified or dropped
                assert record.status is not None
                status = record.status
                assert status["classifications"] + status["frames_dropped"] == len(table.frame_id)
                assert status["classifications"] == int(answered.sum())
        counts = count_windows(run.processes, args.fps)
        assert counts["windows_due"] == counts["windows_answered"] + counts["windows_missing"]
        assert counts["run_windows_due"] == 2 * len(window_ends(0, 120, 30, 5))
        assert counts["run_windows_due"] == (
            counts["run_windows_answered"] + counts["run_windows_missing"]
        )
        assert counts["windows_unaccounted"] == 0
        assert counts["latency_samples"] == counts["windows_answered"] > 0
        assert counts["errors"] == {} and counts["warnings"] == {}
        assert counts["results_off_rule"] == counts["results_unmatched"] == 0
        dropped = run.counters["dropped_end"] - run.counters["dropped_before"]
        assert counts["run_windows_missing"] == counts["dropped_sessions"] == dropped
        if target.kind == "floor":
            assert counts["run_windows_missing"] == 0  # the floor answers every window at once

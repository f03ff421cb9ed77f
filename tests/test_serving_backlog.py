"""Frames that waited in buffers are shed, the window keeps what it needs, the client is told."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
from api_server import frame_message, pose_frames, save_legacy_model

from stream_pose_ml.serving import LiveService, ModelStore, encode_frames
from stream_pose_ml.serving.backlog import peek_frames

WINDOW = 3


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_legacy_model(tmp_path_factory.mktemp("backlog") / "w3.pkl", window=WINDOW, seed=4)


def live(tmp_path: Path, model: Path, events: list) -> LiveService:
    service = LiveService(
        ModelStore(tmp_path / "models"),
        emit=lambda event, body, sid: events.append((event, body)),
        spawn=lambda fn: fn(),
        stale_ms=250.0,
    )
    # these tests simulate read times: the dispatcher's deadline (test_serving_dispatcher.py)
    # would compare them with the real clock
    service.dispatcher.max_wait_s = None
    with open(model, "rb") as upload:
        service.set_model(upload, model.name)
    service.open_session("s")
    return service


def test_peek_frames_reads_counts_and_the_newest_timestamp() -> None:
    frames = pose_frames(4, seed=1)
    assert peek_frames(frame_message(frames[0], timestamp=12.5)) == (1, 12.5)
    batch = {
        "frames": [frame_message(f, timestamp=t) for f, t in zip(frames, (1, 2, 3, 4), strict=True)]
    }
    assert peek_frames(batch) == (4, 4.0)
    assert peek_frames(encode_frames(frames, np.arange(4), [10.0, 20.0, 30.0, 40.0])) == (4, 40.0)
    for junk in (b"xx", 42, {"frames": "no"}, {"landmarks": [], "timestamp": "now"}):
        _, stamp = peek_frames(junk)
        assert math.isnan(stamp)


def test_a_backlog_is_shed_and_the_session_catches_up(tmp_path: Path, model: Path) -> None:
    events: list = []
    service = live(tmp_path, model, events)
    frames = pose_frames(90, seed=2)

    t0 = time.perf_counter()  # read times from now on (the dispatcher compares them with now)

    def send(i: int, read_s: float) -> None:
        service.keypoints("s", frame_message(frames[i], i, timestamp=i * 33.0), t0 + read_s)

    for i in range(10):  # read as sent: 33 ms apart, 5 ms transport delay
        send(i, 0.005 + i * 0.033)
    for i in range(10, 70):  # the reader was busy: frames sent over 2 s are read at once
        send(i, 2.30)
    for i in range(70, 90):  # read as sent again
        send(i, 0.005 + i * 0.033)
    warnings = [body for event, body in events if event == "warning"]
    assert len(warnings) == 1 and warnings[0]["code"] == "behind"
    assert warnings[0]["lag_ms"] > 250 and "frames_shed" in warnings[0]
    answered = [b["frame_id"] for e, b in events if e == "frame_result" and b["label"]]
    assert answered[:9] == list(range(2, 11))  # before the queue, every window
    # frames that waited more than 250 ms are stale; all but the window's last 3 are shed unread
    stale = [i for i in range(11, 70) if (2.30 - 0.005 - i * 0.033) * 1000 > 250]
    assert stale == list(range(11, 62))
    assert not set(range(11, 61)) & set(answered)  # no window with a shed frame
    # the kept 3 refill the window: the last stale frame's window and every fresh one's are
    # answered at once
    assert answered[9:] == list(range(61, 90))
    assert service.status("s")["frames_dropped"] == len(stale) - WINDOW  # 11..58, shed


def test_a_client_slower_than_its_timestamps_is_never_shed(tmp_path: Path, model: Path) -> None:
    events: list = []
    service = live(tmp_path, model, events)
    frames = pose_frames(200, seed=3)
    t0 = time.perf_counter()
    for i in range(200):  # timestamps 33 ms apart, sent 50 ms apart: 3.4 s behind at the end
        service.keypoints("s", frame_message(frames[i], i, timestamp=i * 33.0), t0 + i * 0.050)
    assert not [e for e, _ in events if e == "warning"]
    answered = [b["frame_id"] for e, b in events if e == "frame_result" and b["label"]]
    assert answered == list(range(2, 200))

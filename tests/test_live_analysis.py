"""The live server's movement analyzer: a real gunicorn process and a real Socket.IO client send
generated squats (known truth), and the ``analysis`` events equal offline ``analyze`` of the
same frames; bad input is an ``error`` and the session goes on; no model is needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from api_server import ApiServer, frame_message, live_clients
from test_message_schema import assert_valid

from stream_pose_ml.analysis import AnalysisEvent, SquatAnalyzer, analyze
from stream_pose_ml.analysis.motion import IMAGE_SIZE, SquatRep, squat_session


def test_live_squat_events_equal_offline_analysis(tmp_path: Path) -> None:
    reps = [SquatRep(70), SquatRep(125), SquatRep(60, valgus=0.4, extra_lean_deg=25)]
    session = squat_session(reps, yaw_deg=90, drop_rate=0.05, seed=4)
    seq = session.sequence
    times_ms = np.arange(seq.n_frames) * 1000.0 / 30.0
    offline = analyze(SquatAnalyzer(), seq, times_s=(times_ms / 1000.0).tolist()).events
    assert sum(e.kind == "repetition" for e in offline) == 3
    with ApiServer(tmp_path / "data") as api, live_clients(api.url, 2) as (client, other):
        client.emit("configure", {"analyzer": "squat"})
        assert client.wait_for("configured")[0]["analyzer"] == "squat"
        for i in range(seq.n_frames):
            message = frame_message(seq.data[i], frame_id=i, image_size=IMAGE_SIZE)
            message["timestamp"] = float(times_ms[i])
            client.emit("keypoints", message)
            if i == 40:  # bad input: an error for this client, the session goes on
                client.emit("configure", {"analyzer": "cartwheel"})
                other.emit("keypoints", {"landmarks": [1]})
        last = seq.n_frames - 1
        client.wait_for("analysis", lambda a: a["frame_id"] >= last - 30, timeout=30)
        client.emit("keypoints", frame_message(seq.data[0], frame_id=10_000, timestamp=0.0))
        codes = [e["code"] for e in client.wait_for("error", count=2, timeout=10)]
        assert codes == ["unknown_analyzer", "bad_timestamp"]
        assert other.wait_for("error")[0]["code"] == "landmark_count"
        bodies = client.received("analysis")
    for body in bodies:
        assert_valid("Analysis", body)
    live = [AnalysisEvent.from_dict(e) for body in bodies for e in body["events"]]
    assert live == offline
    assert bodies[-1]["summary"]["repetitions"] == 3
    assert not client.received("frame_result")  # no model: analysis only, and no no_model error
    assert "Traceback" not in api.log_text()


def test_analyzer_setting_is_refused_by_name_and_can_be_cleared(tmp_path: Path) -> None:
    with ApiServer(tmp_path / "data") as api, live_clients(api.url, 1) as (client,):
        client.emit("configure", {"analyzer": 3})
        assert client.wait_for("error")[0]["code"] == "unknown_analyzer"
        client.emit("configure", {"analyzer": "falls"})
        assert client.wait_for("configured")[0]["analyzer"] == "falls"
        client.emit("configure", {"analyzer": None})
        assert client.wait_for("configured", count=2)[1]["analyzer"] is None
        client.emit("keypoints", frame_message(np.full((33, 4), 0.5), frame_id=1))
        assert client.wait_for("error", count=2)[1]["code"] == "no_model"  # no analyzer, no model

"""The Socket.IO contract against the real server process (gunicorn) with real clients."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import websocket
from api_server import (
    ApiServer,
    LiveClient,
    frame_message,
    live_clients,
    pose_frames,
    save_legacy_model,
)

from stream_pose_ml.extraction.pose_estimator import PoseEstimator
from stream_pose_ml.features import sliding_windows
from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.learning.loading import load_model
from stream_pose_ml.serving import encode_frames

pytestmark = pytest.mark.slow

DEMO_SIZE = (1768, 994)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("socket-models")
    return {w: save_legacy_model(folder / f"window{w}.pkl", window=w, seed=w) for w in (3, 5)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models: dict[int, Path]):
    data = tmp_path_factory.mktemp("socket-api") / "data"
    settings = {"STREAM_POSE_ML_MAX_MESSAGE_BYTES": "1000000", "STREAM_POSE_ML_POSE_MODEL": "lite"}
    with ApiServer(data, settings) as api:
        ids = {}
        for window in (5, 3):  # window 3 ends up active
            response = api.upload(models[window], frame_window_size=window)
            assert response.status_code == 200, response.text
            ids[window] = response.json()["model"]["id"]
        api.model_ids = ids
        yield api


def offline_rows(model_path: Path, frames: np.ndarray, stride: int = 1, image_size=None):
    """Offline feature rows and class probabilities of every window of ``frames``."""
    model = load_model(model_path)
    transform = model.feature_transform()
    seq = PoseSequence(data=frames, image_size=image_size)
    rows = transform.with_input(image_size=image_size).transform(
        sliding_windows(seq, model.window_size, stride)
    )
    proba = model.predict_proba(rows)
    labels = model.label(model.classes)
    return rows, [dict(zip(labels, p, strict=True)) for p in proba]


def features_of(result: dict) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in result["features"]])


def send_frames(client: LiveClient, frames: np.ndarray, first_id: int = 0, size=None) -> None:
    for i, frame in enumerate(frames):
        client.emit("keypoints", frame_message(frame, frame_id=first_id + i, image_size=size))


def test_connect_sends_heartbeat_with_session_status(server: ApiServer) -> None:
    with live_clients(server.url, 1) as (client,):
        beat = client.wait_for("heartbeat")[0]
        assert beat["session"]["sid"] == client.sid
        assert beat["active_model_id"] == server.model_ids[3]
        beats = client.wait_for("heartbeat", count=2, timeout=5)  # the 1 s periodic heartbeat
        assert beats[1]["server_time"] > beats[0]["server_time"]


def test_two_sessions_with_different_windows_have_no_crosstalk(
    server: ApiServer, models: dict[int, Path]
) -> None:
    frames_a, frames_b = pose_frames(41, seed=1), pose_frames(41, seed=2)
    with live_clients(server.url, 2) as (a, b):
        a.emit("configure", {"model_id": server.model_ids[3], "include_features": True})
        b.emit(
            "configure", {"model_id": server.model_ids[5], "overlap": 3, "include_features": True}
        )
        assert a.wait_for("configured")[0]["window_size"] == 3
        configured_b = b.wait_for("configured")[0]
        assert (configured_b["window_size"], configured_b["stride"]) == (5, 2)
        senders = [
            threading.Thread(target=send_frames, args=(a, frames_a, 0)),
            threading.Thread(target=send_frames, args=(b, frames_b, 1000)),
        ]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join()
        a.wait_for("frame_result", lambda r: r["frame_id"] == 40)
        b.wait_for("frame_result", lambda r: r["frame_id"] == 1040)
        rows_a, proba_a = offline_rows(models[3], frames_a)
        rows_b, proba_b = offline_rows(models[5], frames_b, stride=2)
        for client, rows, proba, window, stride, first in (
            (a, rows_a, proba_a, 3, 1, 0),
            (b, rows_b, proba_b, 5, 2, 1000),
        ):
            results = [r for r in client.received("frame_result") if r["label"] is not None]
            assert results
            for result in results:
                index = result["frame_id"] - first - (window - 1)
                assert index % stride == 0 and 0 <= index // stride < len(rows)
                assert result["window_size"] == window
                np.testing.assert_array_equal(features_of(result), rows[index // stride])
                for label, p in proba[index // stride].items():
                    assert result["probabilities"][label] == pytest.approx(p, abs=1e-9)
            assert not client.received("error")


def test_live_rows_equal_offline_rows_on_real_mediapipe_frames(
    server: ApiServer, models: dict[int, Path], demo_frames: list[np.ndarray]
) -> None:
    with PoseEstimator(complexity="lite", running_mode="video") as estimator:
        keypoints = [
            estimator.detect(rgb, round(i * 1000 / 30)) for i, rgb in enumerate(demo_frames[:12])
        ]
    frames = np.stack([np.full((33, 4), np.nan) if k is None else k for k in keypoints])
    assert np.isfinite(frames[:, :, :2]).all(), "the demo's first frames show a person"
    rows, _ = offline_rows(models[3], frames, image_size=DEMO_SIZE)
    with live_clients(server.url, 2) as (json_client, binary_client):
        for client in (json_client, binary_client):
            client.emit("configure", {"include_features": True, "image_size": list(DEMO_SIZE)})
            client.wait_for("configured")
        for i, frame in enumerate(frames):  # one at a time: nothing is dropped
            json_client.emit("keypoints", frame_message(frame, frame_id=i, image_size=DEMO_SIZE))
            json_client.wait_for("frame_result", lambda r, i=i: r["frame_id"] == i)
        binary_client.emit("keypoints", encode_frames(frames, np.arange(12), image_size=DEMO_SIZE))
        batch = binary_client.wait_for("frame_result", lambda r: r["frame_id"] == 11)[0]
        live = [r for r in json_client.received("frame_result") if r["label"] is not None]
        assert [r["frame_id"] for r in live] == list(range(2, 12))
        np.testing.assert_array_equal(np.stack([features_of(r) for r in live]), rows)
        # binary frames travel as float32: the same rows as offline on float32 keypoints
        rows32, _ = offline_rows(
            models[3], frames.astype(np.float32).astype(np.float64), image_size=DEMO_SIZE
        )
        assert [r["frame_id"] for r in batch["results"]] == list(range(2, 12))
        np.testing.assert_array_equal(np.stack([features_of(r) for r in batch["results"]]), rows32)


def test_frame_events_run_mediapipe_like_the_offline_pipeline(
    server: ApiServer, models: dict[int, Path], demo_frames: list[np.ndarray]
) -> None:
    jpegs = [
        cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()
        for rgb in demo_frames[:6]
    ]
    with PoseEstimator(complexity="lite", running_mode="video") as estimator:
        keypoints = [
            estimator.detect(
                cv2.cvtColor(
                    cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
                ),
                round(i * 1000 / 30),
            )
            for i, j in enumerate(jpegs)
        ]
    frames = np.stack([np.full((33, 4), np.nan) if k is None else k for k in keypoints])
    rows, _ = offline_rows(models[3], frames, image_size=DEMO_SIZE)
    with live_clients(server.url, 1) as (client,):
        client.emit("configure", {"include_features": True})
        client.wait_for("configured")
        for i, jpeg in enumerate(jpegs):
            client.emit("frame", {"image": jpeg, "frame_id": i, "timestamp": i * 1000 / 30})
            client.wait_for("frame_result", lambda r, i=i: r["frame_id"] == i, timeout=60)
        live = [r for r in client.received("frame_result") if r["label"] is not None]
        assert [r["frame_id"] for r in live] == [2, 3, 4, 5]
        np.testing.assert_allclose(np.stack([features_of(r) for r in live]), rows, atol=1e-3)
        assert not client.received("error")


def test_a_batch_message_is_answered_with_every_due_window(server: ApiServer) -> None:
    frames = pose_frames(8, seed=3)
    with live_clients(server.url, 1) as (client,):
        client.emit(
            "keypoints",
            {"frames": [frame_message(f, frame_id=10 + i) for i, f in enumerate(frames)]},
        )
        result = client.wait_for("frame_result", lambda r: r["label"] is not None)[0]
        assert result["frame_id"] == 17
        assert [r["frame_id"] for r in result["results"]] == list(range(12, 18))
        assert set(result["probabilities"]) == {
            "Failure Weight Transfer",
            "Successful Weight Transfer",
        }
        assert math.isclose(sum(result["probabilities"].values()), 1.0)


def test_the_original_uis_pose_landmarker_result_is_accepted(server: ApiServer) -> None:
    frames = pose_frames(3, seed=4)
    with live_clients(server.url, 1) as (client,):
        for frame in frames:
            points = [{"x": float(x), "y": float(y), "z": float(z)} for x, y, z, _ in frame]
            client.emit("keypoints", {"landmarks": [points], "worldLandmarks": [points]})
        result = client.wait_for("frame_result", lambda r: r["label"] is not None)[0]
        assert result["classification"] == result["label"]
        assert result["frame_id"] == 2  # numbered by the server
        client.emit("keypoints", {"landmarks": [], "worldLandmarks": []})  # nobody in view
        assert client.wait_for("frame_result", lambda r: r["frame_id"] == 3)
        assert not client.received("error")


BAD_MESSAGES = {
    "malformed_json": ("keypoints", '{"landmarks": [', "bad_json"),
    "wrong_landmark_count": (
        "keypoints",
        {"landmarks": [{"x": 0.5, "y": 0.5}] * 17},
        "landmark_count",
    ),
    "nan": ("keypoints", "nan", "non_finite"),
    "infinity": ("keypoints", "inf", "non_finite"),
    "strings_for_numbers": ("keypoints", "string", "bad_type"),
    "two_megabytes": ("keypoints", {"landmarks": [], "junk": "x" * 2_000_000}, "too_large"),
    "unknown_event": ("dance", {"x": 1}, "unknown_event"),
    "not_an_object": ("keypoints", 42, "bad_type"),
    "bad_binary": ("keypoints", b"\x00" * 40, "bad_type"),
    "bad_configure": ("configure", {"window": 3}, "unknown_field"),
    "wrong_window": ("configure", {"window_size": 4}, "window_mismatch"),
    "unknown_model": ("configure", {"model_id": "0123456789abcdef"}, "unknown_model"),
    "not_an_image": ("frame", b"GIF89a....", "bad_image"),
    "two_megabyte_image": ("frame", b"\xff\xd8\xff" + bytes(2_000_000), "too_large"),
}


def _bad(kind: str, frame: np.ndarray) -> object:
    message = frame_message(frame)
    if kind == "nan":
        message["landmarks"][5]["x"] = float("nan")
    elif kind == "inf":
        message["landmarks"][7]["y"] = float("inf")
    elif kind == "string":
        message["landmarks"][3]["x"] = "0.5"
    return message


@pytest.mark.parametrize("case", sorted(BAD_MESSAGES))
def test_bad_input_gets_an_error_event_and_sessions_keep_working(
    server: ApiServer, case: str
) -> None:
    event, payload, code = BAD_MESSAGES[case]
    frames = pose_frames(6, seed=5)
    if isinstance(payload, str) and payload in ("nan", "inf", "string"):
        payload = _bad(payload, frames[0])
    with live_clients(server.url, 2) as (client, bystander):
        send_frames(bystander, frames[:3])
        bystander.wait_for("frame_result", lambda r: r["frame_id"] == 2)
        client.emit(event, payload)
        error = client.wait_for("error")[0]
        assert error["code"] == code, error
        assert error["message"]
        send_frames(client, frames[:3], first_id=100)
        result = client.wait_for("frame_result", lambda r: r["frame_id"] == 102)[0]
        assert result["label"] is not None
        send_frames(bystander, frames[3:], first_id=3)
        bystander.wait_for("frame_result", lambda r: r["frame_id"] == 5)
        assert not bystander.received("error")


def test_an_undecodable_socketio_packet_gets_an_error_event(server: ApiServer) -> None:
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", timeout=10
    )
    try:
        assert ws.recv().startswith("0")  # Engine.IO open
        ws.send("40")  # Socket.IO connect; the first heartbeat may come before the answer
        assert any(ws.recv().startswith("40") for _ in range(3))
        ws.send('42["keypoints",{"landmarks": [')  # the packet's own JSON is broken
        answers = [ws.recv() for _ in range(3)]
        errors = [json.loads(a[2:]) for a in answers if a.startswith('42["error"')]
        assert errors and errors[0][1]["code"] == "bad_json"
        ws.send('42["heartbeat"]')
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if ws.recv().startswith('42["heartbeat"'):
                break
        else:
            pytest.fail("no heartbeat after the broken packet")
    finally:
        ws.close()


def test_a_client_disconnecting_mid_window_leaves_the_server_clean(server: ApiServer) -> None:
    frames = pose_frames(5, seed=6)
    assert server.sessions_become(0)  # the other tests' clients are gone
    leaving = LiveClient(server.url)
    send_frames(leaving, frames[:2])  # 2 of a 3-frame window
    leaving.wait_for("frame_result", lambda r: r["frame_id"] == 1)
    assert server.metric("stream_pose_ml_sessions") == 1
    leaving.close()
    assert server.sessions_become(0)
    with live_clients(server.url, 1) as (client,):
        client.emit("keypoints", {"frames": [frame_message(f) for f in frames]})
        result = client.wait_for("frame_result", lambda r: r["label"] is not None)[0]
        assert [r["frame_id"] for r in result["results"]] == [2, 3, 4]
    assert "Traceback" not in server.log_text()


def test_a_fast_client_gets_drops_not_a_queue(server: ApiServer) -> None:
    """Every due window is classified or dropped, the counts agree, nothing is left queued."""
    frames = pose_frames(400, seed=7)
    dropped_before = server.metric("stream_pose_ml_frames_dropped_total")
    with live_clients(server.url, 1) as (client,):
        for start in range(0, 400, 4):  # 4-frame binary messages, as fast as the socket goes
            client.emit("keypoints", encode_frames(frames[start : start + 4]))
        # the last due window is never replaced, so it is always answered
        last = client.wait_for("frame_result", lambda r: r["frame_id"] == 399, timeout=60)[0]
        answered = sum(
            len(r.get("results", [r])) for r in client.received("frame_result") if r["label"]
        )
        client.clear()
        client.emit("heartbeat")  # counters after the last result
        status = client.wait_for("heartbeat")[0]["session"]
        assert status["frames_in"] == 400
        assert status["classifications"] + status["frames_dropped"] == 400 - 3 + 1
        assert answered == status["classifications"]
        assert last["dropped"] == status["frames_dropped"]
    dropped = server.metric("stream_pose_ml_frames_dropped_total") - dropped_before
    assert dropped == status["frames_dropped"]

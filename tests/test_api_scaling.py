"""Two API replicas behind one Redis: the horizontal scaling of docs/api.md, as real processes.

A real ``redis-server`` (Debian's package; ``apt-get install -y redis-server``) on a free
loopback port, and two gunicorn processes of the API on other free ports sharing one data folder
and that Redis (``STREAM_POSE_ML_REDIS_URL``). Sessions stay on the replica they connected to
(sticky, as the Ingress does); models and the active model are shared through the data folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis
import socketio
from api_server import ApiServer, LiveClient, frame_message, free_port, pose_frames
from api_server import save_legacy_model as save_model

from stream_pose_ml.features import sliding_windows
from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.learning.loading import load_model

pytestmark = pytest.mark.slow

CHANNEL = "stream-pose-ml"  # the Socket.IO channel api/app.py uses on the Redis message queue


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away ``redis-server`` on loopback (no persistence)."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed: apt-get install -y redis-server"
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(folder)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert process.poll() is None, "redis-server exited at start"
                assert time.monotonic() < deadline, "redis-server did not answer in 10 s"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("scaling-models")
    return {w: save_model(folder / f"window{w}.pkl", window=w, seed=w) for w in (4, 6)}


@pytest.fixture()
def replicas(tmp_path: Path, redis_url: str) -> Iterator[tuple[ApiServer, ApiServer]]:
    data = tmp_path / "data"
    settings = {
        "STREAM_POSE_ML_REDIS_URL": redis_url,
        "STREAM_POSE_ML_ACTIVE_MODEL_REFRESH_SECONDS": "0.5",
    }
    a = ApiServer(data, settings, worker="gevent")
    b = ApiServer(data, settings, worker="gevent")
    a.log_path, b.log_path = tmp_path / "replica-a.log", tmp_path / "replica-b.log"
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


def offline_probabilities(model_path: Path, frames: np.ndarray) -> list[dict[str, float]]:
    """Class probabilities of every stride-1 window of ``frames``, computed offline."""
    model = load_model(model_path)
    seq = PoseSequence(data=frames)
    rows = model.feature_transform().transform(sliding_windows(seq, model.window_size, 1))
    labels = model.label(model.classes)
    return [dict(zip(labels, p, strict=True)) for p in model.predict_proba(rows)]


def stream(client: LiveClient, frames: np.ndarray, first_id: int) -> None:
    for i, frame in enumerate(frames):
        client.emit("keypoints", frame_message(frame, frame_id=first_id + i))
        time.sleep(0.01)


def check_results(
    client: LiveClient, expected: list[dict[str, float]], window: int, first_id: int, model: str
) -> int:
    """Every classified result of ``client`` for a window of the frames sent from ``first_id``
    on (``expected``: offline probabilities of those frames' windows) equals the offline one."""
    results = [
        r
        for r in client.received("frame_result")
        if r["label"] is not None and r["frame_id"] >= first_id + window - 1
    ]
    assert results, "no classified results"
    for result in results:
        index = result["frame_id"] - first_id - (window - 1)
        assert 0 <= index < len(expected)
        assert (result["model_id"], result["window_size"]) == (model, window)
        for label, p in expected[index].items():
            assert result["probabilities"][label] == pytest.approx(p, abs=1e-9)
    return len(results)


def subscribers(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(dict(client.pubsub_numsub(CHANNEL))[CHANNEL.encode()])
    finally:
        client.close()


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_two_replicas_share_models_and_outlive_each_other(
    replicas: tuple[ApiServer, ApiServer], models: dict[int, Path], redis_url: str
) -> None:
    a, b = replicas
    first = a.upload(models[4], frame_window_size=4)
    assert first.status_code == 200, first.text
    id4 = first.json()["model"]["id"]
    # B serves the model uploaded through A (shared data folder, active.json re-read).
    assert wait_until(lambda: b.get("/ready").status_code == 200), b.get("/ready").text
    assert b.get("/models").json()["active"]["model_id"] == id4

    clients = [LiveClient(a.url), LiveClient(b.url)]
    on_a, on_b = clients
    try:
        # Clients of each replica get the offline pipeline's results.
        frames = {0: pose_frames(30, seed=1), 1: pose_frames(30, seed=2)}
        senders = [
            threading.Thread(target=stream, args=(c, frames[i], 1000 * i))
            for i, c in enumerate(clients)
        ]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join()
        for i, client in enumerate(clients):
            client.wait_for("frame_result", lambda r, i=i: r["frame_id"] == 1000 * i + 29)
            expected = offline_probabilities(models[4], frames[i])
            assert check_results(client, expected, 4, 1000 * i, id4) >= 2
            assert not client.received("error")

        # Both replicas are on the Socket.IO message queue: an emit from any process reaches a
        # client on either replica.
        assert wait_until(lambda: subscribers(redis_url) == 2)
        emitter = socketio.RedisManager(redis_url, channel=CHANNEL, write_only=True)
        for client in clients:
            emitter.emit("heartbeat", {"note": f"for {client.sid}"}, namespace="/", room=client.sid)
        for client in clients:
            client.wait_for("heartbeat", lambda d, c=client: d.get("note") == f"for {c.sid}")

        # A model uploaded through A becomes the model of B's sessions.
        second = a.upload(models[6], frame_window_size=6)
        assert second.status_code == 200, second.text
        id6 = second.json()["model"]["id"]
        more = pose_frames(120, seed=3)
        for i, frame in enumerate(more):
            on_b.emit("keypoints", frame_message(frame, frame_id=2000 + i))
            time.sleep(0.02)
            if any(r["model_id"] == id6 for r in on_b.received("frame_result")):
                break
        switched = on_b.wait_for("frame_result", lambda r: r["model_id"] == id6, timeout=5)[0]
        assert switched["window_size"] == 6
        assert b.get("/models").json()["active"]["model_id"] == id6

        # Killing replica A leaves B's sessions working, with the new model's exact results.
        os.killpg(a.process.pid, signal.SIGKILL)
        a.process.wait(timeout=10)
        assert wait_until(lambda: not on_a.sio.connected, timeout=15)
        on_b.clear()
        after = pose_frames(24, seed=4)
        stream(on_b, after, 5000)
        on_b.wait_for("frame_result", lambda r: r["frame_id"] == 5023)
        assert check_results(on_b, offline_probabilities(models[6], after), 6, 5000, id6) >= 2
        assert not on_b.received("error")
        assert on_b.sio.connected
        assert b.get("/health").status_code == 200
        assert wait_until(lambda: subscribers(redis_url) == 1)
        # ... and new sessions on B too.
        late = LiveClient(b.url)
        clients.append(late)
        late.emit("keypoints", frame_message(after[0], frame_id=0))
        assert late.wait_for("frame_result")[0]["model_id"] == id6
    finally:
        for client in clients:
            client.close()

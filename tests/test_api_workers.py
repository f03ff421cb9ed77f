"""Several gunicorn worker processes on one port (api/gunicorn_conf.py): every WebSocket session
lives in one of them, the active model is shared, and /metrics adds up every process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from api_server import REPO, LiveClient, frame_message, free_port, pose_frames, save_legacy_model

pytestmark = pytest.mark.slow


def metric(url: str, name: str) -> float:
    for line in requests.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[-1])
    raise AssertionError(f"no {name} in /metrics")


def worker_answers(url: str, timeout: float) -> dict[int, int]:
    """Sessions per worker pid from /health on new connections, until both workers answered."""
    answers: dict[int, int] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(answers) < 2:
        try:
            health = requests.get(f"{url}/health", timeout=2, headers={"Connection": "close"})
            answers[health.json()["pid"]] = health.json()["sessions"]
        except requests.RequestException:
            time.sleep(0.2)
    return answers


def test_two_workers_share_the_port_the_model_and_the_metrics(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAM_POSE_ML_", "PROM"))}
    env.update(
        STREAM_POSE_ML_DATA=str(tmp_path / "data"),
        STREAM_POSE_ML_WORKERS="2",
        STREAM_POSE_ML_BIND=f"127.0.0.1:{port}",
        STREAM_POSE_ML_ACTIVE_MODEL_REFRESH_SECONDS="0.2",
    )
    command = [sys.executable, "-m", "gunicorn", "--no-control-socket"]
    command += ["-c", "python:api.gunicorn_conf", "api.wsgi:app"]
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - the child writes to it
    server = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    clients: list[LiveClient] = []
    try:
        # ready when both workers have answered: the second may still be importing when the first
        # answers, and a session opened then stays on the first
        both_up = worker_answers(url, timeout=120)
        assert len(both_up) == 2, f"one worker answered /health: {both_up}"
        model = save_legacy_model(tmp_path / "w3.pkl", window=3)
        with open(model, "rb") as upload:  # lands on one worker, is active on both
            assert requests.post(f"{url}/set_model", files={"file": upload}).status_code == 200
        time.sleep(0.5)
        clients = [LiveClient(url) for _ in range(10)]
        frames = pose_frames(5, seed=1)
        for client in clients:
            for i, frame in enumerate(frames):
                client.emit("keypoints", frame_message(frame, frame_id=i))
        for client in clients:
            result = client.wait_for("frame_result", lambda r: r["frame_id"] == 4, timeout=20)[0]
            assert result["label"] is not None
        per_worker = worker_answers(url, timeout=30)
        assert len(per_worker) == 2 and sum(per_worker.values()) == 10  # its own sessions each
        # whichever worker answers /metrics, it counts every process
        assert {metric(url, "stream_pose_ml_sessions") for _ in range(6)} == {10.0}
        classified = metric(url, "stream_pose_ml_classifications_total")
        dropped = metric(url, "stream_pose_ml_frames_dropped_total")
        assert classified + dropped == 10 * 3  # every due window, in either worker
    finally:
        for client in clients:
            client.close()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()

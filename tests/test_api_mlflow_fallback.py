"""MLflow models served by the mlflow/ service, with in-process fallback and recovery.

Real processes on loopback: the model service (``mlflow/model_service.py``) and the API
(gunicorn), real Socket.IO clients streaming keypoints.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from stream_pose_ml.features.windows import sliding_windows
from stream_pose_ml.learning import load_model
from stream_pose_ml.serving.classifier import InProcessPredictor
from stream_pose_ml.serving.mlflow_backend import (
    BackendObserver,
    MLflowPredictor,
    MLflowServiceClient,
)
from tests.api_server import ApiServer, LiveClient, frame_message, free_port, pose_frames
from tests.test_mlflow_service import ServiceProcess, save_window_mlflow_model, zip_folder

WINDOW = 4


@pytest.fixture(scope="module")
def mlflow_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("fallback-model")
    folder = save_window_mlflow_model(root / "model_dir", window=WINDOW, seed=1)
    return {
        "folder": folder,
        "zip": zip_folder(folder, root / "model.zip"),
        "model": load_model(folder),
    }


class Recorder(BackendObserver):
    def __init__(self) -> None:
        self.fallbacks: list[str] = []
        self.predicted: dict[str, int] = {}

    def backend_fallback(self, reason: str) -> None:
        self.fallbacks.append(reason)

    def backend_predicted(self, backend: str, n: int) -> None:
        self.predicted[backend] = self.predicted.get(backend, 0) + n


def test_predictor_runs_in_process_until_the_service_answers(
    mlflow_model: dict[str, Any], tmp_path: Path
) -> None:
    model = mlflow_model["model"]
    frames = pose_frames(12, seed=4)
    rows = model.feature_transform().transform(sliding_windows(frames, WINDOW))
    expected = InProcessPredictor(model).predict_rows(rows)
    port = free_port()
    client = MLflowServiceClient(f"http://127.0.0.1:{port}", timeout=5.0)
    events = Recorder()
    predictor = MLflowPredictor(
        client, "m1", mlflow_model["folder"], model, observer=events, retry_seconds=0.2
    )
    assert not predictor.service_up  # nothing listens on the port
    assert predictor.predict_rows(rows) == expected
    assert predictor.backend == "in_process"

    service = ServiceProcess(tmp_path, port=port).start()
    try:
        deadline = time.monotonic() + 30
        while not predictor.service_up and time.monotonic() < deadline:
            assert predictor.predict_rows(rows[:1])[0] == expected[0][:1]
            time.sleep(0.1)
        assert predictor.service_up, "the predictor did not switch to the service"
        labels, probabilities = predictor.predict_rows(rows)
        assert predictor.backend == "mlflow"
        assert labels == expected[0]
        for got, want in zip(probabilities, expected[1], strict=True):
            assert got == pytest.approx(want, abs=1e-12)
        assert requests.get(f"{service.url}/model?model_id=m1", timeout=5).status_code == 200
    finally:
        service.stop()
    # the service is gone: this call falls back at once and counts one fallback
    assert predictor.predict_rows(rows) == expected
    assert predictor.backend == "in_process"
    assert events.fallbacks == ["unreachable"]
    assert events.predicted["mlflow"] == len(rows)


class Streamer:
    """Sends keypoint frames to the API at about ``fps`` from a thread until stopped."""

    def __init__(self, client: LiveClient, frames: np.ndarray, fps: float = 40.0) -> None:
        self.client, self.frames, self.fps = client, frames, fps
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            i = self.sent
            self.client.emit("keypoints", frame_message(self.frames[i % len(self.frames)], i))
            self.sent += 1
            self._stop.wait(1.0 / self.fps)

    def __enter__(self) -> Streamer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def servers(tmp_path: Path, mlflow_model: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    service = ServiceProcess(tmp_path).start()
    api = ApiServer(
        tmp_path / "api",
        {
            "STREAM_POSE_ML_MLFLOW_URL": service.url,
            "STREAM_POSE_ML_MLFLOW_RETRY_SECONDS": "1",
            "STREAM_POSE_ML_MLFLOW_TIMEOUT_SECONDS": "2",
        },
    )
    try:
        api.start()
        yield service, api
    finally:
        api.stop()
        service.stop()


def fallback_count(api: ApiServer) -> float:
    text = api.get("/metrics").text
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("stream_pose_ml_backend_fallbacks_total{")
    )


def test_results_fall_back_when_the_service_stops_and_return_when_it_is_back(
    servers: tuple[ServiceProcess, ApiServer], mlflow_model: dict[str, Any]
) -> None:
    service, api = servers
    upload = api.upload(mlflow_model["zip"])
    assert upload.status_code == 200, upload.text
    model_id = upload.json()["model"]["id"]
    assert requests.get(f"{service.url}/ready", timeout=5).json()["model_id"] == model_id

    model = mlflow_model["model"]
    frames = pose_frames(40, seed=2)
    transform = model.feature_transform()

    def expected(frame_id: int) -> dict[str, float]:
        index = np.arange(frame_id - WINDOW + 1, frame_id + 1) % len(frames)
        row = transform.transform(frames[index][None])
        proba = model.predict_proba(row)[0]
        return dict(zip(model.label(list(model.classes)), map(float, proba), strict=True))

    def classified(backend: str, after: int = 0) -> Any:
        return lambda r: (
            r["label"] is not None and r["backend"] == backend and r["frame_id"] > after
        )

    client = LiveClient(api.url)
    sid = client.sid
    try:
        with Streamer(client, frames) as streamer:
            served = client.wait_for("frame_result", classified("mlflow"), count=5)
            for result in served:
                assert result["probabilities"] == pytest.approx(expected(result["frame_id"]))
                assert result["model_id"] == model_id

            service.stop()
            stopped_at = streamer.sent
            local = client.wait_for("frame_result", classified("in_process", stopped_at), count=10)
            for result in local:
                assert result["probabilities"] == pytest.approx(expected(result["frame_id"]))
            assert fallback_count(api) >= 1

            service.start()  # same port, no model: the API loads it again
            back_at = streamer.sent
            back = client.wait_for(
                "frame_result", classified("mlflow", back_at), count=5, timeout=40
            )
            for result in back:
                assert result["probabilities"] == pytest.approx(expected(result["frame_id"]))
        assert requests.get(f"{service.url}/ready", timeout=5).json()["model_id"] == model_id
        assert client.received("error") == []
        assert client.sio.connected and client.sid == sid
        status = requests.get(f"{api.url}/metrics", timeout=5).text
        assert 'stream_pose_ml_backend_predictions_total{backend="mlflow"}' in status
        assert 'stream_pose_ml_backend_predictions_total{backend="in_process"}' in status
    finally:
        client.close()

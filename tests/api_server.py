"""Test helpers for the live API: the real server process, real Socket.IO clients, small models.

``ApiServer`` runs ``gunicorn api.wsgi:app`` on a free loopback port with its own data
folder and is always stopped (process group killed) when the ``with`` block or fixture ends.
``LiveClient`` is a ``python-socketio`` client that records the events it receives.
``save_legacy_model`` fits a scikit-learn classifier on features made by the real
``PoseFeatureTransform`` and saves it as the legacy pickle ``{"classifier": model}``.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import requests
import socketio

from stream_pose_ml.keypoints.landmarks import CHANNELS
from stream_pose_ml.learning.synthetic import (
    fit_window_model,
    synthetic_sequence,
)

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # ``api/`` is a folder of the repository, not an installed package
    sys.path.insert(0, str(REPO))
SERVER_EVENTS = (
    "frame_result", "error", "heartbeat", "configured", "connect_error", "analysis", "jobs", "job",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A server as a real process on ``127.0.0.1:<free port>``, in its own process group.

    Subclasses give the command and environment; :meth:`start` waits for ``/health`` and
    :meth:`stop` kills the whole group, also when used as a ``with`` block.
    """

    name = "server"

    def __init__(self, log_path: Path, port: int = 0) -> None:
        self.log_path = log_path
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """The process environment: ours without any ``STREAM_POSE_ML_`` setting."""
        return {k: v for k, v in os.environ.items() if not k.startswith("STREAM_POSE_ML_")}

    def start(self, timeout: float = 60.0) -> Any:
        self.port = self.port or free_port()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=REPO,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.name} exited at start:\n{self.log_text()[-4000:]}")
            try:
                if requests.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:  # not listening yet, or still loading the app
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"the {self.name} did not answer /health in {timeout} s:\n{self.log_text()[-4000:]}"
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class ModelServiceProcess(ServerProcess):
    """``python mlflow/model_service.py`` with its models under ``workdir``."""

    name = "model service"

    def __init__(self, workdir: Path, env: dict[str, str] | None = None, port: int = 0) -> None:
        super().__init__(workdir / f"service-{port or 'auto'}-{id(self)}.log", port)
        self.workdir = workdir
        self.env = env or {}

    def command(self) -> list[str]:
        service = REPO / "mlflow" / "model_service.py"
        return [sys.executable, str(service), "--port", str(self.port)]

    def environment(self) -> dict[str, str]:
        models = str(self.workdir / "models")
        return {**super().environment(), "STREAM_POSE_ML_MLFLOW_MODELS_DIR": models, **self.env}


class ApiServer(ServerProcess):
    """The API as a real gunicorn process on ``127.0.0.1:<free port>``.

    ``settings`` are extra environment variables (``STREAM_POSE_ML_...``); ``worker`` is
    ``gthread`` (threading mode), ``eventlet`` or ``gevent``.
    """

    name = "API"

    def __init__(
        self,
        data_dir: Path,
        settings: Mapping[str, str] | None = None,
        worker: str = "gthread",
        threads: int = 32,
    ) -> None:
        self.data_dir = Path(data_dir)
        super().__init__(self.data_dir.parent / f"{self.data_dir.name}-server.log")
        self.settings = dict(settings or {})
        self.worker = worker
        self.threads = threads

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "gunicorn", "--no-control-socket", "-w", "1"]
        command += ["--threads", str(self.threads)] if self.worker == "gthread" else []
        command += ["-k", self.worker, "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "3"]
        return [*command, "api.wsgi:app"]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        if "STREAM_POSE_ML_CACHE" in os.environ:  # where MediaPipe's pose models are cached
            env["STREAM_POSE_ML_CACHE"] = os.environ["STREAM_POSE_ML_CACHE"]
        return {
            **env,
            "STREAM_POSE_ML_DATA": str(self.data_dir),
            "STREAM_POSE_ML_HEARTBEAT_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            **self.settings,
        }

    def start(self, timeout: float = 60.0) -> ApiServer:
        self.port = 0  # a new free port on every (re)start
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return super().start(timeout)

    def restart(self) -> ApiServer:
        self.stop()
        return self.start()

    # -- REST -------------------------------------------------------------------------------
    def upload(self, path: Path, token: str | None = None, **form: Any) -> requests.Response:
        """``POST /set_model`` with ``path`` as the multipart ``file`` (seed UI style)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with open(path, "rb") as handle:
            return requests.post(
                f"{self.url}/set_model",
                files={"file": (path.name, handle)},
                data={k: str(v) for k, v in form.items()},
                headers=headers,
                timeout=60,
            )

    def get(self, route: str) -> requests.Response:
        return requests.get(f"{self.url}{route}", timeout=10)

    def sessions_become(self, n: int, timeout: float = 10.0) -> bool:
        """Wait until the server holds ``n`` sessions (disconnects are processed asynchronously)."""
        deadline = time.monotonic() + timeout
        while self.metric("stream_pose_ml_sessions") != n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.metric("stream_pose_ml_sessions") == n

    def metric(self, name: str, labels: str = "") -> float:
        """A sample's value from ``GET /metrics`` (0.0 if absent)."""
        prefix = f"{name}{{{labels}}} " if labels else f"{name} "
        for line in self.get("/metrics").text.splitlines():
            if line.startswith(prefix):
                return float(line.split()[-1])
        return 0.0


class LiveClient:
    """A real ``python-socketio`` client (websocket transport) recording every server event."""

    def __init__(self, url: str, connect: bool = True) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self._cond = threading.Condition()
        for event in SERVER_EVENTS:
            self.sio.on(event, self._recorder(event))
        if connect:
            self.sio.connect(url, transports=["websocket"], wait_timeout=10)

    def _recorder(self, event: str) -> Callable[..., None]:
        def record(data: Any = None) -> None:
            with self._cond:
                self.events.append((event, data))
                self._cond.notify_all()

        return record

    @property
    def sid(self) -> str:
        return self.sio.get_sid("/")

    def emit(self, event: str, *data: Any) -> None:
        self.sio.emit(event, data[0] if len(data) == 1 else data if data else None)

    def received(self, event: str) -> list[Any]:
        with self._cond:
            return [data for name, data in self.events if name == event]

    def wait_for(
        self,
        event: str,
        predicate: Callable[[Any], bool] = lambda data: True,
        timeout: float = 20.0,
        count: int = 1,
    ) -> list[Any]:
        """The first ``count`` received ``event`` bodies that satisfy ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [d for name, d in self.events if name == event and predicate(d)]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"waited {timeout} s for {count} {event!r} events; got {len(found)}; "
                        f"all events: {[(n, str(d)[:200]) for n, d in self.events[-10:]]}"
                    )
                self._cond.wait(left)

    def clear(self) -> None:
        with self._cond:
            self.events.clear()

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


@contextmanager
def live_clients(url: str, n: int) -> Iterator[list[LiveClient]]:
    clients = [LiveClient(url) for _ in range(n)]
    try:
        yield clients
    finally:
        for client in clients:
            client.close()


# -- models and frames ----------------------------------------------------------------------------
def save_legacy_model(path: Path, window: int, seed: int = 0) -> Path:
    """The legacy pickle ``{"classifier": model}`` of a model taking ``window``-frame windows."""
    model, _ = fit_window_model(window, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"classifier": model}))
    return path


def pose_frames(n: int, seed: int = 0) -> np.ndarray:
    """``(n, 33, 4)`` frames of a synthetic standing person (x, y in [0, 1])."""
    classes = np.where(np.arange(n) % 20 < 10, 0, 1)
    return synthetic_sequence(classes, np.random.default_rng(seed)).data


def frame_message(
    data: np.ndarray,
    frame_id: int | None = None,
    image_size: tuple[int, int] | None = None,
    timestamp: float | None = None,
) -> dict[str, Any]:
    """The single-frame JSON message for ``(33, 4)`` landmarks (``[]`` if all are NaN)."""
    points = [] if np.isnan(data[:, :2]).all() else data
    message: dict[str, Any] = {
        "landmarks": [dict(zip(CHANNELS, map(float, point), strict=True)) for point in points]
    }
    if frame_id is not None:
        message["frame_id"] = frame_id
    if timestamp is not None:
        message["timestamp"] = timestamp
    if image_size is not None:
        message["image_size"] = {"width": image_size[0], "height": image_size[1]}
    return message


def to_json_text(message: Any) -> str:
    return json.dumps(message)


def live_feature_rows(
    folder: Path,
    bundle: Path,
    frames: np.ndarray,
    image_size: tuple[int, int],
    overlap: int | None = None,
) -> tuple[dict[int, np.ndarray], Any]:
    """``({last frame: feature row}, the active model)`` of an in-process live session serving
    ``bundle`` (stored under ``folder``), fed ``frames`` one frame a message."""
    from stream_pose_ml.serving import LiveService, ModelStore

    emitted: list[dict[str, Any]] = []
    service = LiveService(
        ModelStore(folder / "models"),
        emit=lambda event, body, sid: emitted.append(body) if event == "frame_result" else None,
        spawn=lambda fn: fn(),
    )
    with open(bundle, "rb") as upload:
        _, active, _ = service.set_model(upload, bundle.name, overlap=overlap)
    service.open_session("s")
    service.configure("s", {"include_features": True})
    for i in range(len(frames)):
        service.keypoints("s", frame_message(frames[i], frame_id=i, image_size=image_size))
    rows = {
        r["frame_id"]: np.array(r["features"], dtype=float)
        for r in emitted
        if r["label"] is not None
    }
    return rows, active

"""``mlflow models serve`` for one model on loopback: :class:`ModelServer` (a context manager).

MLflow's own scoring server, run as a process with this interpreter's environment, for tests and
benchmarks that compare it with this project's loaders and the ``mlflow/`` model service.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from stream_pose_ml.errors import ModelLoadError


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ModelServer:
    """``mlflow models serve --env-manager local`` for one model, on loopback, as a context manager.

    The server runs in its own process group, with this interpreter's ``bin`` folder first on
    ``PATH`` and ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true`` (needed for scikit-learn models);
    leaving the ``with`` block (or :meth:`stop`) kills the whole group.
    """

    def __init__(
        self,
        model_uri: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout: float = 120.0,
        tracking_uri: str | None = None,
    ) -> None:
        self.model_uri = str(model_uri)
        self.host = host
        self.port = port or free_port(host)
        self.startup_timeout = startup_timeout
        self.tracking_uri = tracking_uri
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ModelServer:
        bin_dir = str(Path(sys.executable).parent)
        env = dict(os.environ)
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        env["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
        if self.tracking_uri:
            env["MLFLOW_TRACKING_URI"] = self.tracking_uri
        mlflow_cli = shutil.which("mlflow", path=bin_dir) or "mlflow"
        command = [
            mlflow_cli,
            "models",
            "serve",
            "-m",
            self.model_uri,
            "--env-manager",
            "local",
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-w",
            "1",
        ]
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        import requests

        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ModelLoadError(
                    f"mlflow models serve exited with code {self.process.returncode}:\n"
                    + self.output()[-3000:]
                )
            try:
                if requests.get(f"{self.url}/ping", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        raise TimeoutError(
            f"mlflow models serve did not answer on {self.url} within {self.startup_timeout:.0f} s:"
            f"\n{self.output()[-3000:]}"
        )

    def predict(self, rows: pd.DataFrame, timeout: float = 30.0) -> np.ndarray:
        """POST ``rows`` to ``/invocations`` (``dataframe_split``); the predictions as an array."""
        import requests

        payload = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
        response = requests.post(f"{self.url}/invocations", json=payload, timeout=timeout)
        if response.status_code != 200:
            raise ModelLoadError(
                f"{self.url}/invocations answered {response.status_code}: {response.text[:500]}"
            )
        return np.asarray(response.json()["predictions"])

    def output(self) -> str:
        """Everything the server printed so far."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        """Terminate the server's process group (SIGTERM, then SIGKILL after 10 s)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            except ProcessLookupError:
                pass
        # the group may hold workers that outlived the parent
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._log.close()

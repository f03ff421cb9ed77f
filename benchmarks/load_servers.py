"""The servers of the load benchmark (``load_socketio.py``): gunicorn, redis, /proc sampling."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKERS = {"gevent": "gevent", "threading": "gthread", "eventlet": "eventlet"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    worker: str, data_dir: Path, threads: int, max_sessions: int, env_extra: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn with one worker of class ``worker`` on a free port; waits for ``/health``."""
    import requests

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAM_POSE_ML_")}
    env.update(
        STREAM_POSE_ML_DATA=str(data_dir),
        STREAM_POSE_ML_MAX_SESSIONS=str(max_sessions),
        STREAM_POSE_ML_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **env_extra,
    )
    kind = WORKERS[worker]
    command = [sys.executable, "-m", "gunicorn", "--no-control-socket", "-w", "1", "-k", kind]
    command += ["--threads", str(threads)] if kind == "gthread" else []
    command += ["-b", f"127.0.0.1:{port}", "--graceful-timeout", "3", "api.wsgi:app"]
    log = open(data_dir / "server.log", "ab")  # noqa: SIM115 - the child writes to it
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((data_dir / "server.log").read_text()[-3000:])
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_server(process)
    raise RuntimeError(f"the server did not answer /health within 60 s; see {data_dir}/server.log")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def worker_pids(master: int) -> list[int]:
    """The gunicorn master and its children (the worker)."""
    pids = [master]
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        pids += [int(p) for p in children]
    except OSError:
        pass
    return pids


class ProcSampler(threading.Thread):
    """Samples CPU (% of one core) and RSS (MiB) of ``pids`` every ``interval`` s from /proc."""

    def __init__(self, pids: list[int], interval: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.pids, self.interval = pids, interval
        self.samples: list[tuple[float, float, float]] = []  # (unix time, cpu %, rss MiB)
        self._halt = threading.Event()

    @staticmethod
    def _read(pid: int) -> tuple[int, int]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        return ticks, int(fields[21]) * PAGE  # rss pages

    def total(self) -> tuple[int, int]:
        ticks = rss = 0
        for pid in self.pids:
            try:
                t, r = self._read(pid)
            except (OSError, IndexError, ValueError):
                continue
            ticks, rss = ticks + t, rss + r
        return ticks, rss

    def run(self) -> None:
        last_t, (last_ticks, _) = time.monotonic(), self.total()
        while not self._halt.wait(self.interval):
            now, (ticks, rss) = time.monotonic(), self.total()
            cpu = (ticks - last_ticks) / CLK_TCK / (now - last_t) * 100.0
            self.samples.append((time.time(), cpu, rss / 2**20))
            last_t, last_ticks = now, ticks

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


# -- the clients ----------------------------------------------------------------------------------
def metric(url: str, name: str) -> float:
    import requests

    for line in requests.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[-1])
    return 0.0


def start_redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """``redis-server`` on loopback without persistence (Debian package ``redis-server``)."""
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(folder)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return process
        time.sleep(0.05)
    stop_server(process)
    raise RuntimeError("redis-server did not start (apt-get install -y redis-server)")

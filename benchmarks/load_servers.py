"""The servers of the load benchmark (``load_socketio.py``): the API and the transport floor
under gunicorn, redis for replicas, /proc sampling of their CPU and RSS."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from load_data import build_model

REPO = Path(__file__).resolve().parents[1]
WORKERS = {"gevent": "gevent", "threading": "gthread", "eventlet": "eventlet"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    worker: str,
    data_dir: Path,
    threads: int,
    env_extra: dict[str, str],
    app: str = "api.wsgi:app",
    python_path: Path | None = None,
    processes: int = 1,
) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn running ``app`` in ``processes`` workers of class ``worker`` on a free port;
    waits for ``/health``. ``threads`` only applies to gthread (every open WebSocket holds one)."""
    import requests

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAM_POSE_ML_")}
    env.update(
        STREAM_POSE_ML_DATA=str(data_dir),
        STREAM_POSE_ML_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **env_extra,
    )
    if processes > 1:  # as api/gunicorn_conf.py: /metrics adds up every worker's counters
        metrics = data_dir / f"metrics-{port}"
        metrics.mkdir(parents=True, exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    kind = WORKERS[worker]
    command = [sys.executable, "-m", "gunicorn", "--no-control-socket", "-w", str(processes)]
    command += ["-k", kind]
    command += ["--threads", str(threads)] if kind == "gthread" else []
    command += ["--pythonpath", str(python_path)] if python_path else []
    command += ["-b", f"127.0.0.1:{port}", "--graceful-timeout", "3", app]
    log_path = data_dir / f"server-{port}.log"
    log = open(log_path, "ab")  # noqa: SIM115 - the child writes to it
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log_path.read_text()[-3000:])
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_server(process)
    raise RuntimeError(f"the server did not answer /health within 60 s; see {log_path}")


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

    def cpu_seconds(self) -> float:
        """CPU time the processes have used so far (user + system)."""
        return self.total()[0] / CLK_TCK

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


class StallProbe(threading.Thread):
    """How late a 2 ms sleep wakes up in an otherwise idle process: the machine's own stalls
    (CPU contention, other tenants), which delay every server and client alike."""

    def __init__(self, period: float = 0.002) -> None:
        super().__init__(daemon=True)
        self.period = period
        self.lags_ms: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            before = time.perf_counter()
            time.sleep(self.period)
            self.lags_ms.append((time.perf_counter() - before - self.period) * 1000.0)

    def stop(self) -> list[float]:
        self._halt.set()
        self.join(timeout=5)
        return self.lags_ms


# -- the servers under test -----------------------------------------------------------------------
@dataclass
class Target:
    """Servers under test: ``kind`` (``api``, ``floor`` or ``external``), their URLs (session
    ``i`` connects to ``urls[i % len(urls)]``) and the pids whose CPU and RSS are sampled."""

    kind: str
    worker: str
    urls: list[str]
    pids: list[int]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    model: Path | None = None  # the bundle the API serves (the offline check's model)

    def metric(self, name: str) -> float:
        """A Prometheus counter summed over the servers."""
        return sum(metric(url, name) for url in self.urls)

    def stop(self) -> None:
        for process in self.processes:
            stop_server(process)
        self.processes = []

    def settle(self, timeout: float = 30.0, idle_pct: float = 10.0) -> None:
        """Wait until the servers hold no session and use under ``idle_pct`` % of a core (the
        previous run's backlog is gone), at most ``timeout`` seconds."""
        import requests

        probe = ProcSampler(self.pids)
        deadline = time.monotonic() + timeout
        last = probe.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = probe.cpu_seconds()
            busy, last = (now - last) / 0.5 * 100.0, now
            try:
                sessions = sum(
                    requests.get(f"{u}/health", timeout=2).json().get("sessions", 0)
                    for u in self.urls
                )
            except requests.RequestException:
                continue
            if sessions == 0 and busy < idle_pct:
                return


def start_api(
    worker: str,
    folder: Path,
    *,
    replicas: int = 1,
    max_sessions: int = 200,
    worker_threads: int = 2,
    window: int = 30,
    overlap: int = 25,
    env: dict[str, str] | None = None,
    processes: int = 1,
    model: Path | None = None,
) -> Target:
    """``gunicorn api.wsgi:app`` (``replicas`` of them on one data folder and a redis-server),
    with the benchmark's XGBoost bundle uploaded and active (``overlap``: its window overlap),
    or ``model`` (a bundle zip, served with the window its manifest gives); ``env``: more
    ``STREAM_POSE_ML_*`` settings."""
    import requests

    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    bundle = model or build_model(folder, window)
    form = {} if model else {"frame_window_size": window, "frame_window_overlap": overlap}
    extra = {
        "STREAM_POSE_ML_WORKER_THREADS": str(worker_threads),
        "STREAM_POSE_ML_MAX_SESSIONS": str(max_sessions),
        **(env or {}),
    }
    target = Target("api", worker, [], [], model=bundle)
    try:
        if replicas > 1:
            redis_port = free_port()
            target.processes.append(start_redis(redis_port, folder))
            extra["STREAM_POSE_ML_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        servers = []
        for _ in range(replicas):
            process, url = start_server(worker, data, max_sessions + 20, extra, processes=processes)
            target.processes.append(process)
            servers.append(process)
            target.urls.append(url)
        with open(bundle, "rb") as handle:
            response = requests.post(
                f"{target.urls[0]}/set_model",
                files={"file": (bundle.name, handle)},
                data=form,
                timeout=120,
            )
        response.raise_for_status()
        if replicas > 1 or processes > 1:
            time.sleep(1.5)  # the other processes see the new active model (refresh: 1 s)
    except BaseException:
        target.stop()
        raise
    target.pids = [pid for process in servers for pid in worker_pids(process.pid)]
    return target


def bundle_window(bundle: Path) -> tuple[int, int]:
    """``(window size, stride)`` from a bundle zip's ``manifest.json``."""
    with zipfile.ZipFile(bundle) as archive:
        name = next(n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "manifest.json")
        window = json.loads(archive.read(name))["window"]
    return int(window["size"]), int(window.get("stride", 1))


def start_floor(
    worker: str,
    folder: Path,
    *,
    replicas: int = 1,
    max_sessions: int = 200,
    window: int = 30,
    stride: int = 5,
    processes: int = 1,
) -> Target:
    """The transport floor (``benchmarks/floor_server.py``), ``replicas`` processes."""
    folder.mkdir(parents=True, exist_ok=True)
    extra = {"FLOOR_WINDOW_SIZE": str(window), "FLOOR_STRIDE": str(stride)}
    target = Target("floor", worker, [], [])
    try:
        for _ in range(replicas):
            process, url = start_server(
                worker,
                folder,
                max_sessions + 20,
                extra,
                "floor_server:app",
                REPO / "benchmarks",
                processes=processes,
            )
            target.processes.append(process)
            target.urls.append(url)
    except BaseException:
        target.stop()
        raise
    target.pids = [pid for p in target.processes for pid in worker_pids(p.pid)]
    return target


def metric(url: str, name: str) -> float:
    """The value of the Prometheus counter ``name`` on the server at ``url`` (0 if absent)."""
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

"""Runs the StreamPoseML stack as local processes (``start.sh`` / ``stop.sh`` without Docker).

``python scripts/run_local.py start|stop|status``, from the repository root, with the project's
virtual environment. Services and their default ports (override with the environment):

* ``api``: gunicorn serving ``api.wsgi:app``, port ``SPML_API_PORT`` (5001);
* ``mlflow``: the ``mlflow/`` model service, port ``SPML_MLFLOW_PORT`` (5002), if its entry exists;
* ``ui``: the built web UI (``web_ui/dist``), port ``SPML_UI_PORT`` (3000).

Each service runs in its own process group (a new session); ``run/<name>.pid`` holds the group
leader's pid and start time, ``logs/<name>.log`` its output. ``start`` is idempotent (a running
service is reported, not started twice); ``stop`` signals exactly the process groups recorded in
``run/`` and waits for them to exit. Other settings: ``SPML_BIND`` (address, default 127.0.0.1),
``SPML_API_WORKER`` (gevent by default, gthread or eventlet), ``SPML_START_TIMEOUT``
(seconds to wait for /health, default 90), ``SPML_SKIP_UI`` / ``SPML_SKIP_MLFLOW`` /
``SPML_SKIP_EXAMPLE_MODEL`` (1: skip that step). Stdlib only except for the example model step.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger("run_local")

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / "run"
LOG_DIR = ROOT / "logs"
WEB_UI = ROOT / "web_ui"
#: Entry point of the mlflow/ model service.
MLFLOW_ENTRY = ROOT / "mlflow" / "model_service.py"
#: gunicorn worker classes (docs/api.md, "Running it"); ``api/gunicorn_conf.py`` runs one worker
#: process per core (``STREAM_POSE_ML_WORKERS``), each session living in one of them.
WORKERS = ("gthread", "eventlet", "gevent")
#: Inputs of the web UI build: the build is stale when one of them is newer than dist/index.html.
UI_INPUTS = ("src", "public", "index.html", "package.json", "package-lock.json", "vite.config.ts")


class StartError(RuntimeError):
    """A service could not be started; the message says why and which log to read."""


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise StartError(f"{name}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise StartError(f"{name}={port} is not a port number (1..65535)")
    return port


@dataclass
class Service:
    """One local process group: its command, port and health URL (None: the port opening)."""

    name: str
    command: list[str]
    port: int
    health_path: str | None
    env: dict[str, str] = field(default_factory=dict)
    required: bool = True

    @property
    def pid_file(self) -> Path:
        return RUN_DIR / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return LOG_DIR / f"{self.name}.log"


# -- processes ------------------------------------------------------------------------------------
def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of group ``pgid``."""
    proc = Path("/proc")
    if not proc.is_dir():  # macOS: ask the kernel about the group as a whole
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        except PermissionError:
            return [pgid]
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in {"Z", "X"}:
            members.append(int(entry.name))
    return members


def read_pid_file(path: Path) -> tuple[int, str | None] | None:
    """``(pid, start time)`` from a pid file, or None if it is missing or unreadable."""
    try:
        lines = path.read_text().split()
        return int(lines[0]), (lines[1] if len(lines) > 1 and lines[1] != "-" else None)
    except (OSError, ValueError, IndexError):
        return None


def running_pid(service_name: str) -> int | None:
    """The pid of the recorded process group leader if it still runs (and is the same process)."""
    record = read_pid_file(RUN_DIR / f"{service_name}.pid")
    if record is None:
        return None
    pid, started = record
    if not _group_members(pid):
        return None
    if started is not None and _start_time(pid) not in {started, None}:
        return None  # the pid was reused by another process
    return pid


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _probe(service: Service) -> bool:
    if service.health_path is None:
        return port_in_use(service.port)
    url = f"http://127.0.0.1:{service.port}{service.health_path}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


_ERROR_LINE = re.compile(r"^[\w.]*(Error|Exception)\b[^:]*: ")


def _tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of this start's log, after its last error line if they do not
    hold it (several gunicorn workers that fail to boot end the log with the master's own
    traceback, which does not say why; the last error of a chain is the outermost)."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    start = max((i for i, line in enumerate(text) if line.startswith("=== ")), default=-1) + 1
    run = text[start:]
    tail = run[-lines:]
    causes = [line for line in run if _ERROR_LINE.match(line) and "HaltServer" not in line]
    cause = [f"error: {causes[-1]}"] if causes and causes[-1] not in tail else []
    return "\n".join(cause + tail)


def start_service(service: Service, timeout: float) -> str:
    """Start ``service`` unless it runs; wait until healthy. Returns a one-line status."""
    pid = running_pid(service.name)
    if pid is not None:
        return f"{service.name}: already running (pid {pid}, port {service.port})"
    service.pid_file.unlink(missing_ok=True)
    if port_in_use(service.port):
        env_name = f"SPML_{service.name.upper()}_PORT"
        raise StartError(
            f"{service.name}: port {service.port} is used by another program; stop it or choose "
            f"another port with {env_name}=..."
        )
    RUN_DIR.mkdir(exist_ok=True)
    LOG_DIR.mkdir(exist_ok=True)
    with open(service.log_file, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {service.command}\n".encode())
        log.flush()
        process = subprocess.Popen(
            service.command,
            cwd=ROOT,
            env={**os.environ, **service.env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop.sh signals exactly this group
        )
    service.pid_file.write_text(f"{process.pid} {_start_time(process.pid) or '-'}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            service.pid_file.unlink(missing_ok=True)
            raise StartError(
                f"{service.name} exited with code {process.returncode} while starting; see "
                f"{service.log_file}:\n{_tail(service.log_file)}"
            )
        if _probe(service):
            return f"{service.name}: started (pid {process.pid}, port {service.port})"
        time.sleep(0.3)
    stop_service(service.name)
    what = service.health_path or "its port"
    raise StartError(
        f"{service.name} did not answer {what} on port {service.port} within {timeout:.0f} s "
        f"(SPML_START_TIMEOUT); see {service.log_file}:\n{_tail(service.log_file)}"
    )


def stop_service(name: str, grace: float = 15.0) -> str | None:
    """Terminate the process group recorded in ``run/<name>.pid``; None if none was recorded."""
    pid_file = RUN_DIR / f"{name}.pid"
    record = read_pid_file(pid_file)
    if record is None:
        pid_file.unlink(missing_ok=True)
        return None
    pid = running_pid(name)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return f"{name}: was not running (stale {pid_file.name} removed)"
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _group_members(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    forced = bool(_group_members(pid))
    if forced:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        while _group_members(pid) and time.monotonic() < deadline + 5:
            time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    (RUN_DIR / f"{name}.ctl").unlink(missing_ok=True)  # gunicorn leaves it when killed
    return f"{name}: stopped (pid {pid}{', killed' if forced else ''})"


# -- the stack ------------------------------------------------------------------------------------
def _bin(name: str) -> str:
    """An executable of this interpreter's environment (the project's .venv)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def control_socket_env(name: str) -> dict[str, str]:
    """``GUNICORN_CMD_ARGS`` giving the gunicorn server of service ``name`` its own control
    socket, ``run/<name>.ctl``: gunicorn 25.1+ puts every server's at the same
    ``~/.gunicorn/gunicorn.ctl`` (or ``$XDG_RUNTIME_DIR/gunicorn.ctl``), the last one started
    taking it from the others. Older gunicorn has no control socket: nothing to set."""
    try:
        version = importlib.metadata.version("gunicorn")
    except importlib.metadata.PackageNotFoundError:
        return {}
    if tuple(int(part) for part in re.findall(r"\d+", version)[:2]) < (25, 1):
        return {}
    own = f"--control-socket {shlex.quote(str(RUN_DIR / f'{name}.ctl'))}"
    return {"GUNICORN_CMD_ARGS": f"{os.environ.get('GUNICORN_CMD_ARGS', '')} {own}".strip()}


def api_service(bind: str, port: int, ui_port: int, mlflow_port: int | None) -> Service:
    worker = os.environ.get("SPML_API_WORKER", "gevent").strip() or "gevent"
    if worker not in WORKERS:
        raise StartError(f"SPML_API_WORKER={worker!r}: choose one of {', '.join(WORKERS)}")
    env = {"PYTHONPATH": str(ROOT), "STREAM_POSE_ML_DATA": os.environ.get("STREAM_POSE_ML_DATA")}
    env = {key: value for key, value in env.items() if value}
    if not os.environ.get("STREAM_POSE_ML_CORS_ORIGINS"):
        env["STREAM_POSE_ML_CORS_ORIGINS"] = (
            f"http://localhost:{ui_port},http://127.0.0.1:{ui_port}"
        )
    if mlflow_port is not None and not os.environ.get("STREAM_POSE_ML_MLFLOW_URL"):
        env["STREAM_POSE_ML_MLFLOW_URL"] = f"http://127.0.0.1:{mlflow_port}"
    env["STREAM_POSE_ML_WORKER_CLASS"] = worker
    env.update(control_socket_env("api"))
    command = [_bin("gunicorn"), "-c", "python:api.gunicorn_conf", "-b", f"{bind}:{port}"]
    command += ["api.wsgi:app"]
    return Service("api", command, port, "/health", env)


def mlflow_service(bind: str, port: int) -> Service | None:
    command_text = os.environ.get("SPML_MLFLOW_CMD")
    if command_text:
        return Service("mlflow", ["/bin/sh", "-c", command_text], port, "/health", required=False)
    if not MLFLOW_ENTRY.is_file():
        return None
    # its uploads go to <data>/mlflow-service, beside the API's models
    data = os.environ.get("STREAM_POSE_ML_DATA") or str(ROOT / "data")
    env = {"PORT": str(port), "PYTHONPATH": str(ROOT), "STREAM_POSE_ML_DATA": data}
    env.update(control_socket_env("mlflow"))
    command = [sys.executable, str(MLFLOW_ENTRY), "--host", bind, "--port", str(port)]
    return Service("mlflow", command, port, "/health", env, required=False)


def _newest_mtime(paths: Iterable[Path]) -> float:
    newest = 0.0
    for path in paths:
        if path.is_dir():
            for child in path.rglob("*"):
                if child.is_file():
                    newest = max(newest, child.stat().st_mtime)
        elif path.is_file():
            newest = max(newest, path.stat().st_mtime)
    return newest


def build_ui() -> str | None:
    """Build ``web_ui/dist`` when missing or stale; returns why the UI is skipped, or None."""
    if _env_flag("SPML_SKIP_UI"):
        return "SPML_SKIP_UI is set"
    if not (WEB_UI / "package.json").is_file():
        return "web_ui/package.json does not exist in this checkout"
    npm = shutil.which("npm")
    index = WEB_UI / "dist" / "index.html"
    inputs = [WEB_UI / name for name in UI_INPUTS if name != "public"]
    stale = not index.is_file() or _newest_mtime(inputs) > index.stat().st_mtime
    if not stale:
        return None
    if npm is None:
        return "npm is not installed (Node.js >= 20.19 with npm is needed to build the UI)"
    LOG_DIR.mkdir(exist_ok=True)
    log_path = LOG_DIR / "ui-build.log"
    env = {**os.environ, "STREAM_POSE_ML_CLI": _bin("stream-pose-ml")}
    lock = WEB_UI / "package-lock.json"
    stamp = WEB_UI / "node_modules" / ".spml-lock-sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else "none"
    steps = []
    if not stamp.is_file() or stamp.read_text().strip() != digest:
        steps.append([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"])
    steps.append([npm, "run", "build"])
    print("building the web UI (npm) ...", flush=True)
    with open(log_path, "ab") as log:
        for step in steps:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {step}\n".encode())
            log.flush()
            done = subprocess.run(step, cwd=WEB_UI, env=env, stdout=log, stderr=subprocess.STDOUT)
            if done.returncode != 0:
                return f"`{' '.join(step[1:3])}` failed in web_ui/ (see {log_path})"
            if step[1] == "ci":
                stamp.write_text(digest + "\n")
    if not index.is_file():
        return f"the build produced no {index} (see {log_path})"
    return None


def ensure_example_model() -> str:
    """Give the API an active model on first run: build the example model and activate it."""
    if _env_flag("SPML_SKIP_EXAMPLE_MODEL"):
        return "example model: skipped (SPML_SKIP_EXAMPLE_MODEL)"
    script = ROOT / "scripts" / "build_example_model.py"
    sys.path.insert(0, str(ROOT))
    from stream_pose_ml.serving.model_store import ModelStore

    store = ModelStore()  # <STREAM_POSE_ML_DATA>/models, the API's store
    active = store.active()
    if active is not None:
        return f"model: {active.model_id} is active"
    if not script.is_file():
        return "example model: scripts/build_example_model.py is missing; upload a model in the UI"
    LOG_DIR.mkdir(exist_ok=True)
    log_path = LOG_DIR / "example-model.log"
    print("building the example model (first run only) ...", flush=True)
    with open(log_path, "ab") as log:
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=log,
        )
        log.write(done.stdout)
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        return f"example model: build failed (see {log_path}); upload a model in the UI"
    bundle = Path(lines[-1].strip())
    if not bundle.is_absolute():
        bundle = ROOT / bundle
    with tempfile.TemporaryDirectory() as tmp:
        upload = bundle
        if bundle.is_dir():  # a bundle folder is uploaded as a zip archive, as the UI would
            upload = Path(shutil.make_archive(str(Path(tmp) / bundle.name), "zip", bundle))
        with open(upload, "rb") as stream:
            record = store.add(stream, upload.name).record
    store.activate(record.id)
    return f"model: example model {record.filename} ({record.id}) activated"


def start(args: argparse.Namespace) -> int:
    bind = os.environ.get("SPML_BIND", "127.0.0.1")
    api_port = _port("SPML_API_PORT", 5001)
    ui_port = _port("SPML_UI_PORT", 3000)
    mlflow_port = _port("SPML_MLFLOW_PORT", 5002)
    timeout = float(os.environ.get("SPML_START_TIMEOUT", "90"))
    lines = []
    already = {name for name in ("mlflow", "api", "ui") if running_pid(name) is not None}
    try:
        for name, port in (("api", api_port), ("ui", ui_port)):
            if running_pid(name) is None and port_in_use(port):
                raise StartError(
                    f"{name}: port {port} is used by another program; stop it or choose "
                    f"another port with SPML_{name.upper()}_PORT=..."
                )
        if running_pid("api") is None:
            try:
                lines.append(ensure_example_model())
            except Exception as exc:  # a first-visit convenience: never blocks the start
                lines.append(f"example model: not activated ({type(exc).__name__}: {exc})")
        # the MLflow service first: the API is told its URL only if it runs
        mlflow = None if _env_flag("SPML_SKIP_MLFLOW") else mlflow_service(bind, mlflow_port)
        mlflow_line = "mlflow: not started (no mlflow/ service entry in this checkout)"
        if mlflow is not None:
            try:
                mlflow_line = start_service(mlflow, timeout)
            except StartError as exc:  # optional: MLflow models then run inside the API
                mlflow_line = f"mlflow: not started: {exc}"
        api_mlflow = mlflow_port if running_pid("mlflow") is not None else None
        lines.append(start_service(api_service(bind, api_port, ui_port, api_mlflow), timeout))
        lines.append(mlflow_line)
        skipped = None if running_pid("ui") is not None else build_ui()
        if skipped is None:
            server = ROOT / "scripts" / "serve_static.py"
            command = [sys.executable, str(server), "--directory", str(WEB_UI / "dist")]
            command += ["--host", bind, "--port", str(ui_port)]
            ui = Service("ui", command, ui_port, "/healthz")
            lines.append(start_service(ui, timeout))
        else:
            lines.append(f"ui: skipped: {skipped}; the API works without it")
    except StartError as exc:
        for name in ("ui", "api", "mlflow"):  # a failed start leaves nothing of its own running
            if name not in already and running_pid(name) is not None:
                lines.append(stop_service(name) or f"{name}: stopped")
        print("\n".join(lines), flush=True)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    api_url = f"http://localhost:{api_port}"
    if running_pid("ui") is not None:
        query = "" if api_port == 5001 else f"?api={api_url}"
        print(f"StreamPoseML is running: open http://localhost:{ui_port}/{query}")
    print(f"API: {api_url} (health: {api_url}/health). Logs: {LOG_DIR}. Stop: ./stop.sh")
    return 0


def stop(args: argparse.Namespace) -> int:
    names = sorted(path.stem for path in RUN_DIR.glob("*.pid")) if RUN_DIR.is_dir() else []
    lines = [line for name in names if (line := stop_service(name)) is not None]
    print("\n".join(lines) if lines else "nothing to stop (no local services recorded in run/)")
    return 0


def status(args: argparse.Namespace) -> int:
    names = sorted(path.stem for path in RUN_DIR.glob("*.pid")) if RUN_DIR.is_dir() else []
    info = {name: running_pid(name) for name in names}
    print(
        json.dumps(info)
        if args.json
        else "\n".join(f"{n}: {p or 'stopped'}" for n, p in info.items())
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--json", action="store_true", help="status as JSON {service: pid|null}")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # data/, run/ and logs/ are relative to the repository root
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return {"start": start, "stop": stop, "status": status}[args.action](args)


if __name__ == "__main__":
    raise SystemExit(main())

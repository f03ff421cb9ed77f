"""start.sh / stop.sh in local mode, from a fresh clone, on free ports; and the UI's static server.

The clone holds the committed tree; the files under test (start.sh, stop.sh and their helpers in
scripts/) are copied over from this working tree so the test checks the current versions. The
project's existing virtual environment is used through ``SPML_VENV`` (nothing is reinstalled) and
the pose bundles come from the package cache, as on a second run on a real machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)  # the project's .venv running this test
UNDER_TEST = ("start.sh", "stop.sh", "scripts/run_local.py", "scripts/serve_static.py")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


def _live_processes() -> dict[int, tuple[int, str]]:
    """pid -> (process group, command line) of every non-zombie process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[0] not in {"Z", "X"}:
            out[int(entry.name)] = (int(fields[2]), cmdline)
    return out


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("fresh") / "StreamPoseML"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True, timeout=120)
    for name in UNDER_TEST:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    yield target
    # whatever happens in a test, leave nothing running
    subprocess.run(["./stop.sh"], cwd=target, env=_env(target, {}), timeout=120, check=False)


def _env(clone: Path, ports: dict[str, int], **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SPML_", "STREAM_POSE_ML_DATA"))
    }
    env.update({"SPML_MODE": "local", "SPML_START_TIMEOUT": "120", **extra})
    env["SPML_VENV"] = str(VENV)
    env.update({f"SPML_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    return env


def _run(clone: Path, script: str, env: dict[str, str], timeout: float = 900):
    return subprocess.run(
        [f"./{script}"], cwd=clone, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_start_twice_then_stop_leaves_nothing(clone: Path) -> None:
    ports = {"api": _free_port(), "ui": _free_port(), "mlflow": _free_port()}
    env = _env(clone, ports)
    bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)  # not ours to stop
    try:
        first = _run(clone, "start.sh", env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "api: started" in first.stdout

        status, body, _ = _get(f"http://127.0.0.1:{ports['api']}/health")
        assert status == 200 and json.loads(body)["status"] == "ok"
        pids = {p.stem: int(p.read_text().split()[0]) for p in (clone / "run").glob("*.pid")}
        assert "api" in pids and (clone / "logs" / "api.log").is_file()

        ui_started = "ui: started" in first.stdout
        if ui_started:
            status, body, kind = _get(f"http://127.0.0.1:{ports['ui']}/")
            assert status == 200 and b"<div" in body and kind.startswith("text/html")
            status, route, _ = _get(f"http://127.0.0.1:{ports['ui']}/some/client/route")
            assert status == 200 and route == body
        else:  # the UI could not be built here: start.sh says why and carries on with the API
            assert "ui: skipped:" in first.stdout
            assert not _port_open(ports["ui"])
        if (clone / "mlflow" / "model_service.py").is_file():
            assert "mlflow: started" in first.stdout, first.stdout
            assert _get(f"http://127.0.0.1:{ports['mlflow']}/health")[0] == 200
        scripts = clone / "scripts" / "build_example_model.py"
        if scripts.is_file():
            status, body, _ = _get(f"http://127.0.0.1:{ports['api']}/models")
            assert status == 200 and json.loads(body)["active"] is not None, first.stdout

        second = _run(clone, "start.sh", env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert f"api: already running (pid {pids['api']}" in second.stdout
        assert ": started" not in second.stdout
        again = {p.stem: int(p.read_text().split()[0]) for p in (clone / "run").glob("*.pid")}
        assert again == pids
        groups = {pgid for pgid, _ in _live_processes().values()}
        assert set(pids.values()) <= groups
        servers = [
            pid
            for pid, (_, cmd) in _live_processes().items()
            if "gunicorn" in cmd and f":{ports['api']}" in cmd
        ]
        assert servers and all(_live_processes()[pid][0] == pids["api"] for pid in servers)

        stopped = _run(clone, "stop.sh", env, timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        assert "api: stopped" in stopped.stdout
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(map(_port_open, ports.values())):
            time.sleep(0.2)
        assert not any(_port_open(port) for port in ports.values())
        leftovers = {
            pid: cmd
            for pid, (pgid, cmd) in _live_processes().items()
            if pgid in pids.values() or str(clone) in cmd
        }
        assert leftovers == {}
        assert not list((clone / "run").glob("*.pid"))
        assert bystander.poll() is None, "stop.sh stopped a process start.sh did not start"
        assert "nothing to stop" in _run(clone, "stop.sh", env, timeout=60).stdout
    finally:
        os.killpg(bystander.pid, signal.SIGTERM)
        bystander.wait(timeout=10)


def test_start_reports_a_busy_port_and_a_crashing_api_with_its_log(clone: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = _env(
            clone,
            {"api": port, "ui": _free_port(), "mlflow": _free_port()},
            SPML_SKIP_EXAMPLE_MODEL="1",
        )
        done = _run(clone, "start.sh", env)
    assert done.returncode == 1
    assert (
        f"port {port} is used by another program" in done.stderr and "SPML_API_PORT" in done.stderr
    )

    env = _env(
        clone,
        {"api": _free_port(), "ui": _free_port(), "mlflow": _free_port()},
        STREAM_POSE_ML_ASYNC_MODE="no-such-mode",
        SPML_SKIP_EXAMPLE_MODEL="1",
    )
    done = _run(clone, "start.sh", env)
    assert done.returncode == 1
    assert "api exited with code" in done.stderr
    assert str(clone / "logs" / "api.log") in done.stderr
    assert "STREAM_POSE_ML_ASYNC_MODE" in done.stderr  # the log's tail names the bad setting
    assert not (clone / "run" / "api.pid").exists()
    # the model service it started before the API failed is stopped again
    assert "mlflow: stopped" in done.stdout, done.stdout
    assert not _port_open(int(env["SPML_MLFLOW_PORT"]))


def test_each_gunicorn_server_has_its_own_control_socket(clone: Path, tmp_path: Path) -> None:
    if not (clone / "mlflow" / "model_service.py").is_file():
        pytest.skip("this checkout has one gunicorn server only")
    if not (VENV / "bin" / "gunicornc").is_file():
        pytest.skip("gunicorn before 25.1 has no control socket")
    ports = {"api": _free_port(), "ui": _free_port(), "mlflow": _free_port()}
    # gunicorn's shared default would be $XDG_RUNTIME_DIR/gunicorn.ctl
    env = _env(clone, ports, SPML_SKIP_UI="1", XDG_RUNTIME_DIR=str(tmp_path))
    started = _run(clone, "start.sh", env)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert not (tmp_path / "gunicorn.ctl").exists()
        for name in ("api", "mlflow"):
            path = clone / "run" / f"{name}.ctl"
            assert path.is_socket(), sorted(p.name for p in (clone / "run").iterdir())
            shown = subprocess.run(
                [str(VENV / "bin" / "gunicornc"), "-s", str(path), "-j", "-c", "show config"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            assert json.loads(shown.stdout)["bind"] == [f"127.0.0.1:{ports[name]}"]
    finally:
        stopped = _run(clone, "stop.sh", env, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert "api: stopped" in stopped.stdout and "mlflow: stopped" in stopped.stdout
    assert not list((clone / "run").glob("*.ctl"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(_port_open, ports.values())):
        time.sleep(0.2)
    assert not any(_port_open(port) for port in ports.values())


def test_static_server_serves_files_spa_routes_and_wasm(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "wasm").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    (dist / "wasm" / "vision.wasm").write_bytes(b"\0asm\1\0\0\0")
    port = _free_port()
    command = [sys.executable, str(ROOT / "scripts" / "serve_static.py"), "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--directory", str(dist)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not _port_open(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        index = _get(f"{base}/")
        assert index[0] == 200 and index[1].startswith(b"<!doctype html>")
        assert _get(f"{base}/settings/bluetooth")[1] == index[1]
        status, body, kind = _get(f"{base}/wasm/vision.wasm")
        assert (status, body, kind) == (200, b"\0asm\1\0\0\0", "application/wasm")
        assert _get(f"{base}/missing.js")[0] == 404
        assert _get(f"{base}/wasm/")[1] == index[1]  # the app, never a directory listing
        assert _get(f"{base}/healthz")[:2] == (200, b"ok")
    finally:
        server.terminate()
        server.wait(timeout=10)

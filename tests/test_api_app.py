"""The application factory and the async modes, each served by its real gunicorn worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_server import ApiServer, frame_message, live_clients, pose_frames, save_legacy_model

from api.app import create_app, resolve_async_mode
from api.state import EXTENSION_KEY


def test_create_app_keeps_its_state_on_the_app(tmp_path: Path) -> None:
    first = create_app({"DATA_DIR": str(tmp_path / "one"), "MAX_SESSIONS": 3})
    second = create_app({"DATA_DIR": str(tmp_path / "two")})
    one, two = first.extensions[EXTENSION_KEY], second.extensions[EXTENSION_KEY]
    assert one.service is not two.service
    assert one.service.sessions.max_sessions == 3 and two.service.sessions.max_sessions == 200
    assert one.service.models.root == (tmp_path / "one" / "models").resolve()
    assert first.config["SECRET_KEY"] != second.config["SECRET_KEY"]  # random per process
    assert len(first.config["SECRET_KEY"]) >= 32
    assert resolve_async_mode("auto") == "threading"  # pytest patches nothing
    health = first.test_client().get("/health").json
    assert health["status"] == "ok" and health["async_mode"] == "threading"


def test_create_app_changes_nothing_outside_the_app(tmp_path: Path) -> None:
    """Logging and the garbage collector belong to the server entry point (api/wsgi.py)."""
    import gc
    import logging

    root = logging.getLogger()
    handlers, level, frozen = list(root.handlers), root.level, gc.get_freeze_count()
    create_app({"DATA_DIR": str(tmp_path), "LOG_LEVEL": "DEBUG"})
    assert root.handlers == handlers and root.level == level
    assert gc.get_freeze_count() == frozen


def test_the_server_entry_point_sets_up_logs_and_freezes_the_heap(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import gc, logging, api.wsgi as w; "
        "assert w.app.name == 'api.app', w.app.name; "
        "assert gc.get_freeze_count() > 0; "
        "assert type(logging.getLogger().handlers[0].formatter).__name__ == 'KeyValueFormatter'"
    )
    env = {"PATH": "/usr/bin:/bin", "STREAM_POSE_ML_DATA": str(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).parents[1], env=env, capture_output=True
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("worker", ["eventlet", "gevent"])
def test_eventlet_and_gevent_workers_serve_the_live_path(tmp_path: Path, worker: str) -> None:
    model = save_legacy_model(tmp_path / "window3.pkl", window=3)
    with ApiServer(tmp_path / "data", worker=worker) as api:
        assert api.get("/health").json()["async_mode"] == worker
        assert api.upload(model).status_code == 200
        frames = pose_frames(6, seed=1)
        with live_clients(api.url, 2) as (a, b):
            for i, frame in enumerate(frames):
                a.emit("keypoints", frame_message(frame, frame_id=i))
                b.emit("keypoints", frame_message(frame, frame_id=10 + i))
            a.emit("keypoints", {"landmarks": [1]})
            assert a.wait_for("error")[0]["code"] == "landmark_count"
            assert a.wait_for("frame_result", lambda r: r["frame_id"] == 5)[0]["label"]
            assert b.wait_for("frame_result", lambda r: r["frame_id"] == 15)[0]["label"]
            assert a.wait_for("heartbeat", count=2, timeout=5)
    assert "Traceback" not in api.log_text()

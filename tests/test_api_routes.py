"""REST routes and operations of the real server: uploads and their security, models, health,
readiness, metrics, OpenAPI, CORS, session limits, idle sessions and restarts."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
import requests
import socketio
from api_server import (
    ApiServer,
    LiveClient,
    fit_window_model,
    frame_message,
    live_clients,
    pose_frames,
    save_legacy_model,
)

from api.app import create_app
from stream_pose_ml.features import PoseFeatureTransform
from stream_pose_ml.learning.bundle import save_bundle

pytestmark = pytest.mark.slow

TOKEN = "test-token-5f2c"
SETTINGS = {
    "STREAM_POSE_ML_API_TOKEN": TOKEN,
    "STREAM_POSE_ML_MAX_UPLOAD_BYTES": str(2 * 1024**2),
    "STREAM_POSE_ML_ARCHIVE_MAX_FILES": "50",
    "STREAM_POSE_ML_ARCHIVE_MAX_BYTES": str(5 * 1024**2),
    "STREAM_POSE_ML_MAX_SESSIONS": "4",
    "STREAM_POSE_ML_SESSION_IDLE_SECONDS": "2",
    "STREAM_POSE_ML_CORS_ORIGINS": "http://localhost:3000",
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("route-files")
    out = {w: save_legacy_model(folder / f"window{w}.pkl", window=w, seed=w) for w in (2, 4)}
    return {"window2": out[2], "window4": out[4], "folder": folder}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("route-api")


@pytest.fixture(scope="module")
def server(root: Path):
    with ApiServer(root / "data", SETTINGS) as api:
        yield api
    assert "Traceback" not in api.log_text()


def tree(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` (relative path -> size)."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def upload(server: ApiServer, path: Path, **form) -> requests.Response:
    return server.upload(path, token=TOKEN, **form)


# -- uploads and their security -------------------------------------------------------------------
def test_upload_needs_the_token(server: ApiServer, files: dict[str, Path]) -> None:
    models = server.data_dir / "models"
    before = tree(models)
    assert server.upload(files["window2"]).status_code == 401
    assert server.upload(files["window2"], token="wrong").status_code == 401
    response = server.upload(files["window2"], token="wrong", frame_window_size=2)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert tree(models) == before


def test_upload_with_a_form_token_activates_the_model(
    server: ApiServer, files: dict[str, Path]
) -> None:
    with open(files["window2"], "rb") as handle:
        response = requests.post(
            f"{server.url}/set_model",
            files={"file": ("window2.pkl", handle)},
            data={"frame_window_size": "2", "frame_window_overlap": "1", "token": TOKEN},
            timeout=60,
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"] == "StreamPoseML Ready: classifier set to window2.pkl."
    assert body["model"]["format"] == "legacy-pickle"
    assert body["active"] == {**body["active"], "window_size": 2, "stride": 1, "overlap": 1}
    listed = server.get("/models").json()
    assert body["model"]["id"] in [m["id"] for m in listed["models"]]
    assert listed["active"]["model_id"] == body["model"]["id"]
    assert server.get("/ready").json()["ready"] is True


def test_a_window_size_the_model_does_not_have_is_reported(
    server: ApiServer, files: dict[str, Path]
) -> None:
    response = upload(server, files["window4"], frame_window_size=30, frame_window_overlap=2)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["active"]["window_size"] == 4 and body["active"]["stride"] == 2
    assert "frame_window_size 30 ignored" in body["warnings"][0]
    bad = upload(server, files["window4"], frame_window_overlap=4)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_overlap"


def _zip(path: Path, entries: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def _tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for member in members:
            payload = data.get(member.name)
            if payload is not None:
                member.size = len(payload)
            archive.addfile(member, io.BytesIO(payload) if payload is not None else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def _bad_upload(kind: str, folder: Path, model: bytes) -> Path:
    if kind == "zip_slip":
        return _zip(folder / "slip.zip", {"model.pkl": model, "../../escaped.txt": b"owned"})
    if kind == "absolute_path":
        return _zip(folder / "absolute.zip", {"/tmp/escaped-absolute.txt": b"owned"})
    if kind == "zip_symlink":
        return _zip(folder / "link.zip", {"model.pkl": model}, {"evil": "/etc/passwd"})
    if kind == "tar_symlink":
        members = [_member("model.pkl"), _member("evil", tarfile.SYMTYPE, "/etc/passwd")]
        return _tar(folder / "link.tar.gz", members, {"model.pkl": model})
    if kind == "tar_hardlink":
        members = [_member("model.pkl"), _member("evil", tarfile.LNKTYPE, "/etc/passwd")]
        return _tar(folder / "hardlink.tar.gz", members, {"model.pkl": model})
    if kind == "tar_device":
        return _tar(folder / "device.tar.gz", [_member("null", tarfile.CHRTYPE)], {})
    if kind == "tar_dotdot":
        members = [_member("ok/../../escaped.txt")]
        return _tar(folder / "dotdot.tar.gz", members, {"ok/../../escaped.txt": b"owned"})
    if kind == "too_many_files":
        return _zip(folder / "many.zip", {f"f{i}.txt": b"x" for i in range(60)})
    if kind == "too_many_bytes":  # 6 MB of zeros, a few KB compressed
        return _zip(folder / "bomb.zip", {"zeros.bin": bytes(6 * 1024**2)})
    if kind == "oversized_file":
        path = folder / "big.pkl"
        path.write_bytes(os.urandom(3 * 1024**2))
        return path
    if kind == "not_a_model":
        path = folder / "notes.pkl"
        path.write_bytes(b"just some text, not a pickle\n" * 10)
        return path
    if kind == "zip_without_model":
        return _zip(folder / "empty.zip", {"readme.txt": b"nothing here"})
    raise AssertionError(kind)


BAD_UPLOADS = {
    "zip_slip": (400, "unsafe_archive"),
    "absolute_path": (400, "unsafe_archive"),
    "zip_symlink": (400, "unsafe_archive"),
    "tar_symlink": (400, "unsafe_archive"),
    "tar_hardlink": (400, "unsafe_archive"),
    "tar_device": (400, "unsafe_archive"),
    "tar_dotdot": (400, "unsafe_archive"),
    "too_many_files": (413, "archive_too_large"),
    "too_many_bytes": (413, "archive_too_large"),
    "oversized_file": (413, "too_large"),
    "not_a_model": (422, "not_a_model"),
    "zip_without_model": (422, "not_a_model"),
}


@pytest.mark.parametrize("kind", sorted(BAD_UPLOADS))
def test_bad_uploads_are_refused_and_nothing_is_written(
    server: ApiServer, files: dict[str, Path], root: Path, tmp_path: Path, kind: str
) -> None:
    path = _bad_upload(kind, tmp_path, files["window2"].read_bytes())
    models = server.data_dir / "models"
    outside = {k: v for k, v in tree(root).items() if not k.startswith("data/models/")}
    listed = server.get("/models").json()
    response = upload(server, path)
    status, code = BAD_UPLOADS[kind]
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert str(server.data_dir) not in response.text  # no server paths in client messages
    after = {k: v for k, v in tree(root).items() if not k.startswith("data/models/")}
    after.pop(server.log_path.name, None), outside.pop(server.log_path.name, None)
    assert after == outside
    assert not (tmp_path.parent / "escaped.txt").exists()
    assert not Path("/tmp/escaped-absolute.txt").exists()
    assert server.get("/models").json() == listed
    assert not (models / ".incoming").exists()  # no upload left in progress


def test_a_zipped_model_bundle_and_activation_by_id(
    server: ApiServer, files: dict[str, Path], tmp_path: Path
) -> None:
    model, spec = fit_window_model(3, seed=11)
    columns = list(PoseFeatureTransform(spec).fit().get_feature_names_out())
    bundle = save_bundle(tmp_path / "bundle.zip", model, columns, feature_spec=spec)
    response = upload(server, bundle)
    assert response.status_code == 200, response.text
    stored = response.json()["model"]
    assert (stored["format"], stored["window_size"]) == ("bundle", 3)
    legacy = server.get("/models").json()["models"][0]["id"]
    route = f"{server.url}/models/{legacy}/activate"
    assert requests.post(route, json={"overlap": 1}, timeout=30).status_code == 401
    switched = requests.post(
        route, json={"overlap": 1}, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )
    assert switched.status_code == 200, switched.text
    assert server.get("/models").json()["active"]["model_id"] == legacy
    unknown = requests.post(
        f"{server.url}/models/0123456789abcdef/activate",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_model"


# -- operations -----------------------------------------------------------------------------------
def test_metrics_count_frames_classifications_and_model_loads(
    server: ApiServer, files: dict[str, Path]
) -> None:
    assert upload(server, files["window2"], frame_window_overlap=1).status_code == 200
    frames_before = server.metric("stream_pose_ml_frames_in_total")
    with live_clients(server.url, 1) as (client,):
        for i, frame in enumerate(pose_frames(6, seed=12)):
            client.emit("keypoints", frame_message(frame, frame_id=i))
        client.wait_for("frame_result", lambda r: r["frame_id"] == 5)
        client.emit("keypoints", {"landmarks": [{"x": 1}]})
        client.wait_for("error")
        text = server.get("/metrics").text
    assert server.metric("stream_pose_ml_frames_in_total") == frames_before + 6
    classified = server.metric("stream_pose_ml_classifications_total")
    dropped = server.metric("stream_pose_ml_frames_dropped_total")
    assert classified >= 1 and classified + dropped == 5  # 6 frames, window 2: 5 windows due
    latency_count = server.metric("stream_pose_ml_classification_latency_seconds_count")
    assert 1 <= latency_count <= classified
    assert 'stream_pose_ml_classification_latency_seconds_bucket{le="0.05"}' in text
    assert (
        server.metric("stream_pose_ml_model_load_events_total", 'outcome="success",source="upload"')
        >= 1
    )
    assert (
        server.metric("stream_pose_ml_model_load_events_total", 'outcome="failure",source="upload"')
        >= 1
    )
    assert server.metric("stream_pose_ml_errors_total", 'code="landmark_count"') >= 1
    assert "stream_pose_ml_sessions " in text


def test_health_openapi_and_cors(server: ApiServer) -> None:
    health = server.get("/health").json()
    assert health["status"] == "ok" and health["async_mode"] == "threading"
    assert server.get("/").text == "Server Ready"
    document = server.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    allowed = requests.get(
        f"{server.url}/models", headers={"Origin": "http://localhost:3000"}, timeout=10
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    other = requests.get(f"{server.url}/models", headers={"Origin": "http://evil.test"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers
    with pytest.raises(socketio.exceptions.ConnectionError):
        socketio.Client(reconnection=False).connect(
            server.url, transports=["websocket"], headers={"Origin": "http://evil.test"}
        )


def test_the_session_limit_refuses_connections(server: ApiServer) -> None:
    assert server.sessions_become(0)
    with live_clients(server.url, 4):
        refused = LiveClient(server.url, connect=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            refused.sio.connect(server.url, transports=["websocket"], wait_timeout=10)
        error = refused.wait_for("connect_error")[0]
        assert "too_many_sessions" in str(error), error
    assert server.metric("stream_pose_ml_sessions_rejected_total") >= 1
    with live_clients(server.url, 1) as (client,):  # room again once the others left
        assert client.wait_for("heartbeat")


def test_an_idle_session_is_closed(server: ApiServer) -> None:
    client = LiveClient(server.url)
    try:
        error = client.wait_for("error", lambda e: e["code"] == "idle_timeout", timeout=10)[0]
        assert "reconnect" in error["message"]
        deadline = time.monotonic() + 10
        while client.sio.connected and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not client.sio.connected
    finally:
        client.close()


# -- a fresh server: before any model, and across restarts ----------------------------------------
def test_frames_before_a_model_then_restart_restores_the_active_model(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    with ApiServer(tmp_path / "data", {"STREAM_POSE_ML_API_TOKEN": TOKEN}) as api:
        ready = api.get("/ready")
        assert ready.status_code == 503 and ready.json()["reason"] == "no_model"
        frames = pose_frames(5, seed=13)
        with live_clients(api.url, 1) as (client,):
            client.emit("keypoints", frame_message(frames[0]))
            assert client.wait_for("error")[0]["code"] == "no_model"
            response = api.upload(files["window4"], token=TOKEN, frame_window_overlap=2)
            assert response.status_code == 200, response.text
            for i, frame in enumerate(frames):  # the same session goes on with the new model
                client.emit("keypoints", frame_message(frame, frame_id=i))
            assert client.wait_for("frame_result", lambda r: r["frame_id"] == 3)[0]["label"]
        model_id = response.json()["model"]["id"]
        api.restart()
        assert api.get("/ready").json() == {"ready": True, "reason": "ok", "model_id": model_id}
        assert api.get("/models").json()["active"]["stride"] == 2
        with live_clients(api.url, 1) as (client,):
            batch = [frame_message(f, frame_id=i) for i, f in enumerate(pose_frames(6, seed=14))]
            client.emit("keypoints", {"frames": batch})
            result = client.wait_for("frame_result", lambda r: r["frame_id"] == 5)[0]
            assert (result["model_id"], result["window_size"]) == (model_id, 4)
            assert [r["frame_id"] for r in result["results"]] == [3, 5]  # window 4, stride 2
        assert "event=model_restored" in api.log_text()


def test_without_a_token_only_loopback_clients_may_change_models(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "API_TOKEN": None})
    client = app.test_client()
    for address, status in (("10.1.2.3", 403), ("::1", 200), ("127.0.0.1", 200)):
        with open(files["window2"], "rb") as handle:
            response = client.post(
                "/set_model",
                data={"file": (handle, "window2.pkl")},
                environ_base={"REMOTE_ADDR": address},
            )
        assert response.status_code == status, (address, response.json)
    assert response.json["model"]["window_size"] == 2
    forbidden = client.post("/models/x/activate", environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert forbidden.status_code == 403 and forbidden.json["error"]["code"] == "forbidden"
    stored = sorted(p.name for p in (tmp_path / "data").iterdir() if p.name != "models")
    assert stored == ["jobs", "videos"]  # the video jobs' folders, empty
    assert not any((tmp_path / "data" / "jobs").iterdir())


def test_the_openapi_document_covers_every_route(tmp_path: Path) -> None:
    app = create_app({"DATA_DIR": str(tmp_path / "data")})
    document = app.test_client().get("/openapi.json").json
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        assert path in document["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], (path, method)

"""The mlflow/ model service as a real process on loopback: load, score, refuse bad input."""

from __future__ import annotations

import os
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests

from stream_pose_ml.features.windows import sliding_windows
from stream_pose_ml.learning import load_model
from stream_pose_ml.learning.mlflow_tracking import save_mlflow_model
from stream_pose_ml.learning.synthetic import synthetic_sequence
from tests.api_server import REPO, fit_window_model
from tests.api_server import ModelServiceProcess as ServiceProcess

SERVICE = REPO / "mlflow" / "model_service.py"
TOKEN = "service-test-token"
MAX_UPLOAD = 3_000_000


def zip_folder(folder: Path, target: Path, prefix: str = "model/") -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def save_window_mlflow_model(folder: Path, window: int = 4, seed: int = 0) -> Path:
    """A real MLflow model (skops-saved gradient boosting, signature, feature spec) taking
    ``window``-frame windows."""
    model, spec = fit_window_model(window, seed)
    columns = [str(c) for c in model.feature_names_in_]
    return save_mlflow_model(model, folder, input_columns=columns, feature_spec=spec)


@pytest.fixture(scope="module")
def mlflow_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mlflow-model")
    folder = save_window_mlflow_model(root / "model_dir")
    model = load_model(folder)
    frames = synthetic_sequence(
        np.where(np.arange(24) % 12 < 6, 0, 1), np.random.default_rng(3)
    ).data
    frames[5, :, :] = np.nan  # a frame without a detection: NaN features
    rows = model.feature_transform().transform(sliding_windows(frames, model.window_size))
    assert np.isnan(rows).any()
    return {
        "folder": folder,
        "zip": zip_folder(folder, root / "model.zip"),
        "model": model,
        "rows": rows,
        "columns": list(model.input_columns),
    }


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    server = ServiceProcess(
        tmp_path_factory.mktemp("service"),
        {"STREAM_POSE_ML_API_TOKEN": TOKEN, "STREAM_POSE_ML_MAX_UPLOAD_BYTES": str(MAX_UPLOAD)},
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def load(service: ServiceProcess, path: Path, token: str | None = TOKEN, **form: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with open(path, "rb") as handle:
        return requests.post(
            f"{service.url}/load",
            files={"file": (path.name, handle)},
            data=form,
            headers=headers,
            timeout=60,
        )


def split_payload(columns: list[str], rows: np.ndarray, method: str | None = None) -> str:
    frame = pd.DataFrame(rows, columns=columns)
    body = '{"dataframe_split": ' + frame.to_json(orient="split", index=False)
    if method:
        body += ', "params": {"predict_method": "' + method + '"}'
    return body + "}"


def invoke(service: ServiceProcess, body: Any, **params: str) -> requests.Response:
    data = body if isinstance(body, str) else None
    return requests.post(
        f"{service.url}/invocations",
        data=data,
        json=None if data is not None else body,
        params=params,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def test_before_a_model_is_loaded_it_is_alive_but_not_ready(
    service: ServiceProcess, mlflow_model: dict[str, Any]
) -> None:
    # Runs first (module order): the service has no model yet.
    assert requests.get(f"{service.url}/health", timeout=5).json()["status"] == "ok"
    assert requests.get(f"{service.url}/ping", timeout=5).status_code == 200
    ready = requests.get(f"{service.url}/ready", timeout=5)
    assert ready.status_code == 503 and ready.json()["reason"] == "no_model"
    answer = invoke(service, split_payload(mlflow_model["columns"], mlflow_model["rows"][:1]))
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "no_model"
    assert answer.json()["error_code"] == "NO_MODEL"


def test_load_refuses_a_wrong_token_bad_archives_and_non_models(
    service: ServiceProcess, mlflow_model: dict[str, Any], tmp_path: Path
) -> None:
    assert load(service, mlflow_model["zip"], token=None).status_code == 401
    wrong = load(service, mlflow_model["zip"], token="nope")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"

    not_archive = tmp_path / "model.pkl"
    not_archive.write_bytes(b"\x80\x04not a model at all")
    answer = load(service, not_archive)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_archive"

    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as archive:
        archive.writestr("../../escaped.txt", "x")
    answer = load(service, slip)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "unsafe_archive"
    assert not (service.workdir / "escaped.txt").exists()

    link = tmp_path / "link.tar.gz"
    with tarfile.open(link, "w:gz") as archive:
        entry = tarfile.TarInfo("model/MLmodel")
        entry.type, entry.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(entry)
    assert load(service, link).status_code == 400

    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("notes/readme.txt", "no MLmodel here")
    answer = load(service, other)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "not_a_model"

    big = tmp_path / "big.zip"
    big.write_bytes(b"PK\x03\x04" + os.urandom(MAX_UPLOAD))
    assert load(service, big).status_code == 413

    assert requests.get(f"{service.url}/ready", timeout=5).status_code == 503
    leftovers = [p.name for p in (service.workdir / "models").iterdir()]
    assert leftovers == [], leftovers


def test_a_loaded_model_scores_like_the_in_process_model(
    service: ServiceProcess, mlflow_model: dict[str, Any]
) -> None:
    model, rows, columns = mlflow_model["model"], mlflow_model["rows"], mlflow_model["columns"]
    answer = load(service, mlflow_model["zip"], model_id="window4")
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_id"] == "window4"
    ready = requests.get(f"{service.url}/ready", timeout=5).json()
    assert ready == {"ready": True, "reason": "ok", "model_id": "window4"}
    info = requests.get(f"{service.url}/model", timeout=5).json()
    assert info["input_columns"] == columns
    assert info["classes"] == list(model.classes)
    assert info["window_size"] == model.window_size == 4

    proba = invoke(service, split_payload(columns, rows, "predict_proba"), model_id="window4")
    assert proba.status_code == 200, proba.text
    np.testing.assert_allclose(proba.json()["predictions"], model.predict_proba(rows), rtol=0)
    labels = invoke(service, split_payload(columns, rows))
    assert labels.json()["predictions"] == model.predict(rows).tolist()

    records = [
        {c: (None if np.isnan(v) else float(v)) for c, v in zip(columns, row, strict=True)}
        for row in rows[:3]
    ]
    by_records = invoke(service, {"dataframe_records": records})
    assert by_records.json()["predictions"] == model.predict(rows[:3]).tolist()
    shuffled = {"instances": [dict(reversed(list(r.items()))) for r in records]}
    assert invoke(service, shuffled).json()["predictions"] == model.predict(rows[:3]).tolist()
    plain = {"instances": np.nan_to_num(rows[:2], nan=0.0).tolist()}
    expected = model.predict(np.nan_to_num(rows[:2], nan=0.0)).tolist()
    assert invoke(service, plain).json()["predictions"] == expected


def test_bad_scoring_requests_get_clear_json_errors(
    service: ServiceProcess, mlflow_model: dict[str, Any]
) -> None:
    columns, rows = mlflow_model["columns"], mlflow_model["rows"]
    assert load(service, mlflow_model["zip"], model_id="window4").status_code == 200
    cases: list[tuple[Any, int]] = [
        ("{not json", 400),
        ({"rows": [[1, 2]]}, 400),
        ({"instances": [[0.0] * (len(columns) - 1)]}, 400),
        ({"dataframe_records": [{columns[0]: 1.0}]}, 400),
        ({"instances": [["a"] * len(columns)]}, 400),
        ({"dataframe_split": {"columns": columns, "data": "x"}}, 400),
        ({"instances": rows[:1].tolist(), "params": {"predict_method": "explain"}}, 400),
        ({"instances": [], "dataframe_records": []}, 400),
    ]
    for body, status in cases:
        answer = invoke(service, body)
        assert answer.status_code == status, (body, answer.text)
        error = answer.json()["error"]
        assert error["code"] and error["message"], answer.text
    unknown = invoke(service, split_payload(columns, rows[:1]), model_id="nothere")
    assert unknown.status_code == 409 and unknown.json()["error"]["code"] == "model_not_loaded"
    # the service still answers after the bad requests
    assert invoke(service, split_payload(columns, rows[:1])).status_code == 200


def test_load_by_path_and_token_free_loopback(mlflow_model: dict[str, Any], tmp_path: Path) -> None:
    server = ServiceProcess(tmp_path).start()
    try:
        answer = requests.post(
            f"{server.url}/load", json={"path": str(mlflow_model["folder"])}, timeout=60
        )
        assert answer.status_code == 200, answer.text
        # a web page of any origin cannot make the visitor's browser load a model here
        cross = requests.post(
            f"{server.url}/load",
            data={"path": str(mlflow_model["folder"])},
            headers={"Origin": "http://localhost:3000"},
            timeout=10,
        )
        assert cross.status_code == 403 and cross.json()["error"]["code"] == "cross_origin"
        missing = requests.post(f"{server.url}/load", json={"path": "/no/such/model"}, timeout=10)
        assert missing.status_code == 404
        assert requests.post(f"{server.url}/load", json={}, timeout=10).status_code == 400
        rows = mlflow_model["rows"]
        body = split_payload(mlflow_model["columns"], rows)
        assert (
            invoke(server, body).json()["predictions"]
            == mlflow_model["model"].predict(rows).tolist()
        )
    finally:
        server.stop()
    assert server.process is None

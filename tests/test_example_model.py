"""scripts/build_example_model.py, run as a user runs it: outputs, stdout and idempotence."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from stream_pose_ml.learning.loading import load_model

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "build_example_model.py"


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def first_build(tmp_path_factory, demo_video) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One build into an empty folder (demo_video makes sure the video is cached first)."""
    out = tmp_path_factory.mktemp("example") / "model"
    return out, run_script("--out", str(out))


def test_help_names_the_options() -> None:
    text = run_script("--help").stdout
    assert "--out" in text and "--force" in text and "data/example_model" in text


def test_build_writes_bundle_zip_pickle_and_prints_the_bundle_path(first_build) -> None:
    out, result = first_build
    lines = result.stdout.strip().splitlines()
    assert Path(lines[-1]) == out / "arms_raised"
    assert "Example model built" in result.stdout
    assert "ROC AUC" in result.stdout  # the evaluation report
    manifest = json.loads((out / "arms_raised" / "manifest.json").read_text())
    assert manifest["class_labels"] == ["Arms Lowered", "Arms Raised"]
    assert manifest["window"] == {"size": 1, "stride": 3}  # every third frame is classified
    with zipfile.ZipFile(out / "arms_raised.zip") as archive:
        assert sorted(archive.namelist()) == sorted(p.name for p in (out / "arms_raised").iterdir())
    for name in ("arms_raised.pickle", "arms_raised-meta.json", "dataset.csv", "build.json"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "sequences" / "demo.npz").is_file()
    assert {p.name for p in (out / "plots").glob("*.png")} == {
        "confusion_matrix.png",
        "roc_curve.png",
        "feature_importance.png",
    }
    info = json.loads((out / "build.json").read_text())
    assert info["metrics"]["accuracy"] > 0.85 and info["metrics"]["roc_auc"] > 0.9
    for path in (out / "arms_raised", out / "arms_raised.zip", out / "arms_raised.pickle"):
        model = load_model(path)
        assert model.window_size == 1 and len(model.input_columns) == 16


def test_second_run_reuses_the_build_and_force_rebuilds(first_build) -> None:
    out, _ = first_build
    zip_path = out / "arms_raised.zip"
    built_at = zip_path.stat().st_mtime_ns

    again = run_script("--out", str(out), "--quiet")
    assert "up to date, reused" in again.stdout
    assert again.stdout.strip().splitlines()[-1] == str(out / "arms_raised")
    assert zip_path.stat().st_mtime_ns == built_at

    forced = run_script("--out", str(out), "--force", "--quiet")
    assert "Example model built" in forced.stdout
    assert "ROC AUC" not in forced.stdout  # --quiet leaves out the reports
    assert zip_path.stat().st_mtime_ns > built_at
    assert forced.stdout.strip().splitlines()[-1] == str(out / "arms_raised")


def test_a_stale_build_is_rebuilt(first_build) -> None:
    out, _ = first_build
    info_path = out / "build.json"
    info = json.loads(info_path.read_text())
    info["fingerprint"] = "0" * 64  # as if the annotations or the code had changed
    info_path.write_text(json.dumps(info))
    assert "Example model built" in run_script("--out", str(out), "--quiet").stdout
    assert json.loads(info_path.read_text())["fingerprint"] != "0" * 64


@pytest.mark.parametrize("name", ["arms_raised.zip", "arms_raised.pickle"])
def test_the_web_app_accepts_both_files(first_build, tmp_path, name) -> None:
    """POST /set_model (the web app's upload, docs/api.md) takes the bundle zip and the pickle."""
    from api.app import create_app

    out, _ = first_build
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "API_TOKEN": "example-token"})
    with (out / name).open("rb") as upload:
        response = app.test_client().post(
            "/set_model",
            data={"file": (upload, name)},
            headers={"Authorization": "Bearer example-token"},
            content_type="multipart/form-data",
        )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["model"]["classes"] == ["Arms Lowered", "Arms Raised"]
    # the bundle records the stride it is served with (every third frame); the legacy pickle,
    # a format without strides, classifies every frame
    stride = 3 if name.endswith(".zip") else 1
    assert body["active"]["window_size"] == 1 and body["active"]["stride"] == stride
    assert body["warnings"] == []

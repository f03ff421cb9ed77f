"""``STREAM_POSE_ML_ALLOW_PICKLE=0``: a shared server accepts only models that load without
running code (bundles with skops or XGBoost JSON inside), against a real server process."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import requests
from api_server import ApiServer, save_legacy_model

from stream_pose_ml.features import PoseFeatureTransform
from stream_pose_ml.learning.bundle import save_bundle
from stream_pose_ml.learning.synthetic import fit_window_model

pytestmark = pytest.mark.slow

CLOSED = {"STREAM_POSE_ML_ALLOW_PICKLE": "0"}


class Payload:
    """A pickle that creates ``marker`` when it is loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.marker), "w")


def bundle(path: Path, classifier_format: str) -> Path:
    model, spec = fit_window_model(2, seed=3)
    columns = list(PoseFeatureTransform(spec).fit().get_feature_names_out())
    return save_bundle(path, model, columns, feature_spec=spec, classifier_format=classifier_format)


def refused(response: requests.Response) -> str:
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "format_refused"
    return response.json()["error"]["message"]


def test_pickles_and_joblib_are_refused_before_they_are_read(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hostile = tmp_path / "hostile.pickle"
    hostile.write_bytes(pickle.dumps({"classifier": Payload(marker)}))
    with ApiServer(tmp_path / "data", CLOSED) as api:
        assert "STREAM_POSE_ML_ALLOW_PICKLE" in refused(api.upload(hostile))
        assert not marker.exists()
        refused(api.upload(save_legacy_model(tmp_path / "legacy.pkl", window=2)))
        refused(api.upload(bundle(tmp_path / "joblib.zip", "joblib")))
        assert api.get("/models").json() == {"models": [], "active": None}
        ok = api.upload(bundle(tmp_path / "skops.zip", "skops"))
        assert ok.status_code == 200, ok.text
        assert api.get("/models").json()["active"]["model_id"] == ok.json()["model"]["id"]
    assert "Traceback" not in api.log_text()


def test_a_stored_pickle_is_not_loaded_once_pickles_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    legacy = save_legacy_model(tmp_path / "legacy.pkl", window=2)
    with ApiServer(data) as api:  # the default accepts pickles
        model_id = api.upload(legacy).json()["model"]["id"]
    with ApiServer(data, CLOSED) as api:
        ready = api.get("/ready")
        assert ready.status_code == 503  # the active model was not restored
        answer = requests.post(f"{api.url}/models/{model_id}/activate", timeout=30)
        refused(answer)
    assert "model_restore_failed" in api.log_text()

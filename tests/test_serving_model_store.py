"""ModelStore: uploads stored under the data folder, validated, listed, activated, remembered."""

from __future__ import annotations

import io
import json
import pickle
import tarfile
import zipfile
from pathlib import Path

import joblib
import pytest
from api_server import fit_window_model, save_legacy_model
from sklearn.ensemble import HistGradientBoostingClassifier

from stream_pose_ml.features import FeatureSpec
from stream_pose_ml.learning.bundle import save_bundle
from stream_pose_ml.learning.mlflow_tracking import save_mlflow_model
from stream_pose_ml.learning.synthetic import synthetic_dataset
from stream_pose_ml.serving import ArchiveError, ModelStore, ModelStoreError
from stream_pose_ml.serving.model_store import safe_filename


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_legacy_model(tmp_path_factory.mktemp("store") / "window3.pkl", window=3)


def add(store: ModelStore, path: Path, **kwargs):
    with open(path, "rb") as handle:
        return store.add(handle, path.name, **kwargs).record


def test_a_legacy_pickle_is_stored_loaded_and_listed(tmp_path: Path, legacy: Path) -> None:
    store = ModelStore(tmp_path / "models")
    record = add(store, legacy)
    assert (record.format, record.window_size, record.window_stride) == ("legacy-pickle", 3, 1)
    assert record.classes == ["Failure Weight Transfer", "Successful Weight Transfer"]
    assert (tmp_path / "models" / record.id / "window3.pkl").read_bytes() == legacy.read_bytes()
    assert add(store, legacy).id == record.id  # the same bytes again: the same model
    assert [r.id for r in store.records()] == [record.id]
    assert store.load(record.id).window_size == 3
    assert not (tmp_path / "models" / ".incoming").exists()  # no upload left in progress


def test_a_zipped_bundle_in_a_folder_is_extracted(tmp_path: Path) -> None:
    model, spec = fit_window_model(2, seed=3)
    columns = list(spec.columns)
    bundle = save_bundle(tmp_path / "bundle", model, columns, feature_spec=spec, window_stride=2)
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in bundle.rglob("*"):
            out.write(path, Path("my model") / path.relative_to(bundle))
    store = ModelStore(tmp_path / "models")
    record = add(store, archive)
    assert (record.format, record.window_size, record.window_stride) == ("bundle", 2, 2)
    assert record.path == "model/my model"
    assert not (tmp_path / "models" / record.id / "upload.zip").exists()
    active, warnings = store.activate(record.id)
    assert (active.window_size, active.stride, warnings) == (2, 2, [])


def test_uploads_that_are_not_models_are_refused(tmp_path: Path, legacy: Path) -> None:
    store = ModelStore(tmp_path / "models")
    cases = {
        "notes.txt": b"hello",
        "dict.pkl": pickle.dumps({"model": 1}),
        "list.pkl": pickle.dumps([1, 2, 3]),
    }
    for name, data in cases.items():
        with pytest.raises(ModelStoreError) as error:
            store.add(io.BytesIO(data), name)
        assert (error.value.code, error.value.status) == ("not_a_model", 422), name
    with pytest.raises(ModelStoreError) as error:
        store.add(io.BytesIO(b""), "empty.pkl")
    assert error.value.status == 400
    with pytest.raises(ModelStoreError) as error:
        add(store, legacy, max_bytes=1000)
    assert (error.value.code, error.value.status) == ("too_large", 413)
    with pytest.raises(ArchiveError):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("../model.pkl", legacy.read_bytes())
        store.add(io.BytesIO(buffer.getvalue()), "slip.zip")
    assert store.records() == []
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == []  # nothing left over


def test_the_active_model_survives_a_new_store(tmp_path: Path, legacy: Path) -> None:
    store = ModelStore(tmp_path / "models")
    record = add(store, legacy)
    active, warnings = store.activate(record.id, window_size=30, overlap=1)
    assert (active.window_size, active.stride, active.overlap) == (3, 2, 1)
    assert "frame_window_size 30 ignored" in warnings[0]
    with pytest.raises(ModelStoreError) as error:
        store.activate(record.id, overlap=3)
    assert error.value.code == "bad_overlap"
    with pytest.raises(ModelStoreError) as error:
        store.activate("ffffffffffffffff")
    assert (error.value.code, error.value.status) == ("unknown_model", 404)
    again = ModelStore(tmp_path / "models")
    assert again.active().to_dict() == active.to_dict()
    assert again.load(record.id).input_columns == store.load(record.id).input_columns
    (tmp_path / "models" / "active.json").write_text("{not json")
    assert ModelStore(tmp_path / "models").active() is None


def test_pooled_columns_take_the_uploads_window_size(tmp_path: Path) -> None:
    spec = FeatureSpec(window=4, window_mode="pool", decimal_precision=4)
    table, _ = synthetic_dataset(n_videos=2, frames_per_video=30, spec=spec, seed=5)
    labelled = table[table["weight_transfer_type"].notna()]
    model = HistGradientBoostingClassifier(max_iter=5)
    model.fit(labelled[list(spec.columns)], labelled["weight_transfer_type"])
    path = tmp_path / "pooled.pkl"
    path.write_bytes(pickle.dumps({"classifier": model}))
    store = ModelStore(tmp_path / "models")
    with pytest.raises(ModelStoreError) as error:
        add(store, path)
    assert "window" in error.value.message
    record = add(store, path, window_size=4)
    assert record.window_size == 4 and record.feature_spec["window_mode"] == "pool"
    fresh = ModelStore(tmp_path / "models")  # the spec is remembered in meta.json
    assert fresh.load(record.id).feature_transform().spec_.window == 4
    meta = json.loads((tmp_path / "models" / record.id / "meta.json").read_text())
    assert meta["feature_spec"]["window"] == 4


def test_safe_filenames() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\models\\my model (1).pkl") == "my_model_1_.pkl"
    assert safe_filename("...") == "model"
    assert safe_filename(None) == "model"
    assert len(safe_filename("a" * 500)) == 100


def test_an_mlflow_model_as_tar_gz_and_a_bare_joblib_estimator(tmp_path: Path) -> None:
    model, spec = fit_window_model(2, seed=8)
    folder = save_mlflow_model(
        model, tmp_path / "mlflow_model", input_columns=list(spec.columns), feature_spec=spec
    )
    archive = tmp_path / "mlflow_model.tar.gz"
    with tarfile.open(archive, "w:gz") as out:
        out.add(folder, arcname="mlflow_model")
    joblib.dump(model, tmp_path / "bare.joblib")
    store = ModelStore(tmp_path / "models")
    mlflow = add(store, archive)
    assert (mlflow.format, mlflow.window_size, mlflow.path) == ("mlflow", 2, "model/mlflow_model")
    bare = add(store, tmp_path / "bare.joblib")
    assert (bare.format, bare.window_size) == ("joblib", 2)
    assert store.load(mlflow.id).input_columns == store.load(bare.id).input_columns


def test_a_new_store_keeps_other_processes_uploads_in_progress(tmp_path: Path) -> None:
    """Replicas and workers share the folder: a starting one removes only abandoned uploads."""
    import os
    import time

    incoming = tmp_path / "models" / ".incoming"
    (incoming / "in-progress").mkdir(parents=True)
    (incoming / "abandoned").mkdir()
    old = time.time() - 2 * 3600
    os.utime(incoming / "abandoned", (old, old))
    ModelStore(tmp_path / "models")
    assert sorted(p.name for p in incoming.iterdir()) == ["in-progress"]
    (incoming / "in-progress").rmdir()
    ModelStore(tmp_path / "models")
    assert not incoming.exists()

"""MLflow tracking: the default SQLite store, logged runs, logged models and the registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pytest
import xgboost
from mlflow.models import Model

from stream_pose_ml.errors import ModelLoadError
from stream_pose_ml.features import FeatureSpec
from stream_pose_ml.learning import load_model
from stream_pose_ml.learning import model_builder as mb
from stream_pose_ml.learning.mlflow_tracking import (
    configure_tracking,
    default_tracking_uri,
    log_training_run,
)
from stream_pose_ml.learning.synthetic import CLASS_LABELS, VALUE_MAP, synthetic_dataset

TARGET = "weight_transfer_type"
MODEL_NAME = "spml-test-classifier"


@contextmanager
def restored_tracking_uri() -> Iterator[None]:
    """Leave MLflow's process-wide tracking URI as it was (set or unset)."""
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A ModelBuilder run logged and registered in a fresh default store."""
    data_dir = tmp_path_factory.mktemp("mlflow") / "data"
    with restored_tracking_uri(), pytest.MonkeyPatch.context() as patch:
        patch.setenv("STREAM_POSE_ML_DATA", str(data_dir))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        table, _ = synthetic_dataset(n_videos=8, frames_per_video=30, seed=21)
        builder = mb.ModelBuilder(n_jobs=1, verbose=False)
        builder.load_and_prep_dataset(
            table, target=TARGET, value_map=VALUE_MAP, drop_list=["step_type"]
        )
        builder.set_train_test_split(random_state=0)
        builder.train_random_forest(params={"n_estimators": 20})
        builder.evaluate_model(cv_splits=3)
        mlflow.set_tracking_uri(None)  # nothing set: the default store in the data folder
        run = builder.log_to_mlflow(register_as=MODEL_NAME)
        yield {"data_dir": data_dir, "builder": builder, "run": run}


def test_default_store_is_sqlite_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAM_POSE_ML_DATA", str(tmp_path / "d"))
    assert default_tracking_uri() == f"sqlite:///{tmp_path / 'd' / 'mlflow.db'}"
    monkeypatch.delenv("STREAM_POSE_ML_DATA")
    monkeypatch.chdir(tmp_path)
    assert default_tracking_uri() == f"sqlite:///{tmp_path / 'data' / 'mlflow.db'}"


def test_tracking_uri_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with restored_tracking_uri():
        mlflow.set_tracking_uri(None)
        monkeypatch.setenv("STREAM_POSE_ML_DATA", str(tmp_path / "d"))
        monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
        assert configure_tracking() == "http://127.0.0.1:1"
        monkeypatch.delenv("MLFLOW_TRACKING_URI")
        assert configure_tracking() == default_tracking_uri()  # nothing set: the default
        assert (tmp_path / "d").is_dir()
        explicit = f"sqlite:///{tmp_path / 'other.db'}"
        assert configure_tracking(explicit) == explicit == mlflow.get_tracking_uri()
        assert configure_tracking() == explicit  # a URI set in this process is kept


def test_run_has_params_metrics_plots_and_spec(tracked: dict[str, Any]) -> None:
    run, builder, data_dir = tracked["run"], tracked["builder"], tracked["data_dir"]
    assert run.tracking_uri == f"sqlite:///{data_dir / 'mlflow.db'}"
    assert (data_dir / "mlflow.db").is_file()
    client = mlflow.MlflowClient(tracking_uri=run.tracking_uri)
    logged = client.get_run(run.run_id)
    assert logged.data.params["model.n_estimators"] == "20"
    assert logged.data.params["split.grouped_by_video"] == "True"
    assert logged.data.params["target"] == TARGET
    assert logged.data.metrics["accuracy"] == pytest.approx(builder.report.accuracy)
    assert logged.data.metrics["roc_auc"] == pytest.approx(builder.report.roc_auc)
    assert "cv_accuracy_mean" in logged.data.metrics
    plots = {a.path for a in client.list_artifacts(run.run_id, "plots")}
    assert plots == {
        "plots/confusion_matrix.png",
        "plots/roc_curve.png",
        "plots/feature_importance.png",
    }
    spec_file = mlflow.artifacts.download_artifacts(
        run_id=run.run_id, artifact_path="feature_spec.json", tracking_uri=run.tracking_uri
    )
    assert FeatureSpec.from_json(Path(spec_file).read_text()) == builder.feature_spec
    experiment = client.get_experiment(run.experiment_id)
    assert experiment.artifact_location == (data_dir / "mlartifacts" / "stream_pose_ml").as_uri()


def test_logged_model_has_signature_example_and_spec(
    tracked: dict[str, Any], tmp_path: Path
) -> None:
    run, builder = tracked["run"], tracked["builder"]
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=run.model_uri, dst_path=str(tmp_path), tracking_uri=run.tracking_uri
        )
    )
    model = Model.load(str(local / "MLmodel"))
    assert model.signature.inputs.input_names() == list(builder.X_train.columns)
    assert {c.type.name for c in model.signature.inputs.inputs} == {"double"}
    assert (local / "input_example.json").is_file()
    spec = json.loads((local / "extra_files" / "feature_spec.json").read_text())
    assert FeatureSpec.from_dict(spec) == builder.feature_spec
    meta = model.metadata["stream_pose_ml"]
    assert meta["class_labels"] == [CLASS_LABELS[0], CLASS_LABELS[1]]
    assert model.flavors["sklearn"]["serialization_format"] == "skops"


def test_registered_model_loads_by_name_and_version(tracked: dict[str, Any]) -> None:
    run, builder = tracked["run"], tracked["builder"]
    assert run.registered_version == 1
    assert run.registered_model_uri == f"models:/{MODEL_NAME}/1"
    loaded = load_model(run.registered_model_uri, tracking_uri=run.tracking_uri)
    X = builder.X_test
    assert loaded.format == "mlflow"
    assert loaded.input_columns == tuple(builder.X_train.columns)
    assert loaded.feature_spec == builder.feature_spec
    assert loaded.class_labels == CLASS_LABELS
    assert np.array_equal(loaded.predict(X), builder.model.predict(X))
    assert np.array_equal(loaded.predict_proba(X), builder.model.predict_proba(X))
    # the run's own model URI gives the same model
    by_run = load_model(run.model_uri, tracking_uri=run.tracking_uri)
    assert np.array_equal(by_run.predict(X), builder.model.predict(X))


def test_new_registration_is_a_new_version(tracked: dict[str, Any]) -> None:
    run, builder = tracked["run"], tracked["builder"]
    booster = xgboost.XGBClassifier(n_estimators=10, max_depth=2, n_jobs=1)
    booster.fit(builder.X_train, builder.y_train)
    second = log_training_run(
        booster,
        input_columns=list(builder.X_train.columns),
        params={"n_estimators": 10, "grid": [1, 2]},
        metrics={"accuracy": 0.5, "roc_auc": float("nan")},  # NaN metrics are skipped
        feature_spec=builder.feature_spec,
        input_example=builder.X_test.head(2),
        register_as=MODEL_NAME,
        tracking_uri=run.tracking_uri,
    )
    assert second.registered_version == 2
    logged = mlflow.MlflowClient(tracking_uri=run.tracking_uri).get_run(second.run_id)
    assert "roc_auc" not in logged.data.metrics and logged.data.params["grid"] == "[1, 2]"
    loaded = load_model(f"models:/{MODEL_NAME}/2", tracking_uri=run.tracking_uri)
    X = builder.X_test
    assert type(loaded.estimator).__name__ == "XGBClassifier"
    assert np.array_equal(loaded.predict_proba(X), booster.predict_proba(X))


def test_unknown_registered_model(tracked: dict[str, Any]) -> None:
    with pytest.raises(ModelLoadError, match="cannot download the model"):
        load_model("models:/no-such-model/1", tracking_uri=tracked["run"].tracking_uri)


def test_log_without_registration_to_another_sqlite_store(
    tracked: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    builder = tracked["builder"]
    uri = f"sqlite:///{tmp_path / 'store' / 'runs.db'}"
    with restored_tracking_uri():
        plain = log_training_run(
            builder.model,
            input_columns=list(builder.X_train.columns),
            tracking_uri=uri,
            experiment="another",
        )
    assert plain.registered_version is None and plain.registered_model_uri is None
    assert plain.tracking_uri == uri
    experiment = mlflow.MlflowClient(tracking_uri=uri).get_experiment(plain.experiment_id)
    assert experiment.name == "another"
    # artifacts sit next to the database, not in ./mlruns of the working directory
    assert experiment.artifact_location == (tmp_path / "store" / "mlartifacts" / "another").as_uri()
    assert (tmp_path / "store" / "mlartifacts" / "another").is_dir()
    assert not (tmp_path / "mlruns").exists()

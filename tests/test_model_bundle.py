"""Model bundles: round trips in every classifier format, the manifest, and broken bundles."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io
import xgboost
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import stream_pose_ml
from stream_pose_ml.errors import FeatureSpecError, ModelLoadError, TrainingDataError
from stream_pose_ml.features import FeatureSpec, is_feature_column
from stream_pose_ml.learning import load_model
from stream_pose_ml.learning.bundle import (
    BUNDLE_VERSION,
    MANIFEST_NAME,
    load_bundle,
    read_manifest,
    save_bundle,
)
from stream_pose_ml.learning.synthetic import CLASS_LABELS, VALUE_MAP, synthetic_dataset

TARGET = "weight_transfer_type"


class ThresholdClassifier(ClassifierMixin, BaseEstimator):
    """A classifier from outside scikit-learn: class 1 when one column exceeds a threshold."""

    def __init__(self, column: int = 0, threshold: float = 0.0) -> None:
        self.column = column
        self.threshold = threshold

    def fit(self, X: pd.DataFrame, y: Any) -> ThresholdClassifier:
        self.classes_ = np.unique(y)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        return (np.asarray(X)[:, self.column] > self.threshold).astype(np.int64)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    spec = FeatureSpec(window=3, decimal_precision=4)
    table, _ = synthetic_dataset(n_videos=8, frames_per_video=30, spec=spec, seed=11)
    table = table.dropna(subset=[TARGET])
    columns = [c for c in table.columns if is_feature_column(c)]
    y = table[TARGET].map(VALUE_MAP[TARGET]).to_numpy()
    train = table["video_id"] < "video_06"
    X = table[columns]
    return {
        "spec": spec,
        "columns": columns,
        "X_train": X[train],
        "y_train": y[train.to_numpy()],
        "X_test": X[~train],
    }


@pytest.fixture(scope="module")
def models(data: dict[str, Any]) -> dict[str, Any]:
    X, y = data["X_train"], data["y_train"]
    return {
        "forest": RandomForestClassifier(n_estimators=20, random_state=0, n_jobs=1).fit(X, y),
        "xgboost": xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1).fit(X, y),
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y),
    }


def bundle(path: Path, model: Any, data: dict[str, Any], **kwargs: Any) -> Path:
    return save_bundle(
        path,
        model,
        data["columns"],
        feature_spec=data["spec"],
        value_map=VALUE_MAP[TARGET],
        target=TARGET,
        metrics={"accuracy": 0.97, "roc_auc": np.float64(0.99)},
        notes="test bundle",
        input_example=data["X_test"].head(3),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("model_name", "classifier_format"),
    [
        ("forest", "skops"),
        ("forest", "joblib"),
        ("forest", "pickle"),
        ("logreg", "skops"),
        ("xgboost", "xgboost-json"),
        ("forest", "mlflow"),
        ("xgboost", "mlflow"),
    ],
)
@pytest.mark.parametrize("as_zip", [False, True])
def test_round_trip_gives_identical_predictions(
    tmp_path: Path,
    data: dict[str, Any],
    models: dict[str, Any],
    model_name: str,
    classifier_format: str,
    as_zip: bool,
) -> None:
    model = models[model_name]
    target = tmp_path / ("bundle.zip" if as_zip else "bundle")
    path = bundle(target, model, data, classifier_format=classifier_format)
    assert path == target and (path.is_file() if as_zip else path.is_dir())
    loaded = load_model(path)
    X = data["X_test"]
    assert loaded.format == "bundle"
    assert loaded.input_columns == tuple(data["columns"])
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.classes == (0, 1)
    assert loaded.class_labels == CLASS_LABELS
    assert loaded.feature_spec == data["spec"]
    assert loaded.window_size == 3 and loaded.window_stride == 1
    assert loaded.metrics == {"accuracy": 0.97, "roc_auc": 0.99}
    # load_bundle is the same loader for bundles
    assert np.array_equal(load_bundle(path).predict(X), model.predict(X))


def test_manifest_records_what_the_server_needs(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any]
) -> None:
    path = bundle(tmp_path / "b", models["forest"], data, window_stride=2)
    raw = json.loads((path / MANIFEST_NAME).read_text())
    assert raw["bundle_version"] == BUNDLE_VERSION == 1
    assert raw["classifier"]["format"] == "skops"  # the default for scikit-learn models
    assert (path / raw["classifier"]["file"]).is_file()
    assert raw["classifier"]["class"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert raw["input_columns"] == data["columns"]
    assert raw["classes"] == [0, 1]
    assert raw["class_labels"] == ["Failure Weight Transfer", "Successful Weight Transfer"]
    assert raw["value_map"] == VALUE_MAP[TARGET] and raw["target"] == TARGET
    assert raw["window"] == {"size": 3, "stride": 2}
    assert FeatureSpec.from_dict(raw["feature_spec"]) == data["spec"]
    assert raw["metrics"]["roc_auc"] == 0.99
    assert datetime.fromisoformat(raw["created_at"]).tzinfo is not None
    assert raw["package_version"] == stream_pose_ml.__version__
    assert raw["notes"] == "test bundle"
    assert "scikit-learn" in raw["library_versions"]
    assert read_manifest(path).input_columns == tuple(data["columns"])


def test_xgboost_default_format_is_its_json(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any]
) -> None:
    path = bundle(tmp_path / "b", models["xgboost"], data)
    manifest = read_manifest(path)
    assert manifest.classifier_format == "xgboost-json"
    assert json.loads((path / manifest.classifier_file).read_text())["learner"]


def test_spec_read_from_columns_when_not_given(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any]
) -> None:
    path = save_bundle(tmp_path / "b", models["forest"], data["columns"])
    loaded = load_bundle(path)
    assert loaded.feature_spec is not None
    assert loaded.feature_spec.window == 3
    assert loaded.class_labels == {0: "0", 1: "1"}


def test_columns_the_spec_does_not_make_are_refused_on_save(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any]
) -> None:
    other_spec = FeatureSpec(window=3, normalized=False)  # no norm_* columns
    with pytest.raises(FeatureSpecError, match="not made by the feature spec"):
        bundle(tmp_path / "b", models["forest"], data | {"spec": other_spec})


def test_columns_in_another_order_than_the_model_are_refused(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any]
) -> None:
    with pytest.raises(TrainingDataError, match="training order"):
        bundle(tmp_path / "b", models["forest"], data | {"columns": data["columns"][::-1]})


def test_existing_path_needs_overwrite(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any]
) -> None:
    path = bundle(tmp_path / "b", models["forest"], data)
    with pytest.raises(FileExistsError, match="overwrite"):
        bundle(path, models["forest"], data)
    bundle(path, models["logreg"], data, overwrite=True)
    assert "Pipeline" in read_manifest(path).classifier_class


def test_missing_classifier_file(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any]
) -> None:
    path = bundle(tmp_path / "b", models["forest"], data)
    (path / "classifier.skops").unlink()
    with pytest.raises(ModelLoadError, match=r"classifier\.skops.*missing"):
        load_model(path)


def test_unknown_bundle_version(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any]
) -> None:
    path = bundle(tmp_path / "b", models["forest"], data)
    manifest = json.loads((path / MANIFEST_NAME).read_text())
    manifest["bundle_version"] = 2
    (path / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="bundle_version 2 is not supported"):
        load_model(path)


def test_manifest_spec_that_does_not_make_the_columns(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any]
) -> None:
    path = bundle(tmp_path / "b", models["forest"], data)
    manifest = json.loads((path / MANIFEST_NAME).read_text())
    manifest["feature_spec"]["window"] = 2  # the columns say __t00..__t02
    (path / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="not made by the feature spec"):
        load_model(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["classifier"].update(format="onnx"), "unknown classifier format 'onnx'"),
        (lambda m: m.update(input_columns=[]), "input_columns"),
        (lambda m: m.update(window={"size": 0, "stride": 1}), "window size"),
        (lambda m: m.update(class_labels=["only one"]), "class_labels"),
    ],
)
def test_invalid_manifest_entries(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any], edit: Any, message: str
) -> None:
    path = bundle(tmp_path / "b", models["forest"], data)
    manifest = json.loads((path / MANIFEST_NAME).read_text())
    edit(manifest)
    (path / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match=message):
        load_model(path)


def test_manifest_that_is_not_json(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any]
) -> None:
    path = bundle(tmp_path / "b", models["forest"], data)
    (path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_model(path)


def test_classifier_that_no_longer_matches_the_manifest_columns(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any]
) -> None:
    path = bundle(tmp_path / "b", models["forest"], data)
    manifest = json.loads((path / MANIFEST_NAME).read_text())
    manifest["input_columns"] = manifest["input_columns"][1:] + manifest["input_columns"][:1]
    (path / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="fitted on other columns"):
        load_model(path)


def test_foreign_classes_use_joblib_and_skops_refuses_them(
    tmp_path: Path, data: dict[str, Any]
) -> None:
    model = ThresholdClassifier(
        column=data["columns"].index("angle_left_elbow__t02"), threshold=130.0
    ).fit(data["X_train"], data["y_train"])
    with pytest.raises(ModelLoadError, match="ThresholdClassifier"):
        bundle(tmp_path / "refused", model, data, classifier_format="skops")
    path = bundle(tmp_path / "b", model, data)
    assert read_manifest(path).classifier_format == "joblib"
    assert np.array_equal(load_model(path).predict(data["X_test"]), model.predict(data["X_test"]))

    # a skops file holding the foreign class loads only when the caller trusts it, never
    # because the manifest says so
    skops.io.dump(model, path / "classifier.skops")
    manifest = json.loads((path / MANIFEST_NAME).read_text())
    type_name = f"{ThresholdClassifier.__module__}.ThresholdClassifier"
    manifest["classifier"].update(
        format="skops", file="classifier.skops", trusted_types=[type_name]
    )
    (path / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="trusted_types"):
        load_model(path)
    trusted = load_model(path, trusted_types=[type_name])
    assert np.array_equal(trusted.predict(data["X_test"]), model.predict(data["X_test"]))


def test_zip_with_unsafe_member_is_refused(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any]
) -> None:
    path = bundle(tmp_path / "b.zip", models["forest"], data)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("../escape.txt", "x")
    with pytest.raises(ModelLoadError, match="unsafe path"):
        load_model(path)
    assert not (tmp_path / "escape.txt").exists()


def test_zip_of_the_bundle_folder_itself(
    tmp_path: Path, data: dict[str, Any], models: dict[str, Any]
) -> None:
    folder = bundle(tmp_path / "my_model", models["forest"], data)
    archive = shutil.make_archive(str(tmp_path / "zipped"), "zip", tmp_path, "my_model")
    loaded = load_model(archive)
    assert np.array_equal(loaded.predict(data["X_test"]), models["forest"].predict(data["X_test"]))
    assert loaded.source == archive
    assert folder.is_dir()


def test_pooled_columns_need_the_window_size(tmp_path: Path) -> None:
    spec = FeatureSpec(window=5, window_mode="pool", normalized=False)
    table, _ = synthetic_dataset(n_videos=3, frames_per_video=20, spec=spec, seed=2)
    table = table.dropna(subset=[TARGET])
    columns = [c for c in table.columns if is_feature_column(c)]
    model = RandomForestClassifier(n_estimators=5, random_state=0, n_jobs=1)
    model.fit(table[columns], table[TARGET])
    with pytest.raises(FeatureSpecError, match="window"):
        save_bundle(tmp_path / "no-window", model, columns)
    with pytest.raises(FeatureSpecError, match="differs from the feature spec's window"):
        save_bundle(tmp_path / "wrong", model, columns, feature_spec=spec, window_size=4)
    loaded = load_model(save_bundle(tmp_path / "b", model, columns, window_size=5))
    assert loaded.feature_spec == spec and loaded.window_size == 5
    assert loaded.classes == tuple(sorted(CLASS_LABELS.values()))  # text classes work too
    assert np.array_equal(loaded.predict(table[columns]), model.predict(table[columns]))

"""load_model: legacy pickles, bare estimators, MLflow models, and the predictor interface."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path
from typing import Any

import joblib
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import RidgeClassifier
from sklearn.preprocessing import StandardScaler

from stream_pose_ml.errors import FeatureSpecError, ModelLoadError
from stream_pose_ml.features import FeatureSpec, PoseFeatureTransform, is_feature_column
from stream_pose_ml.features.windows import sliding_windows
from stream_pose_ml.learning import LoadedModel, load_model
from stream_pose_ml.learning.mlflow_tracking import save_mlflow_model
from stream_pose_ml.learning.synthetic import CLASS_LABELS, VALUE_MAP, synthetic_dataset

TARGET = "weight_transfer_type"
WINDOW = 4


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    spec = FeatureSpec(window=WINDOW, normalized=False, decimal_precision=4)
    table, sequences = synthetic_dataset(n_videos=8, frames_per_video=30, spec=spec, seed=5)
    labelled = table.dropna(subset=[TARGET])
    columns = [c for c in table.columns if is_feature_column(c)]
    train = labelled["video_id"] < "video_06"
    return {
        "spec": spec,
        "table": table,
        "sequences": sequences,
        "columns": columns,
        "X_train": labelled.loc[train, columns],
        "y_train": labelled.loc[train, TARGET].map(VALUE_MAP[TARGET]).to_numpy(),
        "X_test": labelled.loc[~train, columns],
    }


@pytest.fixture(scope="module")
def forest(data: dict[str, Any]) -> RandomForestClassifier:
    model = RandomForestClassifier(n_estimators=20, random_state=0, n_jobs=1)
    return model.fit(data["X_train"], data["y_train"])


def write_pickle(path: Path, obj: Any) -> Path:
    with path.open("wb") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def assert_same_predictions(loaded: LoadedModel, model: Any, X: pd.DataFrame) -> None:
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


# -- legacy pickles -------------------------------------------------------------------------
def test_legacy_pickle_columns_from_the_model(
    tmp_path: Path, data: dict[str, Any], forest: RandomForestClassifier
) -> None:
    path = write_pickle(tmp_path / "model.pickle", {"classifier": forest})
    loaded = load_model(path)
    assert loaded.format == "legacy-pickle"
    assert loaded.input_columns == tuple(data["columns"])
    assert loaded.classes == (0, 1)
    assert_same_predictions(loaded, forest, data["X_test"])
    # the feature spec comes from the self-describing column names
    assert loaded.feature_spec == data["spec"]
    assert loaded.window_size == WINDOW


def test_legacy_pickle_columns_from_saved_training_data(
    tmp_path: Path, data: dict[str, Any]
) -> None:
    X_train = data["X_train"]
    model = RandomForestClassifier(n_estimators=10, random_state=0, n_jobs=1)
    model.fit(X_train.to_numpy(), data["y_train"])  # no feature_names_in_
    legacy = {"classifier": model, "X_test": data["X_test"], "X_train": X_train, "accuracy": 0.9}
    loaded = load_model(write_pickle(tmp_path / "model.pickle", legacy))
    assert loaded.input_columns == tuple(data["columns"])
    assert loaded.metrics == {"accuracy": 0.9}
    expected = model.predict(data["X_test"].to_numpy())
    assert np.array_equal(loaded.predict(data["X_test"]), expected)
    assert loaded.feature_spec == data["spec"]


def test_legacy_pickle_without_any_column_source(tmp_path: Path, data: dict[str, Any]) -> None:
    model = RandomForestClassifier(n_estimators=5, random_state=0, n_jobs=1)
    model.fit(data["X_train"].to_numpy(), data["y_train"])
    path = write_pickle(tmp_path / "model.pickle", {"classifier": model})
    with pytest.raises(ModelLoadError, match="cannot tell the model's input columns"):
        load_model(path)


def test_legacy_pickle_whose_columns_do_not_fit_the_model(
    tmp_path: Path, data: dict[str, Any]
) -> None:
    model = RandomForestClassifier(n_estimators=5, random_state=0, n_jobs=1)
    model.fit(data["X_train"].to_numpy(), data["y_train"])
    legacy = {"classifier": model, "X_test": data["X_test"].iloc[:, :10]}
    with pytest.raises(ModelLoadError, match="10 columns but the classifier takes"):
        load_model(write_pickle(tmp_path / "model.pickle", legacy))


def test_legacy_pickle_with_a_classifier_without_predict(tmp_path: Path) -> None:
    path = write_pickle(tmp_path / "model.pickle", {"classifier": StandardScaler()})
    with pytest.raises(ModelLoadError, match="has no predict method"):
        load_model(path)


def test_pickled_dict_without_classifier(tmp_path: Path, forest: RandomForestClassifier) -> None:
    path = write_pickle(tmp_path / "model.pickle", {"model": forest})
    with pytest.raises(ModelLoadError, match="no 'classifier' entry"):
        load_model(path)


def test_legacy_pickle_as_joblib(
    tmp_path: Path, data: dict[str, Any], forest: RandomForestClassifier
) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump({"classifier": forest, "value_map": VALUE_MAP[TARGET]}, path, compress=3)
    loaded = load_model(path)
    assert loaded.format == "legacy-joblib"
    assert loaded.class_labels == CLASS_LABELS
    assert loaded.label(loaded.predict(data["X_test"].head(2))) == [
        CLASS_LABELS[int(v)] for v in forest.predict(data["X_test"].head(2))
    ]


def test_legacy_pickle_with_the_original_per_column_value_map(
    tmp_path: Path, forest: RandomForestClassifier
) -> None:
    legacy = {"classifier": forest, "target": TARGET, "value_map": VALUE_MAP}
    assert load_model(write_pickle(tmp_path / "a.pickle", legacy)).class_labels == CLASS_LABELS
    untargeted = {"classifier": forest, "value_map": VALUE_MAP}  # no target: no names, no error
    loaded = load_model(write_pickle(tmp_path / "b.pickle", untargeted))
    assert loaded.class_labels == {}
    assert loaded.label([1]) == ["1"]


# -- bare estimators ------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["pickle", "joblib", "joblib-compressed"])
def test_bare_estimator(
    tmp_path: Path, data: dict[str, Any], forest: RandomForestClassifier, how: str
) -> None:
    path = tmp_path / ("model.pkl" if how == "pickle" else "model.joblib")
    if how == "pickle":
        write_pickle(path, forest)
    else:
        joblib.dump(forest, path, compress=3 if how == "joblib-compressed" else 0)
    loaded = load_model(path)
    assert loaded.format == ("pickle" if how == "pickle" else "joblib")
    assert loaded.input_columns == tuple(data["columns"])
    assert loaded.feature_spec == data["spec"]
    assert_same_predictions(loaded, forest, data["X_test"])


def test_bare_xgboost_estimator(tmp_path: Path, data: dict[str, Any]) -> None:
    model = xgboost.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1)
    model.fit(data["X_train"], data["y_train"])
    loaded = load_model(write_pickle(tmp_path / "xgb.pkl", model))
    assert loaded.input_columns == tuple(data["columns"])
    assert_same_predictions(loaded, model, data["X_test"])


def test_bare_estimator_fitted_without_column_names(tmp_path: Path, data: dict[str, Any]) -> None:
    model = RandomForestClassifier(n_estimators=5, random_state=0, n_jobs=1)
    model.fit(data["X_train"].to_numpy(), data["y_train"])
    with pytest.raises(ModelLoadError, match="fitted without column names"):
        load_model(write_pickle(tmp_path / "model.pkl", model))


@pytest.mark.parametrize("obj", [StandardScaler(), [1, 2, 3], "a string"])
def test_pickle_of_something_without_predict(tmp_path: Path, obj: Any) -> None:
    with pytest.raises(ModelLoadError, match="no predict method"):
        load_model(write_pickle(tmp_path / "thing.pkl", obj))


def test_file_that_is_not_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"this is not a pickle")
    with pytest.raises(ModelLoadError, match="not a readable pickle or joblib file"):
        load_model(path)


def test_missing_path_and_unknown_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no such model file"):
        load_model(tmp_path / "nothing.pkl")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ModelLoadError, match="neither a model bundle"):
        load_model(tmp_path / "folder")


# -- MLflow models --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mlflow_dir(
    tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any], forest: RandomForestClassifier
) -> Path:
    path = tmp_path_factory.mktemp("mlflow") / "model"
    return save_mlflow_model(
        forest,
        path,
        input_columns=data["columns"],
        input_example=data["X_test"].head(3),
        feature_spec=data["spec"],
        class_labels=[CLASS_LABELS[0], CLASS_LABELS[1]],
    )


def test_mlflow_directory_and_zip(
    tmp_path: Path, mlflow_dir: Path, data: dict[str, Any], forest: RandomForestClassifier
) -> None:
    assert (mlflow_dir / "extra_files" / "feature_spec.json").is_file()
    archive = Path(shutil.make_archive(str(tmp_path / "model"), "zip", mlflow_dir))
    for path in (mlflow_dir, archive):
        loaded = load_model(path)
        assert loaded.format == "mlflow"
        assert loaded.input_columns == tuple(data["columns"])
        assert loaded.feature_spec == data["spec"]
        assert loaded.class_labels == CLASS_LABELS
        assert_same_predictions(loaded, forest, data["X_test"])


def test_mlflow_pyfunc_gives_the_same_predictions(
    mlflow_dir: Path, data: dict[str, Any], forest: RandomForestClassifier
) -> None:
    import mlflow.pyfunc

    # MLflow itself needs the pickle switch for scikit-learn models; load_model does not.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
        pyfunc = mlflow.pyfunc.load_model(str(mlflow_dir))
    rows = data["X_test"].astype(np.float64)
    assert np.array_equal(np.asarray(pyfunc.predict(rows)), forest.predict(rows))


def test_mlflow_model_without_signature(
    tmp_path: Path, data: dict[str, Any], forest: RandomForestClassifier
) -> None:
    path = tmp_path / "unsigned"
    mlflow.sklearn.save_model(
        forest,
        str(path),
        serialization_format="skops",
        skops_trusted_types=["sklearn.tree._tree.Tree"],
        pip_requirements=["scikit-learn"],  # skips MLflow's slow requirement inference
    )
    with pytest.raises(ModelLoadError, match="no signature"):
        load_model(path)


def test_mlflow_model_whose_spec_does_not_make_the_columns(
    tmp_path: Path, data: dict[str, Any], forest: RandomForestClassifier
) -> None:
    with pytest.raises(FeatureSpecError, match="does not produce"):
        PoseFeatureTransform(FeatureSpec(window=2), columns=data["columns"]).fit()
    path = save_mlflow_model(
        forest,
        tmp_path / "mismatch",
        input_columns=data["columns"],
        feature_spec=FeatureSpec(window=WINDOW, angles=False),  # the columns hold angles
    )
    with pytest.raises(ModelLoadError, match="not made by the feature spec"):
        load_model(path)


# -- the predictor interface and the feature transform --------------------------------------
def test_transform_rebuilds_the_training_features(
    tmp_path: Path, data: dict[str, Any], forest: RandomForestClassifier
) -> None:
    """Live windows through ``model.feature_transform()`` give the dataset's rows and
    predictions."""
    loaded = load_model(write_pickle(tmp_path / "model.pickle", {"classifier": forest}))
    transform = loaded.feature_transform()
    assert list(transform.get_feature_names_out()) == list(loaded.input_columns)
    video = data["table"][data["table"]["video_id"] == "video_07"]
    sequence = data["sequences"]["video_07"]
    windows = sliding_windows(sequence, loaded.window_size)
    rows = transform.with_input(image_size=sequence.image_size).transform(windows)
    expected = video[list(loaded.input_columns)].to_numpy()
    assert np.array_equal(rows, expected, equal_nan=True)
    assert np.array_equal(loaded.predict(rows), forest.predict(video[list(loaded.input_columns)]))


def test_transform_keeps_a_column_subset_in_model_order(
    tmp_path: Path, data: dict[str, Any]
) -> None:
    columns = [c for c in data["columns"] if c.startswith("angle_")][::-1]
    model = RandomForestClassifier(n_estimators=5, random_state=0, n_jobs=1)
    model.fit(data["X_train"][columns], data["y_train"])
    loaded = load_model(write_pickle(tmp_path / "model.pickle", model))
    sequence = data["sequences"]["video_07"]
    rows = (
        loaded.feature_transform()
        .with_input(image_size=sequence.image_size)
        .transform(sliding_windows(sequence, WINDOW))
    )
    video = data["table"][data["table"]["video_id"] == "video_07"]
    assert np.array_equal(rows, video[columns].to_numpy(), equal_nan=True)


def test_columns_that_describe_no_feature_spec(tmp_path: Path, data: dict[str, Any]) -> None:
    X = data["X_train"].rename(columns=lambda c: f"f_{c}")
    model = RandomForestClassifier(n_estimators=5, random_state=0, n_jobs=1)
    model.fit(X, data["y_train"])
    path = write_pickle(tmp_path / "model.pickle", model)
    loaded = load_model(path)  # still predicts on rows
    assert loaded.feature_spec is None
    assert np.array_equal(loaded.predict(X.head(3)), model.predict(X.head(3)))
    with pytest.raises(ModelLoadError, match="cannot rebuild the feature transform"):
        loaded.feature_transform()
    with pytest.raises(ModelLoadError, match="do not describe a feature spec"):
        load_model(path, require_feature_spec=True)


def test_rows_in_every_accepted_shape(
    tmp_path: Path, data: dict[str, Any], forest: RandomForestClassifier
) -> None:
    loaded = load_model(write_pickle(tmp_path / "model.pickle", {"classifier": forest}))
    X = data["X_test"].head(5)
    expected = forest.predict(X)
    shuffled = X[X.columns[::-1]].assign(video_id="extra column")
    assert np.array_equal(loaded.predict(shuffled), expected)
    assert np.array_equal(loaded.predict(X.to_numpy()), expected)
    assert np.array_equal(loaded.predict(X.to_dict("records")), expected)
    assert np.array_equal(loaded.predict(X.iloc[0].to_dict()), expected[:1])
    assert np.array_equal(loaded.predict(X.to_numpy()[0]), expected[:1])
    with pytest.raises(FeatureSpecError, match="lack 1 of the model's input columns"):
        loaded.predict(X.drop(columns=[X.columns[3]]))
    with pytest.raises(FeatureSpecError, match="takes"):
        loaded.predict(X.to_numpy()[:, :-1])


def test_predict_proba_of_a_model_without_it(tmp_path: Path, data: dict[str, Any]) -> None:
    model = RidgeClassifier().fit(data["X_train"], data["y_train"])
    loaded = load_model(write_pickle(tmp_path / "ridge.pkl", model))
    assert not loaded.has_predict_proba
    assert np.array_equal(loaded.predict(data["X_test"]), model.predict(data["X_test"]))
    with pytest.raises(ModelLoadError, match="no predict_proba"):
        loaded.predict_proba(data["X_test"])

"""The training steps as plain functions, called without ModelBuilder: the builder's results.

Each test runs one step through its function and through the ModelBuilder method that wraps it,
on the same synthetic table (real feature transform, per-video bodies, the elbow angle as the
signal), and asserts the two give the same rows, parameters, predictions and files.
"""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from stream_pose_ml.errors import TrainingDataError
from stream_pose_ml.learning.estimators import MODEL_TYPES, make_estimator, require_class_numbers
from stream_pose_ml.learning.evaluation import EvaluationReport
from stream_pose_ml.learning.loading import load_model
from stream_pose_ml.learning.model_builder import ModelBuilder
from stream_pose_ml.learning.saving import (
    TrainedModel,
    read_legacy_pickle,
    save_legacy_pickle,
    save_trained_bundle,
)
from stream_pose_ml.learning.search import search_folds, search_hyperparameters
from stream_pose_ml.learning.split import TrainTestSplit, make_sampler, split_train_test
from stream_pose_ml.learning.synthetic import VALUE_MAP, synthetic_dataset
from stream_pose_ml.learning.training import FittedModel, evaluate_model, train_model
from stream_pose_ml.learning.training_data import (
    TrainingData,
    load_training_data,
)

TARGET = "weight_transfer_type"
DROP_LIST = ["video_id", "step_frame_id", "frame_number", "step_type"]
DOCS = Path(__file__).resolve().parents[1] / "docs" / "learning.md"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    frame, _ = synthetic_dataset(n_videos=8, frames_per_video=30, seed=5)
    return frame


@pytest.fixture(scope="module")
def data(table: pd.DataFrame) -> TrainingData:
    return load_training_data(table, TARGET, value_map=VALUE_MAP, drop_list=DROP_LIST)


@pytest.fixture(scope="module")
def split(data: TrainingData) -> TrainTestSplit:
    return split_train_test(data, random_state=3, balance="upsample")


def loaded_builder(table: pd.DataFrame, data_dir: Path, **split_flags: bool) -> ModelBuilder:
    builder = ModelBuilder(data_dir=data_dir, n_jobs=1, verbose=False)
    builder.load_and_prep_dataset(table, target=TARGET, value_map=VALUE_MAP, drop_list=DROP_LIST)
    builder.set_train_test_split(random_state=3, balance_off_target=True, **split_flags)
    return builder


def test_load_training_data_is_what_the_builder_loads(
    table: pd.DataFrame, data: TrainingData, tmp_path: Path
) -> None:
    before = table.copy()
    again = load_training_data(table, TARGET, value_map=VALUE_MAP, drop_list=DROP_LIST)
    pd.testing.assert_frame_equal(table, before)  # the table is not changed
    builder = ModelBuilder(data_dir=tmp_path, verbose=False)
    builder.load_and_prep_dataset(table, target=TARGET, value_map=VALUE_MAP, drop_list=DROP_LIST)
    pd.testing.assert_frame_equal(again.X, builder.X)
    pd.testing.assert_series_equal(again.y, builder.y)
    pd.testing.assert_series_equal(again.groups, builder.groups)
    pd.testing.assert_frame_equal(again.meta, builder.meta)
    assert again.feature_spec == builder.feature_spec and again.feature_spec is not None
    assert again.value_map == builder.value_map == VALUE_MAP
    assert again.description == builder.description
    labels = {0: "Failure Weight Transfer", 1: "Successful Weight Transfer"}
    assert again.description.class_labels == builder.class_labels == labels
    assert again.table_videos == 8 and "8 videos" in again.summary()
    assert list(again.X.columns) == list(data.X.columns)
    assert not set(DROP_LIST) & set(again.X.columns)


def test_load_training_data_reads_csv_and_parquet_files(
    table: pd.DataFrame, tmp_path: Path
) -> None:
    expected = load_training_data(table, TARGET, value_map=VALUE_MAP, drop_list=DROP_LIST)
    csv, parquet = tmp_path / "rows.csv", tmp_path / "rows.parquet"
    table.to_csv(csv)  # with the pandas index as an unnamed first column
    table.to_parquet(parquet)
    for path in (csv, parquet):
        loaded = load_training_data(path, TARGET, value_map=VALUE_MAP, drop_list=DROP_LIST)
        assert loaded.source == str(path)
        assert list(loaded.X.columns) == list(expected.X.columns)
        np.testing.assert_allclose(loaded.X.to_numpy(), expected.X.to_numpy())
        pd.testing.assert_series_equal(loaded.y, expected.y)
    with pytest.raises(TrainingDataError, match="no such dataset file"):
        load_training_data(tmp_path / "missing.csv", TARGET)


@pytest.mark.parametrize(
    ("balance", "flags", "sampler"),
    [
        (None, {}, None),
        ("upsample", {"upsample_minority": True}, "RandomOverSampler"),
        ("smote", {"upsample_minority": True, "use_SMOTE": True}, "SMOTE"),
        ("downsample", {"downsample_majority": True}, "RandomUnderSampler"),
    ],
)
def test_split_train_test_is_the_builders_split(
    table: pd.DataFrame,
    data: TrainingData,
    tmp_path: Path,
    balance: str | None,
    flags: dict[str, bool],
    sampler: str | None,
) -> None:
    split = split_train_test(data, random_state=3, balance=balance)
    builder = loaded_builder(table, tmp_path, **flags)
    for name in ("X_train", "X_test"):
        pd.testing.assert_frame_equal(getattr(split, name), getattr(builder, name))
    for name in ("y_train", "y_test", "groups_test"):
        pd.testing.assert_series_equal(getattr(split, name), getattr(builder, name))
    if split.groups_train is None:  # SMOTE rows come from no video
        assert balance == "smote" and builder.groups_train is None
    else:
        pd.testing.assert_series_equal(split.groups_train, builder.groups_train)
    pd.testing.assert_frame_equal(split.X_train_unbalanced, builder._X_train_raw)
    assert split.info == builder.split_info
    assert split.info["balancing"] == sampler
    assert (split.sampler is None) == (sampler is None)
    assert not set(split.groups_test) & set(split.groups_train_unbalanced)
    assert split.summary().startswith("Train/test split (whole videos)")


def test_split_without_videos_splits_rows_and_warns(
    table: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    rows = load_training_data(
        table.drop(columns=["video_id"]), TARGET, value_map=VALUE_MAP, drop_list=DROP_LIST
    )
    with caplog.at_level(logging.WARNING):
        split = split_train_test(rows, test_size=0.25, random_state=0)
    assert "optimistic" in caplog.text
    assert split.info["grouped_by_video"] is False and split.groups_train is None
    assert len(split.X_test) == pytest.approx(0.25 * len(rows.X), abs=1)


def test_bad_split_arguments_are_errors(data: TrainingData) -> None:
    with pytest.raises(TrainingDataError, match="balance must be one of"):
        make_sampler("balanced")
    with pytest.raises(TrainingDataError, match="test_size"):
        split_train_test(data, test_size=1.5)


def test_train_model_with_a_search_is_the_builders_model(
    table: pd.DataFrame, split: TrainTestSplit, tmp_path: Path
) -> None:
    space = {"n_estimators": [10, 30], "max_depth": 6}
    fitted = train_model(
        make_estimator("random-forest", random_state=123, n_jobs=1),
        split,
        params=space,
        search="random",
        iterations=5,
        random_state=123,
        model_type="random-forest",
        n_jobs=1,
    )
    builder = loaded_builder(table, tmp_path, upsample_minority=True)
    builder.train_random_forest(use_random_search=True, params=space, iterations=5)
    assert fitted.best_params == builder.best_params and fitted.best_params["max_depth"] == 6
    assert fitted.search_score == builder.search_score
    assert fitted.model_type == builder.model_type == "random-forest"
    assert fitted.feature_importances == builder.feature_importances
    np.testing.assert_array_equal(
        fitted.model.predict_proba(split.X_test), builder.model.predict_proba(builder.X_test)
    )


def test_a_pipeline_trains_and_evaluates_as_in_the_builder(
    table: pd.DataFrame, data: TrainingData, split: TrainTestSplit, tmp_path: Path
) -> None:
    pipeline = Pipeline([("scaler", StandardScaler()), ("knn", KNeighborsClassifier())])
    grid = {"n_neighbors": [5, 15]}
    fitted = train_model(pipeline, split, params=grid, search="grid", random_state=0, n_jobs=1)
    with pytest.raises(NotFittedError):
        check_is_fitted(pipeline)  # the function fits a clone
    builder = loaded_builder(table, tmp_path, upsample_minority=True)
    builder.train(pipeline, params=grid, search="grid", random_state=0)
    assert fitted.model_type == builder.model_type == "KNeighborsClassifier"
    assert set(fitted.best_params) == {"knn__n_neighbors"}
    assert fitted.best_params == builder.best_params
    np.testing.assert_array_equal(
        fitted.model.predict_proba(split.X_test), builder.model.predict_proba(builder.X_test)
    )

    plots = tmp_path / "plots"
    report = evaluate_model(fitted, split, data, output_dir=plots, cv_splits=3, n_jobs=1)
    expected = builder.evaluate_model(output_dir=plots, cv_splits=3)
    assert report.metrics() == expected.metrics()
    assert report.summary() == expected.summary()
    assert set(report.cv_scores) == {"accuracy", "f1", "roc_auc"}
    for name, scores in report.cv_scores.items():
        np.testing.assert_array_equal(scores, expected.cv_scores[name])
    assert report.accuracy > 0.8
    assert (plots / "roc_curve.png").is_file()


def test_search_hyperparameters_scores_grouped_folds_with_the_sampler(
    split: TrainTestSplit,
) -> None:
    pipeline = Pipeline(
        [("scaler", StandardScaler()), ("logreg", LogisticRegression(max_iter=2000))]
    )
    result = search_hyperparameters(
        pipeline,
        {"C": [0.1, 1.0]},
        split.X_train_unbalanced,
        split.y_train_unbalanced,
        split.groups_train_unbalanced,
        search="random",
        iterations=50,  # never more candidates than the grid holds
        random_state=0,
        sampler=split.sampler,
    )
    assert result.search == "random" and set(result.best_params) == {"logreg__C"}
    assert 0.5 < result.score <= 1.0
    with pytest.raises(NotFittedError):
        check_is_fitted(pipeline)
    with pytest.raises(TrainingDataError, match="needs params"):
        search_hyperparameters(pipeline, {}, split.X_train, split.y_train, search="grid")

    X, y, groups = split.X_train_unbalanced, split.y_train_unbalanced, split.groups_train_unbalanced
    folds, fold_groups = search_folds(y, groups, cv_splits=3, random_state=0)
    assert fold_groups is groups
    for train, test in folds.split(X, y, fold_groups):
        assert not set(groups.iloc[train]) & set(groups.iloc[test])


def test_make_estimator_is_what_each_train_method_fits(
    table: pd.DataFrame, split: TrainTestSplit, tmp_path: Path
) -> None:
    builder = loaded_builder(table, tmp_path, upsample_minority=True)
    trains = {
        "gradient-boost": (builder.train_gradient_boost, None),
        "random-forest": (builder.train_random_forest, 123),
        "logistic-regression": (builder.train_logistic_regression, 42),
        "hist-gradient-boosting": (builder.train_hist_gradient_boosting, 0),
    }
    assert set(trains) == set(MODEL_TYPES)
    for model_type, (method, random_state) in trains.items():
        trained = method()
        estimator = make_estimator(model_type, random_state=random_state, n_jobs=1)
        fitted = train_model(estimator, split, model_type=model_type, n_jobs=1)
        assert builder.model_type == fitted.model_type == model_type
        assert repr(trained) == repr(fitted.model)
        np.testing.assert_array_equal(
            fitted.model.predict_proba(split.X_test), trained.predict_proba(builder.X_test)
        )
    with pytest.raises(TrainingDataError, match="model_type must be one of"):
        make_estimator("svm")
    with pytest.raises(TrainingDataError, match="value_map"):
        require_class_numbers(pd.Series([1, 2, 2]))


def test_saved_files_are_the_builders(
    table: pd.DataFrame, data: TrainingData, split: TrainTestSplit, tmp_path: Path
) -> None:
    builder = loaded_builder(table, tmp_path / "builder", upsample_minority=True)
    builder.train_random_forest(params={"n_estimators": 20})
    plots = tmp_path / "plots"
    builder.evaluate_model(output_dir=plots, cross_validate=False)
    fitted = train_model(
        make_estimator("random-forest", random_state=123, n_jobs=1),
        split,
        params={"n_estimators": 20},
        model_type="random-forest",
        n_jobs=1,
    )
    report = evaluate_model(fitted, split, data, output_dir=plots, cross_validate=False, n_jobs=1)

    trained = TrainedModel(fitted, split, report, data.description)
    by_function = save_legacy_pickle(tmp_path / "functions", trained, notes="n")
    by_builder = builder.save_model_and_datasets(notes="n", model_type="random-forest")
    ours, theirs = read_legacy_pickle(by_function), read_legacy_pickle(by_builder)
    assert set(ours) == set(theirs)
    for key, value in ours.items():
        if isinstance(value, (pd.DataFrame, pd.Series)):
            assert value.equals(theirs[key]), key
        elif key == "confusion_matrix":
            np.testing.assert_array_equal(value, theirs[key])
        elif key != "classifier":
            assert value == theirs[key], key
    assert by_function.name.startswith("random-forest-")
    meta = json.loads(by_function.with_name(by_function.stem + "-meta.json").read_text())
    meta_builder = json.loads(by_builder.with_name(by_builder.stem + "-meta.json").read_text())
    assert meta == meta_builder
    assert load_model(by_function).format == "legacy-pickle"

    bundle = save_trained_bundle(tmp_path / "model.zip", trained)
    loaded = load_model(bundle)
    assert list(loaded.input_columns) == list(split.X_train.columns)
    assert loaded.class_labels == builder.class_labels
    np.testing.assert_array_equal(loaded.predict(split.X_test), fitted.model.predict(split.X_test))

    not_legacy = tmp_path / "plain.pickle"
    not_legacy.write_bytes(pickle.dumps({"model": None}))
    with pytest.raises(TrainingDataError, match="not a pickle written by"):
        read_legacy_pickle(not_legacy)


def test_documented_function_workflow_runs_and_matches_the_builder(
    table: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "steps as functions" snippet of docs/learning.md, as written, on a synthetic CSV."""
    section = DOCS.read_text().split("## The steps as functions", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    csv = tmp_path / "dataset.csv"
    table.to_csv(csv, index=False)
    monkeypatch.chdir(tmp_path)  # the snippet writes under ./data/trained_models
    namespace: dict[str, object] = {"__name__": "docs_learning_snippet"}
    exec(compile(code.replace("path/to/dataset.csv", str(csv)), str(DOCS), "exec"), namespace)
    assert (tmp_path / "data" / "trained_models" / "forest.zip").is_file()
    assert list((tmp_path / "data" / "trained_models").glob("random-forest-*.pickle"))

    builder = ModelBuilder(data_dir=tmp_path / "builder", verbose=False)
    builder.load_and_prep_dataset_from_csv(
        path=str(csv), target=TARGET, value_map=VALUE_MAP, column_whitelist=[], drop_list=DROP_LIST
    )
    builder.set_train_test_split(
        balance_off_target=True, upsample_minority=True, random_state=40002
    )
    builder.train_random_forest(
        use_random_search=True, params={"n_estimators": [20, 50, 100], "max_depth": 9}
    )
    fitted, report = namespace["fitted"], namespace["report"]
    assert isinstance(fitted, FittedModel) and isinstance(report, EvaluationReport)
    assert fitted.best_params == builder.best_params
    assert report.metrics() == builder.evaluate_model().metrics()

"""ModelBuilder: the notebooks' documented calls, grouped splits, balancing, every model family.

The dataset is built with the real feature transform from synthetic poses whose class bends
the left elbow (stream_pose_ml.learning.synthetic), so the metrics have a real signal to find.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

from stream_pose_ml.errors import TrainingDataError
from stream_pose_ml.features import FeatureSpec, is_feature_column
from stream_pose_ml.learning import model_builder as mb
from stream_pose_ml.learning.evaluation import evaluate_classifier, grouped_cross_validate
from stream_pose_ml.learning.synthetic import VALUE_MAP, synthetic_dataset

TARGET = "weight_transfer_type"
DROP_LIST = ["video_id", "step_frame_id", "frame_number", "step_type"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    frame, _ = synthetic_dataset(n_videos=10, frames_per_video=40, seed=7)
    return frame


@pytest.fixture(scope="module")
def dataset_csv(table: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dataset") / "dataset.csv"
    table.to_csv(path, index=False)
    return path


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STREAM_POSE_ML_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


def loaded_builder(table: pd.DataFrame, data_dir: Path, **split: object) -> mb.ModelBuilder:
    builder = mb.ModelBuilder(data_dir=data_dir, n_jobs=1, verbose=False)
    builder.load_and_prep_dataset(table, target=TARGET, value_map=VALUE_MAP, drop_list=DROP_LIST)
    builder.set_train_test_split(random_state=3, **split)  # type: ignore[arg-type]
    return builder


def test_notebook_workflow_as_documented(
    dataset_csv: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    value_map = {
        "weight_transfer_type": {
            "Failure Weight Transfer": 0,
            "Successful Weight Transfer": 1,
        }
    }
    drop_list = ["video_id", "step_frame_id", "frame_number", "step_type"]
    model_builder = mb.ModelBuilder()
    model_builder.load_and_prep_dataset_from_csv(
        path=str(dataset_csv),
        target="weight_transfer_type",
        value_map=value_map,
        column_whitelist=[],
        drop_list=drop_list,
    )
    model_builder.set_train_test_split(
        balance_off_target=True,
        upsample_minority=True,
        downsample_majority=False,
        use_SMOTE=False,
        random_state=40002,
    )
    model_builder.train_gradient_boost()
    report = model_builder.evaluate_model()

    printed = capsys.readouterr().out
    for line in ("Accuracy:", "Precision:", "Recall:", "F1 score:", "ROC AUC:", "Confusion"):
        assert line in printed
    assert report.accuracy >= 0.9 and report.f1 >= 0.9 and report.roc_auc >= 0.95
    assert model_builder.accuracy == report.accuracy and model_builder.auc == report.roc_auc
    assert report.confusion_matrix.shape == (2, 2)
    assert report.confusion_matrix.sum() == len(model_builder.X_test)
    assert report.class_labels == ("Failure Weight Transfer", "Successful Weight Transfer")
    # grouped cross-validation ran on whole videos and agrees with the signal
    assert set(report.cv_scores) == {"accuracy", "f1", "roc_auc"}
    assert len(report.cv_scores["accuracy"]) == 5
    assert np.nanmean(report.cv_scores["roc_auc"]) >= 0.95
    assert set(report.plots) == {"confusion_matrix", "roc_curve", "feature_importance"}
    for png in report.plots.values():
        assert png.read_bytes()[:8] == PNG_MAGIC
        assert png.is_relative_to(data_dir / "trained_models")

    param_dist = {
        "n_estimators": [20, 50, 100, 200],
        "max_depth": 9,
        "max_leaf_nodes": 63,
    }
    model_builder.train_random_forest(
        use_random_search=True, params=param_dist, iterations=50, random_state=123
    )
    assert model_builder.best_params is not None
    assert model_builder.best_params["max_depth"] == 9
    assert model_builder.best_params["max_leaf_nodes"] == 63
    assert model_builder.best_params["n_estimators"] in (20, 50, 100, 200)
    assert model_builder.model.get_params()["max_depth"] == 9
    assert model_builder.evaluate_model(cross_validate=False).accuracy >= 0.9

    path = model_builder.save_model_and_datasets(notes="notebook flow", model_type="gradient-boost")
    assert path.parent == data_dir / "trained_models"
    assert path.name.startswith("gradient-boost-") and path.suffix == ".pickle"
    assert path.with_name(path.stem + "-meta.json").is_file()
    with path.open("rb") as f:
        saved = pickle.load(f)
    for key in (
        "classifier",
        "columns",
        "X_train",
        "X_test",
        "y_train",
        "y_test",
        "accuracy",
        "precision",
        "recall",
        "auc-roc",
        "confusion_matrix",
        "type",
        "data_file",
    ):
        assert key in saved
    columns = saved["X_test"].columns.tolist()  # what the original StreamPoseML's live client reads
    assert columns == saved["columns"] == list(model_builder.X_train.columns)
    assert all(is_feature_column(c) for c in columns)
    assert not set(columns) & {"video_id", "step_frame_id", "frame_number", "step_type", TARGET}
    assert np.array_equal(
        saved["classifier"].predict(saved["X_test"]), model_builder.model.predict(saved["X_test"])
    )
    assert saved["value_map"] == value_map[TARGET]
    assert FeatureSpec.from_dict(saved["feature_spec"]).columns == tuple(columns)


def test_csv_with_pandas_index_column(table: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "indexed.csv"
    table.to_csv(path)  # pandas' default writes the index as a first, unnamed column
    builder = mb.ModelBuilder(data_dir=tmp_path, verbose=False)
    builder.load_and_prep_dataset_from_csv(
        path, target=TARGET, value_map=VALUE_MAP, drop_list=DROP_LIST
    )
    assert builder.X is not None
    assert not any(c.startswith("Unnamed") for c in builder.X.columns)
    assert all(is_feature_column(c) for c in builder.X.columns)


def test_load_keeps_video_ids_aside_and_drops_unlabelled_rows(
    table: pd.DataFrame, data_dir: Path
) -> None:
    builder = mb.ModelBuilder(data_dir=data_dir, verbose=False)
    builder.load_and_prep_dataset(table, target=TARGET, value_map=VALUE_MAP, drop_list=DROP_LIST)
    labelled = table[TARGET].notna()
    assert len(builder.X) == labelled.sum()
    assert builder.groups is not None
    assert builder.groups.tolist() == table.loc[labelled, "video_id"].tolist()
    assert "video_id" not in builder.X.columns
    assert set(builder.y.unique()) == {0, 1}
    assert builder.feature_spec == FeatureSpec.from_dict(table.attrs["feature_spec"])
    assert builder.class_labels == {0: "Failure Weight Transfer", 1: "Successful Weight Transfer"}


def test_meta_columns_never_become_features(table: pd.DataFrame, data_dir: Path) -> None:
    builder = mb.ModelBuilder(data_dir=data_dir, verbose=False)
    # no drop_list: the meta columns are still kept out, the label column must be dropped
    builder.load_and_prep_dataset(
        table, target=TARGET, value_map=VALUE_MAP, drop_list=["step_type"]
    )
    assert not {"video_id", "step_frame_id", "frame_number"} & set(builder.X.columns)


def test_text_label_column_left_in_features_is_an_error(
    table: pd.DataFrame, data_dir: Path
) -> None:
    builder = mb.ModelBuilder(data_dir=data_dir, verbose=False)
    with pytest.raises(TrainingDataError, match="step_type"):
        builder.load_and_prep_dataset(table, target=TARGET, value_map=VALUE_MAP)


def test_unknown_target_is_an_error(dataset_csv: Path, data_dir: Path) -> None:
    with pytest.raises(TrainingDataError, match="no target column 'wrong'"):
        mb.ModelBuilder(verbose=False).load_and_prep_dataset_from_csv(dataset_csv, target="wrong")


def test_text_target_without_value_map_gets_class_numbers(
    table: pd.DataFrame, data_dir: Path
) -> None:
    builder = mb.ModelBuilder(data_dir=data_dir, verbose=False)
    builder.load_and_prep_dataset(table, target=TARGET, drop_list=DROP_LIST)
    assert builder.value_map[TARGET] == VALUE_MAP[TARGET]  # sorted labels -> 0, 1
    assert set(builder.y.unique()) == {0, 1}


def test_split_keeps_every_video_on_one_side(table: pd.DataFrame, data_dir: Path) -> None:
    builder = loaded_builder(table, data_dir)
    assert builder.split_info["grouped_by_video"] is True
    train_videos = set(builder.groups_train)
    test_videos = set(builder.groups_test)
    assert train_videos and test_videos and not train_videos & test_videos
    assert len(builder.X_train) + len(builder.X_test) == len(builder.X)
    assert 0.1 <= len(builder.X_test) / len(builder.X) <= 0.35


def test_split_without_video_ids_splits_rows_and_warns(
    table: pd.DataFrame, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    builder = mb.ModelBuilder(data_dir=data_dir, verbose=False)
    builder.load_and_prep_dataset(
        table.drop(columns=["video_id"]), target=TARGET, value_map=VALUE_MAP, drop_list=DROP_LIST
    )
    with caplog.at_level(logging.WARNING):
        builder.set_train_test_split(test_size=0.25, random_state=0)
    assert "optimistic" in caplog.text
    assert builder.split_info["grouped_by_video"] is False
    assert len(builder.X_test) == pytest.approx(0.25 * len(builder.X), abs=1)


@pytest.mark.parametrize(
    ("options", "sampler"),
    [
        ({"upsample_minority": True}, "RandomOverSampler"),
        ({"upsample_minority": True, "use_SMOTE": True}, "SMOTE"),
        ({"downsample_majority": True}, "RandomUnderSampler"),
    ],
)
def test_balancing_resamples_training_rows_only(
    table: pd.DataFrame, data_dir: Path, options: dict[str, bool], sampler: str
) -> None:
    plain = loaded_builder(table, data_dir)
    balanced = loaded_builder(table, data_dir, balance_off_target=True, **options)
    counts = balanced.y_train.value_counts()
    assert counts.nunique() == 1  # every class the same size
    original = plain.y_train.value_counts()
    expected = original.max() if "upsample_minority" in options else original.min()
    assert counts.iloc[0] == expected
    assert balanced.split_info["balancing"] == sampler
    pd.testing.assert_frame_equal(balanced.X_test, plain.X_test)
    pd.testing.assert_series_equal(balanced.y_test, plain.y_test)


def test_other_model_families_learn_the_signal(table: pd.DataFrame, data_dir: Path) -> None:
    builder = loaded_builder(table, data_dir, balance_off_target=True, upsample_minority=True)
    builder.train_logistic_regression(use_grid_search=True)
    assert builder.best_params is not None and "logreg__C" in builder.best_params
    assert builder.evaluate_model(cross_validate=False).accuracy >= 0.9
    builder.train_hist_gradient_boosting(params={"max_iter": 50})
    report = builder.evaluate_model(cross_validate=False)
    assert report.accuracy >= 0.9
    assert report.importance_kind.startswith("permutation")
    builder.train_xgboost(
        use_random_search=True, params={"n_estimators": [20, 40], "max_depth": [2, 3]}, iterations=3
    )
    assert builder.model_type == "gradient-boost"
    assert builder.evaluate_model(cross_validate=False).roc_auc >= 0.95


def test_list_params_without_a_search_is_an_error(table: pd.DataFrame, data_dir: Path) -> None:
    builder = loaded_builder(table, data_dir)
    with pytest.raises(TrainingDataError, match="use_random_search"):
        builder.train_random_forest(params={"n_estimators": [10, 20]})


def test_xgboost_needs_class_numbers_from_zero(table: pd.DataFrame, data_dir: Path) -> None:
    builder = mb.ModelBuilder(data_dir=data_dir, verbose=False)
    shifted = {TARGET: {"Failure Weight Transfer": 1, "Successful Weight Transfer": 2}}
    builder.load_and_prep_dataset(table, target=TARGET, value_map=shifted, drop_list=DROP_LIST)
    builder.set_train_test_split(random_state=0)
    with pytest.raises(TrainingDataError, match="value_map"):
        builder.train_gradient_boost()


def test_training_before_split_is_an_error(data_dir: Path) -> None:
    with pytest.raises(TrainingDataError, match="set_train_test_split"):
        mb.ModelBuilder(verbose=False).train_gradient_boost()


def test_grouped_cross_validation_exposes_what_row_splits_hide() -> None:
    """A label that belongs to the video, not the pose: row folds score it, video folds don't."""
    frame, _ = synthetic_dataset(n_videos=12, frames_per_video=40, seed=3)
    frame = frame.dropna(subset=[TARGET])
    X = frame[[c for c in frame.columns if is_feature_column(c)]]
    y = frame["video_id"].str[-2:].astype(int) % 2  # same label for every frame of a video
    forest = RandomForestClassifier(n_estimators=50, random_state=0)
    rows = cross_val_score(forest, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0))
    videos = grouped_cross_validate(forest, X, y, frame["video_id"], n_splits=4, random_state=0)
    assert rows.mean() > 0.9  # memorised each person's body, not learnt the label
    assert np.mean(videos["accuracy"]) < 0.75


def test_multiclass_evaluation(table: pd.DataFrame, tmp_path: Path) -> None:
    frame = table.dropna(subset=[TARGET])
    X = frame[[c for c in frame.columns if is_feature_column(c)]]
    y = np.digitize(frame["angle_left_elbow"], [110.0, 150.0])  # three elbow-angle classes
    forest = RandomForestClassifier(n_estimators=30, random_state=0).fit(X[::2], y[::2])
    report = evaluate_classifier(
        forest,
        X[1::2],
        y[1::2],
        output_dir=tmp_path,
        class_labels={0: "bent", 1: "half", 2: "straight"},
    )
    assert report.average == "weighted"
    assert report.confusion_matrix.shape == (3, 3)
    assert report.accuracy > 0.8 and 0.5 < report.roc_auc <= 1.0
    assert (tmp_path / "roc_curve.png").read_bytes()[:8] == PNG_MAGIC
    assert "straight" in report.summary()

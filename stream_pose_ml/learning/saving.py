"""Save a trained model with its split, test report and dataset description.

A :class:`TrainedModel` holds the step results a saved model records; each function writes it in
one format:

* :func:`save_legacy_pickle`: the legacy pickle, the ``{"classifier": model, ...}`` dict the
  original StreamPoseML loads, with its ``-meta.json`` (:func:`read_legacy_pickle` reads it);
* :func:`save_trained_bundle`: a model bundle (:func:`~stream_pose_ml.learning.bundle.save_bundle`);
* :func:`log_trained_run`: an MLflow run with the model
  (:func:`~stream_pose_ml.learning.mlflow_tracking.log_training_run`);
* :func:`save_trained_mlflow_model`: an MLflow model directory and its zip.
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stream_pose_ml.errors import TrainingDataError
from stream_pose_ml.learning.evaluation import EvaluationReport
from stream_pose_ml.learning.search import final_step
from stream_pose_ml.learning.split import TrainTestSplit
from stream_pose_ml.learning.training import FittedModel
from stream_pose_ml.learning.training_data import DatasetDescription


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model, the split it was fitted on, its test report and what it predicts."""

    fitted: FittedModel
    split: TrainTestSplit
    report: EvaluationReport
    description: DatasetDescription


def save_legacy_pickle(
    folder: str | Path, trained: TrainedModel, *, notes: str = "", model_type: str | None = None
) -> Path:
    """Write ``<model_type>-<ns>.pickle`` and ``<model_type>-<ns>-meta.json`` into ``folder``.

    The pickle holds the classifier, its input columns (``X_test``'s), the split's rows, the
    test metrics, the target, its label -> class map, the feature spec and the data file.
    ``model_type`` defaults to the fitted model's. Returns the pickle's path.
    """
    fitted, split, report, description = _parts(trained)
    model = fitted.model
    model_type = model_type or fitted.model_type or type(model).__name__
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model_id = f"{model_type}-{time.time_ns()}"
    spec = description.feature_spec
    value_map = description.target_value_map
    meta = {
        "type": model_type,
        "notes": notes,
        "data_file": description.source,
        "target": description.target,
        "value_map": value_map,
        "accuracy": report.accuracy,
        "precision": report.precision,
        "recall": report.recall,
        "f1": report.f1,
        "auc-roc": _json_float(report.roc_auc),
        "confusion_matrix": str(report.confusion_matrix),
        "features": fitted.feature_importances,
        "split": split.info,
        "best_params": _json_ready(fitted.best_params),
        "evaluation": report.to_dict(),
        "feature_spec": None if spec is None else spec.to_dict(),
    }
    model_data = {
        "type": model_type,
        "notes": notes,
        "feature_importances": fitted.feature_importances,
        "data_file": description.source,
        "auc-roc": report.roc_auc,
        "accuracy": report.accuracy,
        "precision": report.precision,
        "recall": report.recall,
        "f1": report.f1,
        "confusion_matrix": report.confusion_matrix,
        "classifier": model,
        "columns": split.X_test.columns.tolist(),
        "X_train": split.X_train,
        "X_test": split.X_test,
        "y_train": split.y_train,
        "y_test": split.y_test,
        "target": description.target,
        "value_map": value_map,
        "classes": list(getattr(model, "classes_", [])),
        "feature_spec": None if spec is None else spec.to_dict(),
    }
    (folder / f"{model_id}-meta.json").write_text(json.dumps(meta, indent=4, default=str))
    pickle_path = folder / f"{model_id}.pickle"
    with pickle_path.open("wb") as f:
        pickle.dump(model_data, f, pickle.HIGHEST_PROTOCOL)
    return pickle_path


def read_legacy_pickle(path: str | Path) -> dict[str, Any]:
    """The dict of a legacy pickle (``{"classifier": model, ...}``); unpickling runs its code.

    Raises TrainingDataError when the file holds no such dict.
    """
    with Path(path).open("rb") as f:
        data = pickle.load(f)
    if not isinstance(data, dict) or "classifier" not in data:
        raise TrainingDataError(f"{path}: not a pickle written by save_model_and_datasets")
    return data


def save_trained_bundle(
    path: str | Path,
    trained: TrainedModel,
    *,
    notes: str = "",
    classifier_format: str | None = None,
    window_stride: int = 1,
    overwrite: bool = False,
) -> Path:
    """Save a bundle (directory, or zip when ``path`` ends in ``.zip``); returns its path.

    The manifest records the input columns, classes, value map, feature spec and test metrics.
    """
    from stream_pose_ml.learning.bundle import save_bundle

    fitted, split, report, description = _parts(trained)
    return save_bundle(
        path,
        fitted.model,
        list(split.X_train.columns),
        feature_spec=description.feature_spec,
        class_labels=description.class_labels or None,
        target=description.target,
        value_map=description.target_value_map,
        window_stride=window_stride,
        metrics=report.metrics(),
        notes=notes,
        classifier_format=classifier_format,
        input_example=split.X_test.head(5),
        overwrite=overwrite,
    )


def log_trained_run(
    trained: TrainedModel,
    *,
    experiment: str = "stream_pose_ml",
    run_name: str | None = None,
    register_as: str | None = None,
    tracking_uri: str | None = None,
) -> Any:
    """Log an MLflow run: the estimator's parameters (``model.*``), the split (``split.*``),
    data file and target, the test metrics, the plots, the feature spec and the model.

    ``run_name`` defaults to the model id; ``register_as`` also registers the model under that
    name. Returns a ``TrackedRun``.
    """
    from stream_pose_ml.learning.mlflow_tracking import log_training_run

    fitted, split, report, description = _parts(trained)
    estimator = final_step(fitted.model)
    params = {f"model.{k}": v for k, v in estimator.get_params().items() if _loggable(v)}
    params.update({f"split.{k}": v for k, v in split.info.items()})
    params.update(
        {
            "data_file": description.source,
            "target": description.target,
            "model_type": fitted.model_type,
            "n_features": split.X_train.shape[1],
        }
    )
    return log_training_run(
        fitted.model,
        params=params,
        metrics=report.metrics(),
        artifacts=list(report.plots.values()),
        experiment=experiment,
        run_name=run_name or fitted.model_id,
        register_as=register_as,
        tracking_uri=tracking_uri,
        **_model_inputs(fitted.model, split, description),
    )


def save_trained_mlflow_model(
    folder: str | Path,
    fitted: FittedModel,
    split: TrainTestSplit,
    description: DatasetDescription,
    *,
    model: Any = None,
) -> Path:
    """Save ``<folder>/<model_type>-mlflow-<ns>``, an MLflow model directory servable by
    ``mlflow models serve``, and its ``.zip``; returns the directory.

    ``model`` (default ``fitted.model``) is what is saved, with the input columns, input example
    and classes of ``fitted.model``.
    """
    from stream_pose_ml.learning.mlflow_tracking import save_mlflow_model
    from stream_pose_ml.learning.serialization import zip_directory

    directory = Path(folder) / f"{fitted.model_type}-mlflow-{time.time_ns()}"
    save_mlflow_model(
        model if model is not None else fitted.model,
        directory,
        **_model_inputs(fitted.model, split, description),
    )
    zip_directory(directory, directory.with_suffix(".zip"))
    return directory


def _parts(
    trained: TrainedModel,
) -> tuple[FittedModel, TrainTestSplit, EvaluationReport, DatasetDescription]:
    return trained.fitted, trained.split, trained.report, trained.description


def _model_inputs(
    model: Any, split: TrainTestSplit, description: DatasetDescription
) -> dict[str, Any]:
    """The MLflow model's input columns, input example, feature spec, classes and labels."""
    labels = description.class_labels
    classes = list(getattr(model, "classes_", []))
    return {
        "input_columns": list(split.X_train.columns),
        "input_example": split.X_test.head(5),
        "feature_spec": description.feature_spec,
        "classes": classes or None,
        "class_labels": [labels.get(c, str(c)) for c in classes] if classes else None,
    }


def _loggable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _json_float(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _json_ready(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value

"""ModelBuilder's state: one result per step, and the notebooks' attributes read from them.

The original StreamPoseML's notebooks read ``model_builder.X_train``, ``.model``,
``.accuracy``, ...; here each of those is a read-only view of a field of one step result, so the
builder's state is the handful of results below, not one attribute per value.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from stream_pose_ml.errors import TrainingDataError
from stream_pose_ml.features.spec import FeatureSpec
from stream_pose_ml.learning.evaluation import EvaluationReport
from stream_pose_ml.learning.split import TrainTestSplit
from stream_pose_ml.learning.training import FittedModel
from stream_pose_ml.learning.training_data import DatasetDescription, TrainingData


class _StepResult:
    """Read-only attribute: field ``field`` (default: the attribute's name) of the step result
    held in ``step``; None before that step ran. With ``retrieved``, the value the last
    retrieved legacy pickle set stands in until the step runs."""

    def __init__(self, step: str, field: str | None = None, *, retrieved: bool = False) -> None:
        self.step, self.field, self.retrieved = step, field, retrieved
        self.name = ""  # the attribute's, set by __set_name__

    @classmethod
    def named(cls, step: str, count: int, *, retrieved: bool = False) -> tuple[_StepResult, ...]:
        """``count`` attributes of ``step``, each the result field of the attribute's name."""
        return tuple(cls(step, retrieved=retrieved) for _ in range(count))

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.field = name, self.field or name

    def __get__(self, state: Any, owner: type | None = None) -> Any:
        if state is None:
            return self
        result = getattr(state, self.step)
        if result is not None:
            return getattr(result, str(self.field))
        if self.retrieved and state.retrieved is not None:
            return state.retrieved.get(self.name)
        return None


class _Score:
    """Read-only test metric named like the attribute, from the builder's ``scores``."""

    @classmethod
    def named(cls, count: int) -> tuple[_Score, ...]:
        return tuple(cls() for _ in range(count))

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, state: Any, owner: type | None = None) -> Any:
        return self if state is None else state.scores.get(self.name)


class BuilderState:
    """The result of each step and the notebooks' read-only attributes over them.

    ``data`` (:class:`TrainingData`, from loading), ``split`` (:class:`TrainTestSplit`),
    ``fitted`` (:class:`FittedModel`, from training or a retrieved legacy pickle), ``report``
    (:class:`EvaluationReport` of ``fitted``, None until it is evaluated); ``scores``, the test
    metrics the notebooks read (``accuracy`` ... ``confusion_matrix``) of the last evaluation or
    retrieved legacy pickle; ``retrieved``, the target, value map, feature spec and data file
    the last retrieved legacy pickle set, shown while no dataset is loaded.
    """

    # The notebooks' attributes, each reading the field of its own name (unless one is given)
    # of the step result the first argument names.
    data_file = _StepResult("data", "source", retrieved=True)
    target, value_map, feature_spec = _StepResult.named("data", 3, retrieved=True)
    X, y, groups, meta = _StepResult.named("data", 4)
    X_train, X_test, y_train, y_test = _StepResult.named("split", 4)
    groups_train, groups_test, sampler, random_state = _StepResult.named("split", 4)
    _X_train_raw = _StepResult("split", "X_train_unbalanced")
    _y_train_raw = _StepResult("split", "y_train_unbalanced")
    _groups_train_raw = _StepResult("split", "groups_train_unbalanced")
    model, model_type, model_id = _StepResult.named("fitted", 3)
    best_params, search_score, feature_importances = _StepResult.named("fitted", 3)
    accuracy, precision, recall, f1, auc, mcc, confusion_matrix = _Score.named(7)

    def __init__(self) -> None:
        self.data: TrainingData | None = None
        self.split: TrainTestSplit | None = None
        self.fitted: FittedModel | None = None
        self.report: EvaluationReport | None = None
        self.scores: dict[str, Any] = {}
        self.retrieved: dict[str, Any] | None = None

    @property
    def split_info(self) -> dict[str, Any]:
        """The split's summary (sides, videos, balancing); empty before the split."""
        return {} if self.split is None else self.split.info

    @property
    def description(self) -> DatasetDescription:
        """Target, value map, feature spec and data file, as saved models record them."""
        return DatasetDescription(self.target, self.value_map, self.feature_spec, self.data_file)

    @property
    def class_labels(self) -> dict[Any, str]:
        """Class value -> label name, from the target's value map."""
        return self.description.class_labels

    def _hold_report(self, report: EvaluationReport) -> None:
        self.report = report
        self.scores = {
            "accuracy": report.accuracy,
            "precision": report.precision,
            "recall": report.recall,
            "f1": report.f1,
            "auc": report.roc_auc,
            "mcc": report.mcc,
            "confusion_matrix": report.confusion_matrix,
        }

    def _require_split(self) -> TrainTestSplit:
        if self.split is None:
            raise TrainingDataError("call set_train_test_split before training")
        return self.split

    def _require_model(self) -> tuple[FittedModel, TrainTestSplit]:
        if self.fitted is None:
            raise TrainingDataError("train a model first (train_gradient_boost, ...)")
        assert self.split is not None  # training and retrieving a pickle both set it
        return self.fitted, self.split

    def _hold_legacy_pickle(self, data: dict[str, Any], file_path: str | Path) -> None:
        """Take the model, rows, metrics and description of a legacy pickle's dict ``data``.

        What the pickle does not hold stays: a loaded dataset's rows, the split's videos and
        balancing, the search results, a value map or feature spec the pickle lacks, ``mcc``.
        The report of the model before is dropped.
        """
        target, spec = data.get("target"), data.get("feature_spec")
        described: dict[str, Any] = {
            "source": data.get("data_file"),
            "target": target,
            "value_map": (
                {target: data["value_map"]}
                if data.get("value_map") is not None and target
                else self.value_map
            ),
            "feature_spec": self.feature_spec if spec is None else FeatureSpec.from_dict(spec),
        }
        self.retrieved = {**described, "data_file": described["source"]}
        scores = ("accuracy", "precision", "recall", "f1", "confusion_matrix")
        self.scores = {
            **self.scores,  # a legacy pickle holds no mcc: the value before stays
            **{k: data.get(k) for k in scores},
            "auc": data.get("auc-roc"),
        }
        if self.data is not None:
            self.data = replace(self.data, **described)
        fitted: dict[str, Any] = {
            "model": data["classifier"],
            "model_type": data.get("type"),
            "model_id": Path(file_path).stem,
            "feature_importances": data.get("feature_importances"),
        }
        self.fitted = (
            FittedModel(**fitted) if self.fitted is None else replace(self.fitted, **fitted)
        )
        rows: dict[str, Any] = {k: data.get(k) for k in ("X_train", "X_test", "y_train", "y_test")}
        self.split = TrainTestSplit(**rows) if self.split is None else replace(self.split, **rows)
        self.report = None

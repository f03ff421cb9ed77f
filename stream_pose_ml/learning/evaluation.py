"""Classifier evaluation: test-set metrics, grouped cross-validation and PNG plots.

Rows of a pose dataset are frames (or windows of frames); neighbouring rows of one video are
near-duplicates. Any split that puts frames of one video on both sides measures memory, not
generalisation, so cross-validation here always groups rows by video
(:func:`grouped_cross_validate`).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.inspection import permutation_importance
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import StratifiedGroupKFold, cross_validate

from stream_pose_ml.errors import TrainingDataError

log = logging.getLogger(__name__)

#: How many features the importance plot shows.
TOP_FEATURES = 20


@dataclass
class EvaluationReport:
    """Metrics of one classifier on one held-out set.

    Binary targets report precision, recall and F1 of the positive class (the larger class value,
    e.g. 1); multi-class targets report their support-weighted averages and one-vs-rest ROC AUC.
    ``confusion_matrix`` has shape ``(classes, classes)``: rows true class, columns predicted, in
    the order of ``classes``. ``roc_auc`` is NaN when the held-out set holds a single class or the
    model has no ``predict_proba``.
    """

    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    mcc: float
    confusion_matrix: np.ndarray
    classes: tuple[Any, ...]
    class_labels: tuple[str, ...]
    n_test: int
    average: str
    classification_report: str = ""
    feature_importances: list[tuple[str, float]] = field(default_factory=list)
    importance_kind: str = ""
    cv_scores: dict[str, np.ndarray] = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)

    def metrics(self) -> dict[str, float]:
        """Flat ``{name: value}`` of the scalar metrics, with ``cv_<metric>_mean`` / ``_std``."""
        out = {
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "roc_auc": self.roc_auc,
            "mcc": self.mcc,
        }
        for name, scores in self.cv_scores.items():
            out[f"cv_{name}_mean"] = float(np.nanmean(scores)) if len(scores) else math.nan
            out[f"cv_{name}_std"] = float(np.nanstd(scores)) if len(scores) else math.nan
        return {k: float(v) for k, v in out.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible summary (NaN becomes None)."""
        return {
            "metrics": {k: _json_float(v) for k, v in self.metrics().items()},
            "confusion_matrix": self.confusion_matrix.tolist(),
            "classes": [_json_scalar(c) for c in self.classes],
            "class_labels": list(self.class_labels),
            "n_test": self.n_test,
            "average": self.average,
            "feature_importances": [[n, float(v)] for n, v in self.feature_importances],
            "cv_scores": {k: [_json_float(x) for x in v] for k, v in self.cv_scores.items()},
            "plots": {k: str(v) for k, v in self.plots.items()},
        }

    def summary(self) -> str:
        """Multi-line text report: metrics, confusion matrix, cross-validation, top features."""
        lines = [
            f"Classification metrics on {self.n_test} held-out rows ({self.average} average):",
            f"  Accuracy:  {self.accuracy:.4f}",
            f"  Precision: {self.precision:.4f}",
            f"  Recall:    {self.recall:.4f}",
            f"  F1 score:  {self.f1:.4f}",
            f"  ROC AUC:   {self.roc_auc:.4f}",
            f"  Matthews correlation (-1..1): {self.mcc:.4f}",
            "Confusion matrix (rows: true, columns: predicted):",
            _format_confusion(self.confusion_matrix, self.class_labels),
        ]
        if self.cv_scores:
            lines.append("Grouped cross-validation (no video on both sides of a fold):")
            for name, scores in self.cv_scores.items():
                lines.append(
                    f"  {name}: {np.nanmean(scores):.4f} +/- {np.nanstd(scores):.4f} "
                    f"over {len(scores)} folds"
                )
        if self.feature_importances:
            lines.append(f"Top features ({self.importance_kind}):")
            lines += [f"  {name}: {value:.4f}" for name, value in self.feature_importances[:5]]
        if self.classification_report:
            lines += ["Classification report:", self.classification_report.rstrip()]
        if self.plots:
            lines.append("Plots: " + ", ".join(str(p) for p in self.plots.values()))
        return "\n".join(lines)


def evaluate_classifier(
    model: Any,
    X_test: pd.DataFrame | np.ndarray,
    y_test: Sequence[Any] | np.ndarray | pd.Series,
    *,
    class_labels: Mapping[Any, str] | None = None,
    feature_names: Sequence[str] | None = None,
    output_dir: str | Path | None = None,
    title: str = "",
    random_state: int | None = 0,
) -> EvaluationReport:
    """Score a fitted classifier on held-out rows and, given ``output_dir``, save PNG plots.

    ``X_test`` has shape ``(rows, features)``; ``class_labels`` maps class values to names for the
    report and plots. Plots: ``confusion_matrix.png``, ``roc_curve.png`` (needs ``predict_proba``)
    and ``feature_importance.png``.
    """
    y_true = np.asarray(y_test)
    if len(y_true) == 0:
        raise TrainingDataError("the held-out set is empty; nothing to evaluate")
    classes = tuple(getattr(model, "classes_", np.unique(y_true)))
    labels = tuple(_label(c, class_labels) for c in classes)
    y_pred = np.asarray(model.predict(X_test))
    proba = np.asarray(model.predict_proba(X_test)) if hasattr(model, "predict_proba") else None

    binary = len(classes) == 2
    average = "binary" if binary else "weighted"
    scoring_kwargs: dict[str, Any] = {"zero_division": 0}
    if binary:
        scoring_kwargs["pos_label"] = classes[1]
    else:
        scoring_kwargs["average"] = "weighted"
        scoring_kwargs["labels"] = list(classes)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        report = EvaluationReport(
            accuracy=float(accuracy_score(y_true, y_pred)),
            precision=float(precision_score(y_true, y_pred, **scoring_kwargs)),
            recall=float(recall_score(y_true, y_pred, **scoring_kwargs)),
            f1=float(f1_score(y_true, y_pred, **scoring_kwargs)),
            roc_auc=_roc_auc(y_true, proba, classes),
            mcc=float(matthews_corrcoef(y_true, y_pred)),
            confusion_matrix=confusion_matrix(y_true, y_pred, labels=list(classes)),
            classes=classes,
            class_labels=labels,
            n_test=len(y_true),
            average=average,
            classification_report=classification_report(
                y_true,
                y_pred,
                labels=list(classes),
                target_names=list(labels),
                zero_division=0,
            ),
        )
    names = list(feature_names) if feature_names is not None else _column_names(X_test)
    report.feature_importances = feature_importances(
        model, names, X_test, y_true, random_state=random_state
    )
    report.importance_kind = importance_kind(model) if report.feature_importances else ""
    if output_dir is not None:
        report.plots = save_evaluation_plots(report, y_true, proba, output_dir, title=title)
    return report


def feature_importances(
    model: Any,
    feature_names: Sequence[str],
    X: pd.DataFrame | np.ndarray | None = None,
    y: np.ndarray | None = None,
    *,
    random_state: int | None = 0,
) -> list[tuple[str, float]]:
    """``[(feature, importance)]`` sorted by importance, largest first.

    Tree ensembles report ``feature_importances_`` (impurity decrease, sums to 1); linear models
    the mean absolute coefficient over classes (on the model's own input scale); anything else
    the permutation importance on ``(X, y)`` (increase in log loss, or drop in accuracy without
    ``predict_proba``), when ``X`` and ``y`` are given.
    """
    estimator = model.steps[-1][1] if hasattr(model, "steps") else model
    values: np.ndarray | None = None
    if hasattr(estimator, "feature_importances_"):
        values = np.asarray(estimator.feature_importances_, dtype=np.float64)
    elif hasattr(estimator, "coef_"):
        values = np.abs(np.atleast_2d(np.asarray(estimator.coef_, dtype=np.float64))).mean(axis=0)
    elif X is not None and y is not None and len(feature_names) <= 500:
        scoring = "neg_log_loss" if hasattr(model, "predict_proba") else "accuracy"
        result = permutation_importance(
            model, X, y, n_repeats=3, random_state=random_state, scoring=scoring
        )
        values = np.asarray(result.importances_mean, dtype=np.float64)
    if values is None or len(values) != len(feature_names):
        return []
    order = np.argsort(values)[::-1]
    return [(str(feature_names[i]), float(values[i])) for i in order]


def importance_kind(model: Any) -> str:
    """What :func:`feature_importances` reports for ``model``."""
    estimator = model.steps[-1][1] if hasattr(model, "steps") else model
    if hasattr(estimator, "feature_importances_"):
        return "impurity decrease"
    if hasattr(estimator, "coef_"):
        return "mean |coefficient|"
    return "permutation, " + ("log loss" if hasattr(model, "predict_proba") else "accuracy")


def grouped_cross_validate(
    estimator: Any,
    X: pd.DataFrame | np.ndarray,
    y: Sequence[Any] | np.ndarray | pd.Series,
    groups: Sequence[Any] | np.ndarray | pd.Series,
    *,
    n_splits: int = 5,
    sampler: Any | None = None,
    random_state: int | None = None,
    n_jobs: int | None = None,
) -> dict[str, np.ndarray]:
    """Cross-validate ``estimator`` with folds that never split a group (a video).

    Uses ``StratifiedGroupKFold`` with ``min(n_splits, number of groups)`` folds. A ``sampler``
    (an imbalanced-learn resampler) is applied inside each training fold only, so no resampled
    copy of a row is scored. Returns ``{"accuracy", "f1", "roc_auc": scores per fold}``
    (``roc_auc`` only for models with ``predict_proba``; a fold with a single class gives NaN).
    """
    y_arr = np.asarray(y)
    group_arr = np.asarray(groups)
    n_groups = len(np.unique(group_arr))
    if n_groups < 2:
        raise TrainingDataError(
            f"grouped cross-validation needs rows from at least 2 videos, got {n_groups}; "
            "add videos or evaluate on a held-out video instead"
        )
    splits = min(n_splits, n_groups)
    binary = len(np.unique(y_arr)) == 2
    scoring = {"accuracy": "accuracy", "f1": "f1" if binary else "f1_weighted"}
    if hasattr(estimator, "predict_proba"):
        scoring["roc_auc"] = "roc_auc" if binary else "roc_auc_ovr_weighted"
    model = clone(estimator)
    if sampler is not None:
        from imblearn.pipeline import Pipeline as SamplingPipeline

        model = SamplingPipeline([("sampler", clone(sampler)), ("model", model)])
    folds = StratifiedGroupKFold(n_splits=splits, shuffle=True, random_state=random_state)
    with warnings.catch_warnings():
        # A fold whose test videos hold one class scores NaN ROC AUC; reported, not raised.
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        warnings.filterwarnings("ignore", message=".*[Ss]coring failed.*")
        warnings.filterwarnings("ignore", message=".*Only one class.*")
        result = cross_validate(
            model,
            X,
            y_arr,
            groups=group_arr,
            cv=folds,
            scoring=scoring,
            n_jobs=n_jobs,
            error_score=np.nan,
        )
    return {name: np.asarray(result[f"test_{name}"], dtype=np.float64) for name in scoring}


def save_evaluation_plots(
    report: EvaluationReport,
    y_true: np.ndarray,
    proba: np.ndarray | None,
    output_dir: str | Path,
    *,
    title: str = "",
) -> dict[str, Path]:
    """Write the confusion matrix, ROC curve and feature importance PNGs; return their paths.

    Uses Matplotlib's object API (``Figure`` with the Agg canvas), so no GUI backend is needed
    and a notebook's pyplot state is untouched.
    """
    from matplotlib.figure import Figure

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    prefix = f"{title}\n" if title else ""
    paths: dict[str, Path] = {}

    cm = report.confusion_matrix
    size = 5 + 0.6 * len(report.classes)
    fig = Figure(figsize=(size + 1, size))
    ax = fig.subplots()
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax)
    ticks = np.arange(len(report.classes))
    ax.set_xticks(ticks, labels=report.class_labels, rotation=30, ha="right")
    ax.set_yticks(ticks, labels=report.class_labels)
    threshold = cm.max() / 2 if cm.size else 0
    for (i, j), value in np.ndenumerate(cm):
        ax.text(
            j,
            i,
            str(value),
            ha="center",
            va="center",
            color="white" if value > threshold else "black",
        )
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    ax.set_title(f"{prefix}confusion matrix")
    fig.tight_layout()
    paths["confusion_matrix"] = out / "confusion_matrix.png"
    fig.savefig(paths["confusion_matrix"], dpi=100)

    if proba is not None and len(np.unique(y_true)) > 1:
        fig = Figure(figsize=(5, 5))
        ax = fig.subplots()
        pairs = [(report.classes[1], proba[:, 1])] if len(report.classes) == 2 else None
        if pairs is None:
            pairs = [(c, proba[:, i]) for i, c in enumerate(report.classes)]
        names = dict(zip(report.classes, report.class_labels, strict=True))
        for cls, score in pairs:
            if len(np.unique(y_true == cls)) < 2:
                continue
            fpr, tpr, _ = roc_curve(y_true == cls, score)
            ax.plot(fpr, tpr, label=_label(cls, names))
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance (AUC 0.5)")
        ax.set_xlabel("False positive rate")
        ax.set_ylabel("True positive rate")
        ax.set_title(f"{prefix}ROC curve, AUC = {report.roc_auc:.3f}")
        ax.legend(loc="lower right")
        fig.tight_layout()
        paths["roc_curve"] = out / "roc_curve.png"
        fig.savefig(paths["roc_curve"], dpi=100)

    if report.feature_importances:
        top = report.feature_importances[:TOP_FEATURES][::-1]
        fig = Figure(figsize=(7, 1.5 + 0.3 * len(top)))
        ax = fig.subplots()
        ax.barh([name for name, _ in top], [value for _, value in top], color="tab:blue")
        ax.set_xlabel("importance")
        ax.set_title(f"{prefix}top {len(top)} features ({report.importance_kind})")
        fig.tight_layout()
        paths["feature_importance"] = out / "feature_importance.png"
        fig.savefig(paths["feature_importance"], dpi=100)
    log.info("saved evaluation plots to %s", out)
    return paths


def _roc_auc(y_true: np.ndarray, proba: np.ndarray | None, classes: tuple[Any, ...]) -> float:
    if proba is None or len(np.unique(y_true)) < 2:
        return math.nan
    if len(classes) == 2:
        return float(roc_auc_score(y_true == classes[1], proba[:, 1]))
    present = np.isin(classes, np.unique(y_true))
    if not present.all():  # one-vs-rest AUC is undefined for a class absent from the test set
        return math.nan
    return float(
        roc_auc_score(y_true, proba, multi_class="ovr", average="weighted", labels=classes)
    )


def _label(value: Any, class_labels: Mapping[Any, str] | None) -> str:
    if class_labels is not None and value in class_labels:
        return str(class_labels[value])
    return str(value)


def _column_names(X: Any) -> list[str]:
    if isinstance(X, pd.DataFrame):
        return [str(c) for c in X.columns]
    return [f"x{i}" for i in range(np.shape(X)[1])]


def _format_confusion(cm: np.ndarray, labels: Sequence[str]) -> str:
    frame = pd.DataFrame(cm, index=[f"true {x}" for x in labels], columns=list(labels))
    return "\n".join("  " + line for line in frame.to_string().splitlines())


def _json_float(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _json_scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value

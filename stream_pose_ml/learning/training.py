"""Fit a classifier on a train/test split, optionally after a search, and evaluate it.

:func:`train_model` returns a frozen :class:`FittedModel`; :func:`evaluate_model` scores it on
the split's test rows and cross-validates its configuration by video
(:mod:`~stream_pose_ml.learning.evaluation` holds the metrics and plots).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.base import clone

from stream_pose_ml.errors import TrainingDataError
from stream_pose_ml.learning.evaluation import (
    EvaluationReport,
    evaluate_classifier,
    feature_importances,
    grouped_cross_validate,
)
from stream_pose_ml.learning.search import (
    DEFAULT_SEARCH_SPACES,
    SEARCHES,
    final_step,
    prefixed_params,
    search_hyperparameters,
)
from stream_pose_ml.learning.split import TrainTestSplit
from stream_pose_ml.learning.training_data import TrainingData

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FittedModel:
    """A fitted classifier and how it came about.

    ``model_id`` is ``<model_type>-<nanoseconds>``; ``best_params`` and ``search_score`` (mean
    CV score) are those of the search, None without one; ``feature_importances`` is
    ``[{column: "<percent>%"}]``, largest first (None when the model has no importances), as
    the legacy pickle stores it.
    """

    model: Any
    model_type: str | None
    model_id: str
    best_params: dict[str, Any] | None = None
    search_score: float | None = None
    feature_importances: list[dict[str, str]] | None = None


def thread_limit(n_jobs: int | None) -> AbstractContextManager[Any]:
    """Cap native thread pools at ``n_jobs``: oversubscribed OpenMP can be 10x slower."""
    if n_jobs is None or n_jobs < 1:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n_jobs)


def train_model(
    estimator: Any,
    split: TrainTestSplit,
    params: Mapping[str, Any] | None = None,
    *,
    search: str | None = None,
    iterations: int = 10,
    cv_splits: int = 5,
    random_state: int | None = None,
    model_type: str | None = None,
    n_jobs: int | None = None,
) -> FittedModel:
    """Fit a clone of ``estimator`` on the split's training rows, optionally after a search.

    Without ``search``, ``params`` are set on the estimator (single values). With ``search``
    ``"random"`` or ``"grid"``, ``params`` is the search space (see
    :func:`~stream_pose_ml.learning.search.search_hyperparameters`); without ``params`` the
    model type's entry of :data:`DEFAULT_SEARCH_SPACES` is searched. The search scores folds
    of the unbalanced training rows that keep whole videos apart and resamples inside each
    training fold with ``split.sampler``; the best parameters are then fitted on the whole
    (balanced) training set. ``model_type`` defaults to the estimator's class name; ``n_jobs``
    goes to the searches and caps native threads.
    """
    model = clone(estimator)
    name = model_type or type(final_step(model)).__name__
    params = dict(params or {})
    best: dict[str, Any] | None = None
    score: float | None = None
    with thread_limit(n_jobs):
        if search is None:
            lists = [k for k, v in params.items() if isinstance(v, (list, tuple))]
            if lists:
                raise TrainingDataError(
                    f"params {lists} hold lists of values; pass use_random_search=True (or "
                    "use_grid_search=True) to search over them, or give single values"
                )
            model.set_params(**prefixed_params(model, params))
        elif search in SEARCHES:
            result = search_hyperparameters(
                model,
                params or DEFAULT_SEARCH_SPACES.get(name, {}),
                split.X_train_unbalanced,
                split.y_train_unbalanced,
                split.groups_train_unbalanced,
                search=search,
                iterations=iterations,
                random_state=random_state,
                cv_splits=cv_splits,
                sampler=split.sampler,
                n_jobs=n_jobs,
            )
            best, score = result.best_params, result.score
            model.set_params(**best)
        else:
            raise TrainingDataError(f"search must be None, 'random' or 'grid', got {search!r}")
        model.fit(split.X_train, split.y_train)
        model_id = f"{name}-{time.time_ns()}"
        importances = feature_importances(model, list(split.X_train.columns))
    return FittedModel(
        model=model,
        model_type=name,
        model_id=model_id,
        best_params=best,
        search_score=score,
        feature_importances=[{n: f"{v * 100}%"} for n, v in importances] or None,
    )


def evaluate_model(
    fitted: FittedModel,
    split: TrainTestSplit,
    data: TrainingData | None = None,
    *,
    class_labels: Mapping[Any, str] | None = None,
    output_dir: str | Path | None = None,
    cross_validate: bool = True,
    cv_splits: int = 5,
    n_jobs: int | None = None,
) -> EvaluationReport:
    """Score ``fitted`` on the split's test rows and cross-validate it by video.

    ``cross_validate`` adds grouped k-fold scores of the same configuration (and the split's
    balancing) on all rows of ``data`` (``cv_scores``; needs 2+ videos, else a warning).
    ``class_labels`` (class value -> name) default to ``data``'s. PNG plots go to
    ``output_dir`` when given. ``n_jobs`` caps native threads and runs the folds in parallel.
    """
    if class_labels is None and data is not None:
        class_labels = data.description.class_labels
    with thread_limit(n_jobs):
        report = evaluate_classifier(
            fitted.model,
            split.X_test,
            split.y_test,
            class_labels=class_labels,
            output_dir=None if output_dir is None else Path(output_dir),
            title=fitted.model_type or "",
            random_state=split.random_state,
        )
        if cross_validate:
            if data is not None and data.groups is not None and data.groups.nunique() >= 2:
                report.cv_scores = grouped_cross_validate(
                    fitted.model,
                    data.X,
                    data.y,
                    data.groups,
                    n_splits=cv_splits,
                    sampler=split.sampler,
                    random_state=split.random_state,
                    n_jobs=n_jobs,
                )
            else:
                log.warning("no grouped cross-validation: the dataset has fewer than 2 videos")
    return report

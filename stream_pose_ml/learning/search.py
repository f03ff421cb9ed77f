"""Hyper-parameter search over folds that keep whole videos apart.

:func:`search_hyperparameters` runs a random or grid search (scikit-learn's
``RandomizedSearchCV`` / ``GridSearchCV``) on ``StratifiedGroupKFold`` folds, resampling inside
each training fold only, and returns the best parameters as a :class:`SearchResult`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    StratifiedGroupKFold,
    StratifiedKFold,
)

from stream_pose_ml.errors import TrainingDataError

#: Search spaces, per model type, used when a search is asked for without ``params``.
DEFAULT_SEARCH_SPACES: dict[str, dict[str, list[Any]]] = {
    "gradient-boost": {
        "n_estimators": [50, 100, 200],
        "max_depth": [3, 4, 6],
        "learning_rate": [0.05, 0.1, 0.3],
    },
    "random-forest": {"n_estimators": [50, 100, 200], "max_depth": [None, 8, 16]},
    "logistic-regression": {"C": [0.01, 0.1, 1.0, 10.0]},
    "hist-gradient-boosting": {
        "max_iter": [100, 200],
        "learning_rate": [0.05, 0.1],
        "max_leaf_nodes": [15, 31],
    },
}

#: The kinds of search :func:`search_hyperparameters` runs.
SEARCHES: tuple[str, ...] = ("random", "grid")


@dataclass(frozen=True)
class SearchResult:
    """The best candidate of a search: its parameters, named as the estimator's ``set_params``
    takes them (``logreg__C`` for a pipeline), and its mean cross-validation score."""

    best_params: dict[str, Any]
    score: float
    search: str


def search_hyperparameters(
    estimator: Any,
    space: Mapping[str, Any],
    X: pd.DataFrame,
    y: pd.Series,
    groups: pd.Series | None = None,
    *,
    search: str = "random",
    iterations: int = 10,
    random_state: int | None = None,
    cv_splits: int = 5,
    sampler: Any = None,
    n_jobs: int | None = None,
) -> SearchResult:
    """Score the candidates of ``space`` for ``estimator`` on ``(X, y)`` and return the best.

    ``space`` maps parameter names to lists of candidates (or SciPy distributions for a random
    search); a scalar counts as a one-value list. Names of a ``Pipeline``'s last step may be
    plain (``C`` for ``logreg__C``). Folds are ``StratifiedGroupKFold`` over ``groups`` (2+
    videos), else a stratified ``StratifiedKFold``; ``sampler`` (an imbalanced-learn resampler)
    runs inside each training fold. A random search runs ``iterations`` candidates, never more
    than the grid holds. Scoring is ROC AUC with ``predict_proba``, else F1. The searches fit
    clones: ``estimator`` is not changed.
    """
    if search not in SEARCHES:
        raise TrainingDataError(f"search must be one of {list(SEARCHES)}, got {search!r}")
    if not space:
        raise TrainingDataError(f"a {search} search needs params: a search space")
    candidates = {
        k: _as_candidates(v, search) for k, v in prefixed_params(estimator, space).items()
    }
    searched: Any = estimator
    prefix = ""
    if sampler is not None:
        from imblearn.pipeline import Pipeline as SamplingPipeline

        searched = SamplingPipeline([("sampler", clone(sampler)), ("model", estimator)])
        prefix = "model__"
        candidates = {prefix + k: v for k, v in candidates.items()}
    cv, groups = search_folds(y, groups, cv_splits, random_state)
    settings: dict[str, Any] = {
        "scoring": _search_scoring(estimator, y),
        "cv": cv,
        "n_jobs": n_jobs,
        "refit": False,  # the caller fits the best parameters on the balanced rows
        "error_score": np.nan,
    }
    if search == "grid":
        searcher: Any = GridSearchCV(searched, candidates, **settings)
    else:
        size = _grid_size(candidates)
        n_iter = min(iterations, size) if size else iterations
        searcher = RandomizedSearchCV(
            searched, candidates, n_iter=n_iter, random_state=random_state, **settings
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        searcher.fit(X, y, groups=groups)
    results = searcher.cv_results_
    scores = np.asarray(results["mean_test_score"], dtype=np.float64)
    if np.isnan(scores).all():
        raise TrainingDataError(
            f"every {search} search candidate failed to score; check the parameter names and values"
        )
    best = results["params"][int(np.nanargmax(scores))]
    return SearchResult(
        best_params={k.removeprefix(prefix): v for k, v in best.items()},
        score=float(np.nanmax(scores)),
        search=search,
    )


def search_folds(
    y: pd.Series, groups: pd.Series | None, cv_splits: int, random_state: int | None
) -> tuple[Any, pd.Series | None]:
    """``(folds, groups to pass them)``: grouped folds with 2+ videos, else stratified rows."""
    if groups is not None and groups.nunique() >= 2:
        folds: Any = StratifiedGroupKFold(
            n_splits=min(cv_splits, int(groups.nunique())),
            shuffle=True,
            random_state=random_state,
        )
        return folds, groups
    folds = StratifiedKFold(
        n_splits=max(2, min(cv_splits, int(y.value_counts().min()))),
        shuffle=True,
        random_state=random_state,
    )
    return folds, None


def final_step(model: Any) -> Any:
    """The estimator at the end of a ``Pipeline`` (``model`` itself if it is no pipeline)."""
    return model.steps[-1][1] if hasattr(model, "steps") else model


def prefixed_params(model: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """Pipeline parameters for plain names: ``C`` -> ``logreg__C`` for a pipeline's last step."""
    if not hasattr(model, "steps"):
        return dict(params)
    step = model.steps[-1][0]
    return {k if "__" in k else f"{step}__{k}": v for k, v in params.items()}


def _as_candidates(value: Any, search: str) -> Any:
    if isinstance(value, (list, tuple)):
        return list(value)
    if search == "random" and hasattr(value, "rvs"):
        return value
    return [value]


def _grid_size(space: Mapping[str, Any]) -> int | None:
    if not all(isinstance(v, list) for v in space.values()):
        return None
    return math.prod(len(v) for v in space.values())


def _search_scoring(model: Any, y: pd.Series) -> str:
    binary = y.nunique() == 2
    if hasattr(model, "predict_proba"):
        return "roc_auc" if binary else "roc_auc_ovr_weighted"
    return "f1" if binary else "f1_weighted"

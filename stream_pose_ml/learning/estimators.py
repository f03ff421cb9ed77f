"""The model families ModelBuilder trains, by model type, as unfitted scikit-learn estimators."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from stream_pose_ml.errors import TrainingDataError

#: Model types :func:`make_estimator` builds (the ``model_type`` names of saved models).
MODEL_TYPES: tuple[str, ...] = (
    "gradient-boost",
    "random-forest",
    "logistic-regression",
    "hist-gradient-boosting",
)


def make_estimator(
    model_type: str, *, random_state: int | None = None, n_jobs: int | None = None
) -> Any:
    """An unfitted classifier of ``model_type`` (one of :data:`MODEL_TYPES`).

    ``gradient-boost``: ``xgboost.XGBClassifier`` (classes must be ``0..k-1``, see
    :func:`require_class_numbers`); ``random-forest``: ``RandomForestClassifier``;
    ``logistic-regression``: ``StandardScaler`` + ``LogisticRegression`` pipeline (steps
    ``scaler``, ``logreg``); ``hist-gradient-boosting``: ``HistGradientBoostingClassifier``.
    ``n_jobs`` goes to the estimators that take it.
    """
    if model_type == "gradient-boost":
        import xgboost

        return xgboost.XGBClassifier(
            eval_metric="logloss", random_state=random_state, n_jobs=n_jobs
        )
    if model_type == "random-forest":
        return RandomForestClassifier(random_state=random_state, n_jobs=n_jobs)
    if model_type == "logistic-regression":
        return Pipeline(
            [
                ("scaler", StandardScaler()),
                ("logreg", LogisticRegression(max_iter=2000, random_state=random_state)),
            ]
        )
    if model_type == "hist-gradient-boosting":
        return HistGradientBoostingClassifier(random_state=random_state)
    raise TrainingDataError(f"model_type must be one of {list(MODEL_TYPES)}, got {model_type!r}")


def require_class_numbers(y: pd.Series) -> None:
    """Raise TrainingDataError unless the classes of ``y`` are ``0..k-1`` (XGBoost needs them)."""
    classes = np.sort(y.unique())
    if not np.array_equal(classes, np.arange(len(classes))):
        raise TrainingDataError(
            f"XGBoost needs classes 0..{len(classes) - 1}, the target has {list(classes)}; "
            "map them with value_map"
        )

"""The least-overhead probability call a native estimator allows, checked against its own.

``LoadedModel`` classifies a few live windows at a time, where the wrappers' per-call work (input
validation, configuration contexts, output containers) costs more than the model itself. Two
kinds get a direct call:

- an XGBoost classifier: its booster's ``inplace_predict``, as ``XGBClassifier.predict_proba``
  calls it inside its wrapper;
- a linear pipeline: ``SimpleImputer`` and ``StandardScaler`` steps (any number, in any order)
  before a ``LogisticRegression``, or the regression alone, as the same NumPy operations those
  estimators run, without their checks.

A fast call is used only after it gave exactly the wrapper's answer on probe rows (with missing
values), so predictions never change; rows the wrapper would refuse (a value that is not finite
where no imputer fills it) go to the wrapper, which raises its own error.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# scikit-learn's warning for a matrix given to an estimator fitted on named columns.
FEATURE_NAMES_WARNING = "X does not have valid feature names"
ProbaCall = Callable[[np.ndarray], np.ndarray]
Step = Callable[[np.ndarray], np.ndarray]


def fast_predict_proba(estimator: Any, n_features: int) -> ProbaCall | None:
    """A ``predict_proba`` for float matrices ``(n, n_features)`` that equals the estimator's,
    or None when there is none (other estimators, or an answer that differs on the probes)."""
    call = _xgboost_proba(estimator) or _linear_proba(estimator)
    if call is None:
        return None
    probes = np.random.default_rng(0).normal(size=(8, n_features))
    probes[1] = 0.0
    probes[2, ::3] = np.nan  # missing features: the trees' default branches, the imputer
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=FEATURE_NAMES_WARNING, category=UserWarning)
        try:
            expected = np.asarray(estimator.predict_proba(probes))
        except ValueError:  # the estimator refuses missing values: probe without them
            probes[2] = 1.0
            expected = np.asarray(estimator.predict_proba(probes))
        try:
            same = np.array_equal(call(probes.copy()), expected)
        except Exception as exc:  # an unusual model: keep the wrapper
            log.debug("no fast predict_proba for %s: %s", type(estimator).__name__, exc)
            return None
    return call if same else None


def _xgboost_proba(estimator: Any) -> ProbaCall | None:
    try:
        from xgboost import XGBClassifier
        from xgboost.sklearn import _cls_predict_proba
    except ImportError:
        return None
    if type(estimator) is not XGBClassifier or estimator.objective not in (
        "binary:logistic",
        "multi:softprob",
    ):
        return None
    if not estimator._can_use_inplace_predict():
        return None
    booster = estimator.get_booster()
    iteration_range = estimator._get_iteration_range(None)
    missing = estimator.missing
    n_classes = estimator.n_classes_

    def predict_proba(rows: np.ndarray) -> np.ndarray:
        values = booster.inplace_predict(
            rows,
            iteration_range=iteration_range,
            predict_type="value",
            missing=missing,
            validate_features=False,
        )
        return _cls_predict_proba(n_classes, values, np.vstack)

    return predict_proba


def _linear_proba(estimator: Any) -> ProbaCall | None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    steps = (
        [step for _, step in estimator.steps if step not in (None, "passthrough")]
        if type(estimator) is Pipeline
        else [estimator]
    )
    if not steps or type(steps[-1]) is not LogisticRegression:
        return None
    # the steps up to the last imputer, then the others: values must be finite in between
    filling: list[Step] = []
    rest: list[Step] = []
    for step in steps[:-1]:
        made = _linear_step(step)
        if made is None:
            return None
        transform, fills = made
        rest.append(transform)
        if fills:
            filling, rest = filling + rest, []
    final = _logistic_proba(steps[-1])

    def predict_proba(rows: np.ndarray) -> np.ndarray:
        values = np.array(rows, dtype=np.float64)  # a copy: the steps work in place
        for transform in filling:
            values = transform(values)
        if not np.isfinite(values).all():
            return _wrapper(rows)
        for transform in rest:
            values = transform(values)
        return final(values)

    def _wrapper(rows: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=FEATURE_NAMES_WARNING, category=UserWarning)
            return np.asarray(estimator.predict_proba(rows))

    return predict_proba


def _linear_step(step: Any) -> tuple[Step, bool] | None:
    """A fitted ``SimpleImputer`` or ``StandardScaler`` as its in-place NumPy transform, and
    whether it fills missing values."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    if type(step) is StandardScaler:
        mean = step.mean_ if step.with_mean else None
        scale = step.scale_ if step.with_std else None

        def scale_rows(values: np.ndarray) -> np.ndarray:
            if mean is not None:
                values -= mean
            if scale is not None:
                values /= scale
            return values

        return scale_rows, False
    if type(step) is SimpleImputer:
        statistics = np.asarray(step.statistics_, dtype=np.float64)
        missing = step.missing_values
        if step.add_indicator or not (isinstance(missing, float) and np.isnan(missing)):
            return None
        if np.isnan(statistics).any():  # empty training columns: the imputer drops them
            return None

        def impute(values: np.ndarray) -> np.ndarray:
            mask = np.isnan(values)
            if mask.any():
                values = np.where(mask, statistics, values)
            return values

        return impute, True
    return None


def _logistic_proba(model: Any) -> Step:
    from scipy.special import expit
    from sklearn.utils.extmath import softmax

    coef_t = model.coef_.T
    intercept = model.intercept_
    binary = np.size(model.classes_) <= 2

    def proba(values: np.ndarray) -> np.ndarray:
        scores = values @ coef_t + intercept
        if binary:
            scores = scores.reshape(-1) if scores.shape[1] == 1 else scores
            prob = expit(scores, out=scores)
            return np.stack([1 - prob, prob], axis=1) if prob.ndim == 1 else _ovr(prob)
        return np.asarray(softmax(scores, copy=False))

    return proba


def _ovr(prob: np.ndarray) -> np.ndarray:
    prob_sum = prob.sum(axis=1)
    all_zero = prob_sum == 0
    if all_zero.any():
        prob[all_zero, :] = 1
        prob_sum[all_zero] = prob.shape[1]
    prob /= prob_sum.reshape(prob.shape[0], -1)
    return prob

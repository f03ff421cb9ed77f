"""The least-overhead probability call a native estimator allows, checked against its own.

``LoadedModel`` classifies one live window at a time, where the wrappers' per-call work (input
validation, configuration contexts) costs as much as the trees. For an XGBoost classifier this
calls its booster's ``inplace_predict`` directly, as ``XGBClassifier.predict_proba`` does inside
its wrapper; the fast call is used only after it gave exactly the wrapper's answer on probe rows,
so predictions never change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ProbaCall = Callable[[np.ndarray], np.ndarray]


def fast_predict_proba(estimator: Any, n_features: int) -> ProbaCall | None:
    """A ``predict_proba`` for float matrices ``(n, n_features)`` that equals the estimator's,
    or None when there is none (other estimators, or an answer that differs on the probes)."""
    call = _xgboost_proba(estimator)
    if call is None:
        return None
    probes = np.random.default_rng(0).normal(size=(8, n_features))
    probes[1] = 0.0
    probes[2, ::3] = np.nan  # missing features take the trees' default branches
    try:
        same = np.array_equal(call(probes), np.asarray(estimator.predict_proba(probes)))
    except Exception as exc:  # an unusual booster: keep the wrapper
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

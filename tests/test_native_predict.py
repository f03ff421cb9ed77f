"""The direct probability calls of native estimators equal the estimators' own answers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xgboost
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from stream_pose_ml.learning.native_predict import fast_predict_proba

N_FEATURES = 12


def _data(classes: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, N_FEATURES)) * rng.uniform(0.1, 20, size=N_FEATURES)
    score = X[:, 0] / X[:, 0].std() + X[:, 1] / X[:, 1].std()
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    X[rng.random(X.shape) < 0.05] = np.nan
    return X, y


def _rows() -> np.ndarray:
    rows = np.random.default_rng(9).normal(size=(40, N_FEATURES)) * 10
    rows[::3, ::2] = np.nan
    rows[5] = np.nan  # nothing known
    return rows


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize(
    "make",
    [
        lambda: make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression()),
        lambda: make_pipeline(
            SimpleImputer(strategy="constant", fill_value=0), LogisticRegression()
        ),
        lambda: make_pipeline(
            SimpleImputer(strategy="median"),
            StandardScaler(with_mean=False),
            LogisticRegression(C=0.1),
        ),
    ],
    ids=["mean-scaled", "constant", "median-unmeaned"],
)
def test_linear_pipelines_answer_exactly_as_scikit_learn(classes: int, make: Any) -> None:
    X, y = _data(classes)
    model = make().fit(X, y)
    call = fast_predict_proba(model, N_FEATURES)
    assert call is not None
    rows = _rows()
    expected = model.predict_proba(rows)
    assert expected.shape[1] == classes
    for n in (1, 3, len(rows)):  # one window, a few, many (BLAS rounds by shape)
        np.testing.assert_array_equal(call(rows[:n]), model.predict_proba(rows[:n]))
    np.testing.assert_array_equal(rows, _rows())  # the caller's rows are not changed


def test_a_bare_regression_refuses_missing_values_as_scikit_learn_does() -> None:
    X, y = _data(2)
    X = np.nan_to_num(X)
    model = LogisticRegression().fit(X, y)
    call = fast_predict_proba(model, N_FEATURES)
    assert call is not None
    finite = np.nan_to_num(_rows())
    np.testing.assert_array_equal(call(finite), model.predict_proba(finite))
    with pytest.raises(ValueError, match="NaN"):
        call(_rows())
    with pytest.raises(ValueError):
        call(np.full((1, N_FEATURES), np.inf))


def test_a_scaler_before_the_imputer_still_lets_missing_values_through() -> None:
    X, y = _data(2)
    model = make_pipeline(StandardScaler(), SimpleImputer(), LogisticRegression()).fit(X, y)
    call = fast_predict_proba(model, N_FEATURES)
    assert call is not None
    np.testing.assert_array_equal(call(_rows()), model.predict_proba(_rows()))


@pytest.mark.parametrize(
    "make",
    [
        lambda: make_pipeline(SimpleImputer(add_indicator=True), LogisticRegression()),
        lambda: make_pipeline(SimpleImputer(), PCA(3), LogisticRegression()),
        lambda: make_pipeline(SimpleImputer(), RandomForestClassifier(n_estimators=3)),
    ],
    ids=["indicator", "pca", "forest"],
)
def test_other_models_keep_their_own_call(make: Any) -> None:
    X, y = _data(2)
    assert fast_predict_proba(make().fit(X, y), N_FEATURES) is None


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
def test_an_imputer_that_drops_empty_columns_keeps_its_own_call() -> None:
    X, y = _data(2)
    X[:, 4] = np.nan
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(X, y)
    assert fast_predict_proba(model, N_FEATURES) is None
    assert model.predict_proba(_rows()).shape == (40, 2)


@pytest.mark.parametrize("classes", [2, 3])
def test_xgboost_answers_exactly_as_its_wrapper(classes: int) -> None:
    X, y = _data(classes)
    model = xgboost.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1).fit(X, y)
    call = fast_predict_proba(model, N_FEATURES)
    assert call is not None
    np.testing.assert_array_equal(call(_rows()), model.predict_proba(_rows()))

"""MLflow's scoring protocol -> the float matrix of a model's input columns.

A scoring request is a JSON object with exactly one of ``dataframe_split``,
``dataframe_records``, ``instances`` or ``inputs``, and optional ``params``
(``{"predict_method": "predict_proba"}``). MLflow's own parser
(``mlflow.pyfunc.scoring_server.infer_and_parse_data``) reads the rows; this module picks the
model's columns by name (or takes unnamed rows in the signature's order) and checks that every
value is a number, ``null`` being a missing feature (NaN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from stream_pose_ml.errors import ServingError

#: Keys of a scoring request that carry the rows (MLflow's protocol); exactly one is allowed.
INPUT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
PREDICT_METHODS = ("predict", "predict_proba")


def bad_payload(message: str) -> ServingError:
    return ServingError("bad_payload", message, status=400)


def predict_method(body: Mapping[str, Any]) -> str:
    """``params.predict_method`` of a request: ``predict`` (default) or ``predict_proba``."""
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise bad_payload("params must be an object")
    method = params.get("predict_method", "predict")
    if method not in PREDICT_METHODS:
        raise bad_payload(f"params.predict_method must be one of {', '.join(PREDICT_METHODS)}")
    return str(method)


def parse_rows(body: Any, columns: Sequence[str], max_rows: int) -> np.ndarray:
    """The ``(n, len(columns))`` float64 matrix of a scoring request.

    Named columns are picked by name (extra ones ignored); unnamed rows must have the
    signature's columns in order. ``null`` is NaN; strings and infinities are refused (400);
    more than ``max_rows`` rows are refused (413).
    """
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc.scoring_server import infer_and_parse_data

    if not isinstance(body, dict):
        raise bad_payload("the body must be a JSON object with one of " + ", ".join(INPUT_KEYS))
    keys = [k for k in INPUT_KEYS if k in body]
    if len(keys) != 1:
        raise bad_payload(
            f"send exactly one of {', '.join(INPUT_KEYS)} (got {sorted(body)[:6]}); e.g. "
            '{"dataframe_split": {"columns": [...], "data": [[...], ...]}}'
        )
    key = keys[0]
    try:
        parsed = infer_and_parse_data({key: body[key]})
    except (MlflowException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise bad_payload(f"{key} is not a valid {key} input: {exc}") from exc
    unnamed = key == "dataframe_split" and "columns" not in (body[key] or {})
    names, matrix = _named_matrix(parsed, key, unnamed)
    if names is not None:
        matrix = _select(matrix, names, list(columns))
    if matrix.shape[0] == 0:
        raise bad_payload("no rows to score")
    if matrix.shape[0] > max_rows:
        raise ServingError("too_large", f"at most {max_rows} rows per request", status=413)
    if matrix.shape[1] != len(columns):
        raise bad_payload(
            f"rows have {matrix.shape[1]} values but the model takes {len(columns)} columns "
            "(in the signature's order; GET /model lists them)"
        )
    if np.isinf(matrix).any():
        raise bad_payload("infinite values are not features; send null for a missing value")
    return matrix


def _named_matrix(parsed: Any, key: str, unnamed: bool) -> tuple[list[str] | None, np.ndarray]:
    """MLflow's parsed input -> column names (None: unnamed, in order) and a float matrix."""
    if isinstance(parsed, pd.DataFrame):
        names = None if unnamed else [str(c) for c in parsed.columns]
        return names, _numbers(parsed.to_numpy(dtype=object), key)
    if isinstance(parsed, dict):  # columnar: {column: values}
        names = [str(c) for c in parsed]
        values = [
            [_scalar(v) for v in np.ravel(np.asarray(col, dtype=object))] for col in parsed.values()
        ]
        if len({len(v) for v in values}) > 1:
            raise bad_payload(f"{key} columns must all have the same number of values")
        return names, _numbers(np.array(values, dtype=object).T.reshape(-1, len(names)), key)
    return None, _numbers(parsed, key)


def _scalar(value: Any) -> Any:
    """A plain value from MLflow's nested 0-d object arrays."""
    while isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    return value


def _numbers(data: Any, what: str) -> np.ndarray:
    """A float64 array of ``data`` (``null`` becomes NaN); 400 for anything not a number."""
    try:
        array = np.asarray(data, dtype=object)
        if array.dtype == object:
            array = np.where(pd.isna(array), np.nan, array)
        matrix = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise bad_payload(f"{what} must hold numbers (null for missing): {exc}") from exc
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2:
        raise bad_payload(f"{what} must be a list of rows, got an array of shape {matrix.shape}")
    return matrix


def _select(matrix: np.ndarray, names: list[str], columns: list[str]) -> np.ndarray:
    """The model's ``columns`` of ``matrix`` whose columns are ``names``, in model order."""
    if names == columns:
        return matrix
    position = {name: i for i, name in enumerate(names)}
    missing = [c for c in columns if c not in position]
    if missing:
        raise bad_payload(
            f"the rows lack {len(missing)} of the model's {len(columns)} input columns "
            f"(first: {missing[:3]}); GET /model lists them"
        )
    return matrix[:, [position[c] for c in columns]]

"""MLflow's scoring protocol -> the model's input columns (MLflow's own parser underneath)."""

from __future__ import annotations

import pytest

from stream_pose_ml.errors import ServingError
from stream_pose_ml.serving.scoring import parse_rows, predict_method

COLUMNS = ["a", "b"]


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": ["b", "x", "a"], "data": [[None, 5, 1], [3, 6, 2]]}},
        {"dataframe_split": {"data": [[1, None], [2, 3]]}},
        {"dataframe_records": [{"a": 1, "b": None}, {"b": 3, "a": 2, "extra": 9}]},
        {"instances": [[1, None], [2, 3]]},
        {"instances": [{"b": None, "a": 1}, {"b": 3, "a": 2}]},
        {"inputs": {"a": [1, 2], "b": [None, 3]}},
    ],
    ids=["split", "split-unnamed", "records", "instances", "instance-objects", "inputs-columns"],
)
def test_every_input_format_gives_the_same_rows(body: dict) -> None:
    rows = parse_rows(body, COLUMNS, max_rows=10)
    assert rows.shape == (2, 2) and rows.dtype == float
    assert rows[0, 0] == 1 and rows[1].tolist() == [2.0, 3.0]
    assert rows[0, 1] != rows[0, 1]  # null -> NaN


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"rows": [[1, 2]]}, 400, "exactly one of"),
        ({"instances": [], "dataframe_records": []}, 400, "exactly one of"),
        ({"dataframe_split": {"columns": ["a"], "data": "x"}}, 400, "not a valid"),
        ({"instances": [["a", "b"]]}, 400, "numbers"),
        ({"instances": [[1.0]]}, 400, "takes 2 columns"),
        ({"dataframe_records": [{"a": 1.0}]}, 400, "lack 1"),
        ({"instances": [[1e999, 1]]}, 400, "infinite"),
        ({"instances": [[1, 2]] * 11}, 413, "at most 10"),
        ([1, 2], 400, "JSON object"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(body: object, status: int, words: str) -> None:
    with pytest.raises(ServingError, match=words) as error:
        parse_rows(body, COLUMNS, max_rows=10)
    assert error.value.status == status


def test_predict_method() -> None:
    assert predict_method({}) == "predict"
    assert predict_method({"params": {"predict_method": "predict_proba"}}) == "predict_proba"
    for params in ({"predict_method": "explain"}, "predict_proba"):
        with pytest.raises(ServingError):
            predict_method({"params": params})

"""A real `mlflow models serve --env-manager local` answers like the in-process model."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.ensemble import RandomForestClassifier

from stream_pose_ml.errors import ModelLoadError
from stream_pose_ml.features import FeatureSpec, is_feature_column
from stream_pose_ml.features.windows import sliding_windows
from stream_pose_ml.learning import load_model, save_bundle
from stream_pose_ml.learning.mlflow_tracking import ModelServer, log_training_run
from stream_pose_ml.learning.synthetic import VALUE_MAP, synthetic_dataset

pytestmark = pytest.mark.slow
TARGET = "weight_transfer_type"


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    spec = FeatureSpec(window=2, normalized=False, decimal_precision=4)
    table, sequences = synthetic_dataset(n_videos=6, frames_per_video=30, spec=spec, seed=9)
    labelled = table.dropna(subset=[TARGET])
    columns = [c for c in table.columns if is_feature_column(c)]
    return {
        "spec": spec,
        "columns": columns,
        "X": labelled[columns],
        "y": labelled[TARGET].map(VALUE_MAP[TARGET]).to_numpy(),
        "sequence": sequences["video_05"],
    }


def live_rows(model: Any, sequence: Any) -> pd.DataFrame:
    """The rows the live server computes: the model's own transform over rolling windows."""
    windows = sliding_windows(sequence, model.window_size)
    rows = model.feature_transform().with_input(image_size=sequence.image_size).transform(windows)
    return pd.DataFrame(rows, columns=list(model.input_columns))


def wait_until_gone(pgid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"
    mlflow.set_tracking_uri(previous)


def test_served_bundle_answers_like_the_live_model(tmp_path: Path, data: dict[str, Any]) -> None:
    forest = RandomForestClassifier(n_estimators=20, random_state=0, n_jobs=1)
    forest.fit(data["X"], data["y"])
    path = save_bundle(
        tmp_path / "bundle",
        forest,
        data["columns"],
        feature_spec=data["spec"],
        value_map=VALUE_MAP[TARGET],
        classifier_format="mlflow",
        input_example=data["X"].head(3),
    )
    loaded = load_model(path)
    rows = live_rows(loaded, data["sequence"])
    expected = loaded.predict(rows)
    assert len(set(expected)) == 2  # the video holds both classes

    with ModelServer(path / "mlflow_model") as server:
        pgid = server.process.pid
        answered = server.predict(rows)
        one_row = server.predict(rows.iloc[[7]])
    assert np.array_equal(answered, expected)
    assert np.array_equal(one_row, expected[[7]])
    assert server.process is None
    assert wait_until_gone(pgid), "the server's process group outlived the with block"


def test_registered_model_served_by_uri(tracking_uri: str, data: dict[str, Any]) -> None:
    booster = xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1)
    booster.fit(data["X"], data["y"])
    run = log_training_run(
        booster,
        input_columns=data["columns"],
        feature_spec=data["spec"],
        input_example=data["X"].head(3),
        register_as="spml-served",
        tracking_uri=tracking_uri,
    )
    loaded = load_model(run.registered_model_uri, tracking_uri=tracking_uri)
    rows = live_rows(loaded, data["sequence"])
    with ModelServer(run.registered_model_uri, tracking_uri=tracking_uri) as server:
        pgid = server.process.pid
        answered = server.predict(rows)
    assert np.array_equal(answered, loaded.predict(rows))
    assert np.array_equal(answered, booster.predict(rows))
    assert wait_until_gone(pgid)


def test_server_that_cannot_start_is_reported_and_stopped(tmp_path: Path) -> None:
    server = ModelServer(tmp_path / "no-model-here", startup_timeout=60)
    with pytest.raises(ModelLoadError, match="mlflow models serve exited"):
        server.start()
    assert server.process is None

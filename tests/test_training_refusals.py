"""Training inputs that cannot work get a clear error naming the column and the values, and a
per-column value map (what ModelBuilder keeps) can be saved in a bundle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from stream_pose_ml.errors import TrainingDataError
from stream_pose_ml.features import FeatureSpec
from stream_pose_ml.learning import ModelBuilder, load_model, save_bundle
from stream_pose_ml.learning.synthetic import VALUE_MAP, synthetic_dataset

TARGET = "weight_transfer_type"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    table, _ = synthetic_dataset(n_videos=6, frames_per_video=30, seed=4)
    return table.dropna(subset=[TARGET]).reset_index(drop=True)


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({3: np.nan, 40: None}, r"'video_id' has no value in 2 rows \(first rows \[3, 40\]\)"),
        ({5: 7}, r"'video_id' mixes kinds of values \(\{'str': 'video_00', 'number': 7\}\)"),
    ],
    ids=["missing", "mixed"],
)
def test_bad_video_ids_are_refused_at_load(
    table: pd.DataFrame, bad: dict[int, object], expected: str
) -> None:
    broken = table.astype({"video_id": object})
    for row, value in bad.items():
        broken.loc[row, "video_id"] = value
    builder = ModelBuilder(verbose=False)
    with pytest.raises(TrainingDataError, match=expected) as error:
        builder.load_and_prep_dataset(broken, TARGET, value_map=VALUE_MAP, drop_list=["step_type"])
    assert isinstance(error.value, ValueError)


def test_a_per_column_value_map_is_saved_as_the_targets(
    tmp_path: Path, table: pd.DataFrame
) -> None:
    spec = FeatureSpec(decimal_precision=4)
    columns = list(spec.columns)
    labels = VALUE_MAP[TARGET]
    model = RandomForestClassifier(n_estimators=5, random_state=0)
    model.fit(table[columns], table[TARGET].map(labels))
    per_column = {TARGET: labels, "step_type": {"Left Step": 0, "Right Step": 1}}
    path = save_bundle(
        tmp_path / "b", model, columns, feature_spec=spec, target=TARGET, value_map=per_column
    )
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["value_map"] == labels
    assert manifest["class_labels"] == list(labels)
    assert load_model(path).label([0, 1]) == list(labels)
    no_target = r"maps the columns .* with target= naming the target column \(target is None\)"
    with pytest.raises(TrainingDataError, match=no_target):
        save_bundle(tmp_path / "c", model, columns, feature_spec=spec, value_map=per_column)
    with pytest.raises(TrainingDataError, match="mixes class values and"):
        save_bundle(
            tmp_path / "d", model, columns, feature_spec=spec, value_map={**labels, "x": {}}
        )

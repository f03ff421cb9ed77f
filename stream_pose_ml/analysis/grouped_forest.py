"""The trained-model path the analyzers share: a random forest through `ModelBuilder`, whole
videos (or sequences) kept on one side of the split, probabilities calibrated on folds grouped
the same way."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd


def train_grouped_forest(
    table: pd.DataFrame,
    columns: Sequence[str],
    label: str,
    source: str,
    output_dir: str | Path,
    forest: dict[str, Any],
    calibration: str = "sigmoid",
    calibration_folds: int = 3,
    random_state: int = 0,
    builder: Any = None,
) -> Any:
    """Train on ``table``'s ``columns`` (rows with NaN in them left out) to predict ``label``,
    grouped by ``video_id``; ``forest`` holds `RandomForestClassifier` options; the evaluation
    plots go to ``output_dir``. Returns the builder (a quiet `ModelBuilder` when None):
    ``builder.model`` the calibrated classifier, ``builder.report`` its test evaluation."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import GroupKFold

    from stream_pose_ml.learning.model_builder import ModelBuilder

    builder = builder or ModelBuilder(verbose=False)
    table = table.dropna(subset=list(columns))
    builder.load_and_prep_dataset(table[["video_id", *columns, label]], label, source=source)
    builder.set_train_test_split(test_size=0.25, random_state=random_state)
    groups = builder.split.groups_train
    folds = list(GroupKFold(n_splits=calibration_folds).split(builder.split.X_train, groups=groups))
    model = RandomForestClassifier(random_state=random_state, n_jobs=1, **forest)
    # one forest refit on all training rows, its calibration learnt on the grouped folds
    estimator = CalibratedClassifierCV(model, method=calibration, cv=folds, ensemble=False)
    builder.train(estimator, model_type="calibrated-random-forest")
    builder.evaluate_model(output_dir=Path(output_dir), cross_validate=False)
    return builder

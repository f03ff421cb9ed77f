"""A Pipeline of the feature transform and a classifier: fit on windows, bundle, load it back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from stream_pose_ml.errors import TrainingDataError
from stream_pose_ml.features import FeatureSpec, PoseFeatureTransform, sliding_windows
from stream_pose_ml.learning import load_model
from stream_pose_ml.learning.bundle import save_bundle
from stream_pose_ml.learning.synthetic import synthetic_sequence

WINDOW = 4
SIZE = (1280, 720)


def windows_and_labels(seed: int) -> tuple[np.ndarray, np.ndarray]:
    classes = np.where(np.arange(120) % 24 < 12, 0, 1)
    sequence = synthetic_sequence(classes, np.random.default_rng(seed))
    return sliding_windows(sequence, WINDOW), classes[WINDOW - 1 :]


@pytest.mark.parametrize("columns", [None, ["angle_left_elbow__t03", "norm_left_wrist_y__t03"]])
def test_a_fitted_pipeline_round_trips_through_a_bundle(tmp_path: Path, columns) -> None:
    X, y = windows_and_labels(seed=1)
    spec = FeatureSpec(window=WINDOW)
    pipeline = Pipeline(
        [
            ("features", PoseFeatureTransform(spec, columns=columns, image_size=SIZE)),
            ("classifier", RandomForestClassifier(n_estimators=20, random_state=0)),
        ]
    ).fit(X, y)
    test_x, _ = windows_and_labels(seed=2)
    expected = pipeline.predict_proba(test_x)

    path = save_bundle(tmp_path / "bundle", pipeline)  # columns and spec from the transform
    loaded = load_model(path)
    assert list(loaded.input_columns) == list(pipeline[0].get_feature_names_out())
    assert loaded.feature_spec == spec and loaded.window_size == WINDOW
    # the loaded model's own path: windows -> its transform -> predict_proba
    rows = loaded.feature_transform().with_input(image_size=SIZE).transform(test_x)
    np.testing.assert_array_equal(loaded.predict_proba(rows), expected)
    # and the pipeline it gives back, on the same windows
    again = loaded.pipeline()
    again.set_params(features__image_size=SIZE)
    np.testing.assert_array_equal(again.predict_proba(test_x), expected)
    assert list(again.predict(test_x)) == list(pipeline.predict(test_x))


def test_explicit_columns_must_be_the_transforms(tmp_path: Path) -> None:
    X, y = windows_and_labels(seed=3)
    pipeline = Pipeline(
        [
            ("features", PoseFeatureTransform(FeatureSpec(window=WINDOW))),
            ("classifier", RandomForestClassifier(n_estimators=5, random_state=0)),
        ]
    ).fit(X, y)
    with pytest.raises(TrainingDataError, match="columns the pipeline's feature transform"):
        save_bundle(tmp_path / "b", pipeline, ["angle_neck__t00"])
    with pytest.raises(TrainingDataError, match="needs input_columns"):
        save_bundle(tmp_path / "c", pipeline[-1])

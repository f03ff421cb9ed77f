"""Pose windows -> classes in one scikit-learn ``Pipeline``: the feature transform, then a model.

``Pipeline([("features", PoseFeatureTransform(spec)), ("classifier", model)])`` fits and predicts
on pose windows (``PoseSequence`` windows or window arrays). A bundle stores it as its parts (the
classifier, the input columns, the feature spec), the format every loader reads, and
``LoadedModel.pipeline()`` gives the same pipeline back.
"""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline

from stream_pose_ml.features.transform import PoseFeatureTransform


def split_pose_pipeline(model: Any) -> tuple[PoseFeatureTransform | None, Any]:
    """``(fitted feature transform, classifier)`` of a pipeline that starts with a
    ``PoseFeatureTransform``; ``(None, model)`` for any other model."""
    if not isinstance(model, Pipeline) or not isinstance(model.steps[0][1], PoseFeatureTransform):
        return None, model
    features = model.steps[0][1]
    if not hasattr(features, "plan_"):
        features = features.fit()
    rest = model.steps[1:]
    classifier = rest[0][1] if len(rest) == 1 else Pipeline(rest)
    return features, classifier


def pose_pipeline(features: PoseFeatureTransform, classifier: Any) -> Pipeline:
    """The pipeline of a fitted transform and a classifier fitted on its columns; a classifier
    fitted on named columns gets a DataFrame with those names, else an array."""
    if getattr(classifier, "feature_names_in_", None) is not None:
        features = features.set_output(transform="pandas")
    return Pipeline([("features", features), ("classifier", classifier)])

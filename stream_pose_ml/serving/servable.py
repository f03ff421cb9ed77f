"""`ServableModel`: what the live service and the model service need of a loaded model.

``stream_pose_ml.learning.predictor.LoadedModel`` is the implementation; anything with these
members can be served (a test double, a wrapper around another library).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from stream_pose_ml.features.spec import FeatureSpec
    from stream_pose_ml.features.transform import PoseFeatureTransform


class ServableModel(Protocol):
    """A classifier of feature rows with the feature spec that makes its input columns."""

    estimator: Any
    format: str
    input_columns: tuple[str, ...]
    classes: tuple[Any, ...] | None
    feature_spec: FeatureSpec | None
    window_size: int
    window_stride: int

    @property
    def has_predict_proba(self) -> bool: ...

    def predict(self, rows: Any) -> np.ndarray:
        """Class values ``(n,)`` of rows ``(n, len(input_columns))``."""
        ...

    def predict_proba(self, rows: Any) -> np.ndarray:
        """Class probabilities ``(n, len(classes))``."""
        ...

    def label(self, values: Any) -> list[str]:
        """Class names of class values."""
        ...

    def feature_transform(self) -> PoseFeatureTransform:
        """The fitted transform that makes exactly ``input_columns`` from pose windows."""
        ...


def class_names(model: ServableModel) -> list[str] | None:
    """The model's class names in the order of ``classes`` (None if it does not say)."""
    classes: Sequence[Any] | None = model.classes
    return None if classes is None else list(model.label(list(classes)))

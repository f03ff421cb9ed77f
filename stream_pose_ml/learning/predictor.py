"""`LoadedModel`: one predictor interface over every saved model format."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stream_pose_ml.errors import FeatureSpecError, ModelLoadError
from stream_pose_ml.learning.native_predict import FEATURE_NAMES_WARNING, fast_predict_proba

if TYPE_CHECKING:
    from stream_pose_ml.features.spec import FeatureSpec
    from stream_pose_ml.features.transform import PoseFeatureTransform

log = logging.getLogger(__name__)

#: Names of the formats a :class:`LoadedModel` can come from.
MODEL_FORMATS: tuple[str, ...] = (
    "bundle",
    "legacy-pickle",
    "pickle",
    "joblib",
    "mlflow",
)


class LoadedModel:
    """A classifier with its input columns, classes and feature spec, whatever file it came from.

    ``predict(rows)`` and ``predict_proba(rows)`` take rows of the input columns: a DataFrame
    (columns are selected and ordered by name; extra columns are ignored), a mapping (one row),
    a list of mappings, or an array of shape ``(n, len(input_columns))`` (or one such row)
    already in column order. ``classes`` are the class values the model predicts (e.g. ``0, 1``),
    ``class_labels`` their names (e.g. from the training ``value_map``). ``warnings`` say what
    the file does not record and the loader assumed (the rounding of a spec read from names).

    Built for the live server's few rows at a time: native estimators get a float matrix in
    input-column order (a one-row DataFrame of 1,000 columns costs milliseconds to build and
    check), and estimator thread pools are set to one thread (``n_jobs=1``; a pool's start-up
    costs more than it saves for one row, up to 100x on a busy machine). Predictions do not
    change.
    """

    def __init__(
        self,
        estimator: Any,
        input_columns: Sequence[str],
        *,
        format: str,
        source: str,
        classes: Sequence[Any] | None = None,
        class_labels: Mapping[Any, str] | None = None,
        feature_spec: FeatureSpec | None = None,
        window_size: int | None = None,
        window_stride: int = 1,
        metrics: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        feature_spec_error: str | None = None,
        warnings: Sequence[str] = (),
    ) -> None:
        if not hasattr(estimator, "predict"):
            raise ModelLoadError(
                f"{source}: the loaded {type(estimator).__name__} object has no predict method; "
                "save a fitted classifier (an object with predict)"
            )
        self.estimator = estimator
        self.input_columns: tuple[str, ...] = tuple(str(c) for c in input_columns)
        if not self.input_columns:
            raise ModelLoadError(f"{source}: the model has no input columns")
        self.format = format
        self.source = source
        self.classes: tuple[Any, ...] | None = (
            None if classes is None else tuple(_plain(c) for c in classes)
        )
        self.class_labels: dict[Any, str] = {
            _plain(k): str(v) for k, v in (class_labels or {}).items()
        }
        self.feature_spec = feature_spec
        self.window_size = int(window_size or (feature_spec.window if feature_spec else 1))
        self.window_stride = int(window_stride)
        self.metrics = dict(metrics or {})
        self.metadata = dict(metadata or {})
        self._feature_spec_error = feature_spec_error
        self.warnings: list[str] = [str(w) for w in warnings]  # what the file does not record
        # MLflow's pyfunc enforces its named-column signature, so it gets a DataFrame; native
        # estimators get the matrix, and the warning of those fitted on named columns is muted.
        self._wants_frame = type(estimator).__module__.startswith("mlflow")
        self._fitted_on_names = hasattr(estimator, "feature_names_in_")
        _single_thread(estimator)
        # Native estimators' least-overhead call, used only where it equals their own answer.
        self._fast_proba = (
            None if self._wants_frame else fast_predict_proba(estimator, len(self.input_columns))
        )

    def __repr__(self) -> str:
        return (
            f"LoadedModel({type(self.estimator).__name__}, format={self.format!r}, "
            f"{len(self.input_columns)} input columns, classes={self.classes}, "
            f"source={self.source!r})"
        )

    @property
    def has_predict_proba(self) -> bool:
        return hasattr(self.estimator, "predict_proba")

    def predict(self, rows: Any) -> np.ndarray:
        """Class values, shape ``(n,)``."""
        data = self._model_input(rows)
        if not self._fitted_on_names:
            return np.asarray(self.estimator.predict(data)).reshape(-1)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=FEATURE_NAMES_WARNING, category=UserWarning)
            return np.asarray(self.estimator.predict(data)).reshape(-1)

    def predict_proba(self, rows: Any) -> np.ndarray:
        """Class probabilities, shape ``(n, classes)`` in the order of ``classes``."""
        if not self.has_predict_proba:
            raise ModelLoadError(
                f"{self.source}: this {type(self.estimator).__name__} model gives no class "
                "probabilities (no predict_proba); use predict"
            )
        data = self._model_input(rows)
        if self._fast_proba is not None:
            return self._fast_proba(data)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=FEATURE_NAMES_WARNING, category=UserWarning)
            return np.asarray(self.estimator.predict_proba(data))

    def label(self, values: Any) -> list[str]:
        """Class names of predicted class values (the value itself when no name is known)."""
        return [self.class_labels.get(_plain(v), str(_plain(v))) for v in np.ravel(values)]

    def transform(self) -> PoseFeatureTransform:
        """Deprecated name of :meth:`feature_transform`."""
        warnings.warn(
            "LoadedModel.transform() is deprecated; use LoadedModel.feature_transform()",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.feature_transform()

    def feature_transform(self) -> PoseFeatureTransform:
        """The fitted feature transform that makes exactly this model's input columns."""
        if self.feature_spec is None:
            reason = self._feature_spec_error or "it has no feature spec"
            raise ModelLoadError(
                f"{self.source}: cannot rebuild the feature transform: {reason}. Save the model "
                "as a bundle with its feature spec (stream_pose_ml.learning.save_bundle)"
            )
        from stream_pose_ml.features.transform import PoseFeatureTransform

        return PoseFeatureTransform(self.feature_spec, columns=list(self.input_columns)).fit()

    def pipeline(self) -> Any:
        """A scikit-learn ``Pipeline`` from pose windows to this model's predictions: the
        feature transform, then the classifier (see :mod:`.pose_pipeline`)."""
        from stream_pose_ml.learning.pose_pipeline import pose_pipeline

        return pose_pipeline(self.feature_transform(), self.estimator)

    # -- input shaping ----------------------------------------------------------------------
    def rows_to_matrix(self, rows: Any) -> np.ndarray:
        """``(n, len(input_columns))`` float64 matrix from any accepted rows."""
        if isinstance(rows, pd.DataFrame):
            missing = [c for c in self.input_columns if c not in rows.columns]
            if missing:
                raise FeatureSpecError(
                    f"rows lack {len(missing)} of the model's input columns "
                    f"(first: {missing[:5]}); {self.source} needs {len(self.input_columns)} "
                    "columns made by its feature spec"
                )
            return rows.loc[:, list(self.input_columns)].to_numpy(dtype=np.float64)
        if isinstance(rows, Mapping):
            rows = [rows]
        if isinstance(rows, Sequence) and rows and isinstance(rows[0], Mapping):
            return self.rows_to_matrix(pd.DataFrame.from_records(list(rows)))
        matrix = np.asarray(rows, dtype=np.float64)
        if matrix.ndim == 1:
            matrix = matrix.reshape(1, -1)
        if matrix.ndim != 2 or matrix.shape[1] != len(self.input_columns):
            raise FeatureSpecError(
                f"rows of shape {np.shape(rows)} do not fit {self.source}, which takes "
                f"{len(self.input_columns)} columns per row"
            )
        return matrix

    def _model_input(self, rows: Any) -> np.ndarray | pd.DataFrame:
        matrix = self.rows_to_matrix(rows)
        if self._wants_frame:
            return pd.DataFrame(matrix, columns=list(self.input_columns), copy=False)
        return matrix


def _single_thread(estimator: Any) -> None:
    """Set every ``n_jobs`` parameter of ``estimator`` (and its pipeline steps) to 1."""
    if not hasattr(estimator, "get_params") or not hasattr(estimator, "set_params"):
        return
    try:
        params = estimator.get_params(deep=True)
        threads = {k: 1 for k, v in params.items() if k.endswith("n_jobs") and v != 1}
        if threads:
            estimator.set_params(**threads)
    except Exception as exc:  # a foreign estimator with an unusual parameter API
        log.debug("left the thread settings of %s alone: %s", type(estimator).__name__, exc)


def _plain(value: Any) -> Any:
    """NumPy scalars as Python scalars, so classes compare and serialize simply."""
    return value.item() if isinstance(value, np.generic) else value

"""Learning: train classifiers on feature tables, save them as bundles, load any model format.

* :class:`~stream_pose_ml.learning.model_builder.ModelBuilder`: the original StreamPoseML's
  notebook workflow, over the step functions (``training_data``, ``split``, ``search``,
  ``training``, ``saving``).
* :func:`~stream_pose_ml.learning.bundle.save_bundle` / ``load_bundle``: model bundles.
* :func:`~stream_pose_ml.learning.loading.load_model`: bundle, legacy pickle, bare pickle or
  joblib estimator, MLflow model -> :class:`~stream_pose_ml.learning.predictor.LoadedModel`.
* :mod:`~stream_pose_ml.learning.mlflow_tracking`: runs, model logging, registry, serving.

Names are imported on first use, so ``from stream_pose_ml.learning import load_model`` does
not pay for scikit-learn's estimators or MLflow.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS: dict[str, str] = {
    "ModelBuilder": "model_builder",
    "BundleManifest": "bundle",
    "save_bundle": "bundle",
    "load_bundle": "bundle",
    "read_manifest": "bundle",
    "load_model": "loading",
    "LoadedModel": "predictor",
    "EvaluationReport": "evaluation",
    "evaluate_classifier": "evaluation",
    "grouped_cross_validate": "evaluation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

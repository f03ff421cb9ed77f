"""`load_model`: one loader for every model format this project accepts.

Accepted, by what ``path`` is:

* a bundle directory or ``.zip`` with ``manifest.json`` (:mod:`.bundle`);
* an MLflow model directory or ``.zip`` (``MLmodel`` with a signature), or an MLflow URI such as
  ``models:/name/version`` or ``runs:/<run id>/model``;
* a pickle or joblib file holding the legacy dict ``{"classifier": model, ...}`` written by
  ``ModelBuilder.save_model_and_datasets`` (input columns from the model's
  ``feature_names_in_``, else its ``"columns"`` entry, else the columns of the saved
  ``"X_test"`` / ``"X_train"`` data);
* a pickle or joblib file holding a bare fitted estimator (input columns from
  ``feature_names_in_``).

For a legacy dict or a bare estimator without a stored spec the feature spec is read from the
input column names (``FeatureSpec.from_columns``); the names do not say how the dataset was
rounded, so the model's ``warnings`` say which rounding is assumed (4 decimals). Pickle and
joblib files run code when loaded: load only files you trust.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stream_pose_ml.errors import FeatureSpecError, ModelLoadError
from stream_pose_ml.features.spec import FeatureSpec
from stream_pose_ml.learning import serialization
from stream_pose_ml.learning.bundle import MANIFEST_NAME, check_columns_match_spec, load_bundle_dir
from stream_pose_ml.learning.predictor import LoadedModel

log = logging.getLogger(__name__)

#: Keys of the legacy pickle dict that may hold the training data (input columns source).
LEGACY_DATA_KEYS: tuple[str, ...] = ("X_test", "X_train")
_MLFLOW_SCHEMES = ("models:/", "runs:/", "mlflow-artifacts:/")


def load_model(
    path: str | Path,
    *,
    trusted_types: Sequence[str] = (),
    require_feature_spec: bool = False,
    tracking_uri: str | None = None,
) -> LoadedModel:
    """Load any accepted model (see the module docstring) as a :class:`LoadedModel`.

    ``trusted_types`` extends the skops allow-list. With ``require_feature_spec`` a model whose
    feature spec cannot be found or read from its column names raises ModelLoadError at once
    (otherwise only ``LoadedModel.feature_transform()`` does). ``tracking_uri`` is used for
    MLflow URIs.
    """
    text = str(path)
    if text.startswith(_MLFLOW_SCHEMES):
        model = _load_mlflow_uri(text, trusted_types, tracking_uri)
    else:
        model = _load_path(Path(path), trusted_types)
    if require_feature_spec and model.feature_spec is None:
        model.feature_transform()  # raises ModelLoadError with the reason
    return model


def _load_path(path: Path, trusted_types: Sequence[str]) -> LoadedModel:
    if path.is_dir():
        return _load_directory(path, str(path), trusted_types)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file or directory")
    if path.suffix.lower() == ".zip":
        with serialization.extracted(path) as root:
            return _load_directory(root, str(path), trusted_types)
    obj, fmt = serialization.read_pickle_or_joblib(path)
    return from_object(obj, source=str(path), format=fmt)


def _load_directory(root: Path, source: str, trusted_types: Sequence[str]) -> LoadedModel:
    if (root / MANIFEST_NAME).is_file():
        return load_bundle_dir(root, source, trusted_types)
    if (root / "MLmodel").is_file():
        return _load_mlflow_dir(root, source, trusted_types)
    raise ModelLoadError(
        f"{source}: neither a model bundle ({MANIFEST_NAME}) nor an MLflow model (MLmodel); "
        "pass a bundle, an MLflow model, or a pickle / joblib file"
    )


def _load_mlflow_uri(
    uri: str, trusted_types: Sequence[str], tracking_uri: str | None
) -> LoadedModel:
    from stream_pose_ml.learning.mlflow_tracking import download_model

    with tempfile.TemporaryDirectory(prefix="spml-mlflow-") as tmp:
        local = download_model(uri, Path(tmp), tracking_uri=tracking_uri)
        return _load_mlflow_dir(local, uri, trusted_types)


def _load_mlflow_dir(root: Path, source: str, trusted_types: Sequence[str]) -> LoadedModel:
    from stream_pose_ml.learning.mlflow_tracking import read_mlflow_model

    estimator, columns, meta = read_mlflow_model(root, source=source, trusted_types=trusted_types)
    spec, spec_error, warnings = _model_spec(
        meta.get("feature_spec"), columns, source, "the logged feature spec"
    )
    classes = meta.get("classes")
    if classes is None and hasattr(estimator, "classes_"):
        classes = list(estimator.classes_)
    labels = meta.get("class_labels")
    window = meta.get("window") or {}
    return LoadedModel(
        estimator,
        columns,
        format="mlflow",
        source=source,
        classes=classes,
        class_labels=(
            dict(zip(classes, labels, strict=True)) if classes is not None and labels else None
        ),
        feature_spec=spec,
        window_size=window.get("size"),
        window_stride=window.get("stride", 1),
        metadata={"mlflow": meta},
        feature_spec_error=spec_error,
        warnings=warnings,
    )


def from_object(obj: Any, *, source: str = "<object>", format: str = "pickle") -> LoadedModel:
    """A :class:`LoadedModel` from an unpickled object: a legacy dict or a bare estimator."""
    if isinstance(obj, Mapping):
        return _from_legacy_dict(obj, source, format)
    if not hasattr(obj, "predict"):
        raise ModelLoadError(
            f"{source}: the file holds a {type(obj).__name__}, which has no predict method. "
            'Save a fitted classifier, or the dict {"classifier": model} that '
            "ModelBuilder.save_model_and_datasets writes"
        )
    columns = _model_columns(obj)
    if columns is None:
        raise ModelLoadError(
            f"{source}: cannot tell the model's input columns: the {type(obj).__name__} was "
            "fitted without column names (no feature_names_in_). Fit it on a DataFrame of "
            "feature columns, or save a bundle with input_columns (save_bundle)"
        )
    spec, spec_error, warnings = _spec_from_columns(columns)
    return LoadedModel(
        obj,
        columns,
        format=format,
        source=source,
        classes=getattr(obj, "classes_", None),
        feature_spec=spec,
        feature_spec_error=spec_error,
        warnings=warnings,
    )


def _from_legacy_dict(data: Mapping[str, Any], source: str, fmt: str) -> LoadedModel:
    if "classifier" not in data:
        raise ModelLoadError(
            f"{source}: the pickled dict has no 'classifier' entry "
            f"(keys: {sorted(map(str, data))}); the expected shape is "
            '{"classifier": model, ...}'
        )
    classifier = data["classifier"]
    if not hasattr(classifier, "predict"):
        raise ModelLoadError(
            f"{source}: data['classifier'] is a {type(classifier).__name__}, which has no "
            "predict method; store a fitted classifier there"
        )
    columns = _model_columns(classifier)
    origin = "the model's feature_names_in_"
    if columns is None and isinstance(data.get("columns"), (list, tuple)) and data["columns"]:
        columns, origin = [str(c) for c in data["columns"]], "data['columns']"
    for key in LEGACY_DATA_KEYS:
        if columns is None and hasattr(data.get(key), "columns"):
            columns, origin = [str(c) for c in data[key].columns], f"data[{key!r}].columns"
    if columns is None:
        raise ModelLoadError(
            f"{source}: cannot tell the model's input columns: the classifier has no "
            "feature_names_in_ and the dict holds no 'columns', 'X_test' or 'X_train' entry. "
            "Re-save with ModelBuilder.save_model_and_datasets or as a bundle (save_bundle)"
        )
    n_features = getattr(classifier, "n_features_in_", None)
    if n_features is not None and n_features != len(columns):
        raise ModelLoadError(
            f"{source}: {origin} lists {len(columns)} columns but the classifier takes "
            f"{n_features} features"
        )
    stored = data.get("feature_spec")  # written by this package's ModelBuilder
    spec, spec_error, warnings = _model_spec(
        stored if isinstance(stored, Mapping) else None, columns, source, "data['feature_spec']"
    )
    value_map = data.get("value_map")
    if isinstance(value_map, Mapping) and isinstance(value_map.get(data.get("target")), Mapping):
        value_map = value_map[data["target"]]  # the original StreamPoseML's per-column map
    classes = getattr(classifier, "classes_", None)
    labels = None
    if isinstance(value_map, Mapping) and all(_is_small(v) for v in value_map.values()):
        labels = {v: str(k) for k, v in value_map.items()}
    metrics = {
        key: data[key]
        for key in ("accuracy", "precision", "recall", "f1", "auc-roc")
        if isinstance(data.get(key), (int, float))
    }
    return LoadedModel(
        classifier,
        columns,
        format=f"legacy-{fmt}",
        source=source,
        classes=classes,
        class_labels=labels,
        feature_spec=spec,
        metrics=metrics,
        metadata={"legacy": {k: v for k, v in data.items() if _is_small(v)}},
        feature_spec_error=spec_error,
        warnings=warnings,
    )


def _model_columns(estimator: Any) -> list[str] | None:
    names = getattr(estimator, "feature_names_in_", None)
    if names is None or len(names) == 0:
        return None
    return [str(c) for c in names]


def _model_spec(
    stored: Mapping[str, Any] | None, columns: Sequence[str], source: str, what: str
) -> tuple[FeatureSpec | None, str | None, list[str]]:
    """The model's spec: the one stored with it (checked against its columns), else the one its
    column names describe; ``(spec, why there is none, warnings)``."""
    if stored is None:
        return _spec_from_columns(columns)
    try:
        spec = FeatureSpec.from_dict(stored)
    except FeatureSpecError as exc:
        raise ModelLoadError(f"{source}: {what} is invalid: {exc}") from exc
    check_columns_match_spec(columns, spec, source)
    return spec, None, []


def _spec_from_columns(
    columns: Sequence[str],
) -> tuple[FeatureSpec | None, str | None, list[str]]:
    """The spec read from column names (which cannot tell its rounding: warned), or
    ``(None, why not, [])``."""
    try:
        spec = FeatureSpec.from_columns(columns)
    except FeatureSpecError as exc:
        log.warning("cannot read a feature spec from the model's columns: %s", exc)
        return None, f"its input columns do not describe a feature spec ({exc})", []
    return spec, None, [precision_unknown_warning(spec)]


def precision_unknown_warning(spec: FeatureSpec) -> str:
    """The warning of a model whose feature spec was read from its column names: nothing says
    how its dataset was rounded, so the live rows may not equal the dataset rows."""
    return (
        "the model does not record its feature spec; read from its column names, which do not "
        "say how the training dataset was rounded, so live feature rows are rounded to "
        f"{spec.decimal_precision} decimals. If the dataset was not rounded so (format_dataset's "
        "default is decimal_precision=None), live rows differ from it: save the model with its "
        "feature spec (a bundle, or ModelBuilder from the dataset) to serve the dataset's rows"
    )


def _is_small(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None

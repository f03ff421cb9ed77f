"""Model bundles: a classifier file plus ``manifest.json``, as a directory or its zip.

The manifest records everything the live server needs to rebuild the training-time pipeline::

    {
      "bundle_version": 1,
      "classifier": {"format": "skops", "file": "classifier.skops",
                     "class": "sklearn.ensemble.RandomForestClassifier", "trusted_types": [...]},
      "input_columns": ["angle_left_elbow__t00", ...],       # model input, in order
      "classes": [0, 1],                                      # class values the model predicts
      "class_labels": ["Failure Weight Transfer", "Successful Weight Transfer"],
      "target": "weight_transfer_type",
      "value_map": {"Failure Weight Transfer": 0, "Successful Weight Transfer": 1},
      "window": {"size": 10, "stride": 1},                    # frames per row, frames between rows
      "feature_spec": {...},                                  # FeatureSpec.to_dict()
      "metrics": {"accuracy": 0.93, ...},
      "created_at": "2025-01-01T12:00:00+00:00",
      "package_version": "0.3.0",
      "library_versions": {"scikit-learn": "1.9.1", ...},
      "notes": ""
    }

Classifier formats: ``skops`` (default for scikit-learn models; loads without running code),
``xgboost-json`` (default for XGBoost), ``joblib``, ``pickle``, and ``mlflow`` (an MLflow model
directory ``mlflow_model/``, which ``mlflow models serve`` can serve as it is).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from stream_pose_ml.errors import FeatureSpecError, ModelLoadError, TrainingDataError
from stream_pose_ml.features.spec import FeatureSpec
from stream_pose_ml.learning import serialization
from stream_pose_ml.learning.pose_pipeline import split_pose_pipeline
from stream_pose_ml.learning.predictor import LoadedModel

log = logging.getLogger(__name__)

BUNDLE_VERSION = 1
MANIFEST_NAME = "manifest.json"
CLASSIFIER_FORMATS: tuple[str, ...] = tuple(serialization.CLASSIFIER_FILES)


@dataclass(frozen=True)
class BundleManifest:
    """The parsed ``manifest.json`` of a bundle (see the module docstring for the layout)."""

    classifier_format: str
    classifier_file: str
    input_columns: tuple[str, ...]
    classifier_class: str = ""
    trusted_types: tuple[str, ...] = ()
    classes: tuple[Any, ...] | None = None
    class_labels: tuple[str, ...] | None = None
    target: str | None = None
    value_map: dict[str, Any] | None = None
    window_size: int = 1
    window_stride: int = 1
    feature_spec: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    package_version: str = ""
    library_versions: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    bundle_version: int = BUNDLE_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle_version": self.bundle_version,
            "classifier": {
                "format": self.classifier_format,
                "file": self.classifier_file,
                "class": self.classifier_class,
                "trusted_types": list(self.trusted_types),
            },
            "input_columns": list(self.input_columns),
            "classes": None if self.classes is None else list(self.classes),
            "class_labels": None if self.class_labels is None else list(self.class_labels),
            "target": self.target,
            "value_map": self.value_map,
            "window": {"size": self.window_size, "stride": self.window_stride},
            "feature_spec": self.feature_spec,
            "metrics": self.metrics,
            "created_at": self.created_at,
            "package_version": self.package_version,
            "library_versions": self.library_versions,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = MANIFEST_NAME) -> BundleManifest:
        """Validate and parse a manifest; ModelLoadError naming ``source`` when it is wrong."""
        if not isinstance(data, Mapping):
            raise ModelLoadError(f"{source}: the manifest must be a JSON object")
        version = data.get("bundle_version")
        if version != BUNDLE_VERSION:
            raise ModelLoadError(
                f"{source}: bundle_version {version!r} is not supported; this StreamPoseML "
                f"reads bundle version {BUNDLE_VERSION}. Upgrade stream_pose_ml or re-save the "
                "bundle"
            )
        classifier = data.get("classifier")
        if not isinstance(classifier, Mapping) or not classifier.get("file"):
            raise ModelLoadError(f"{source}: 'classifier' must give a 'format' and a 'file'")
        fmt = classifier.get("format")
        if fmt not in CLASSIFIER_FORMATS:
            raise ModelLoadError(
                f"{source}: unknown classifier format {fmt!r}; known: {list(CLASSIFIER_FORMATS)}"
            )
        columns = data.get("input_columns")
        if (
            not isinstance(columns, list)
            or not columns
            or not all(isinstance(c, str) for c in columns)
        ):
            raise ModelLoadError(f"{source}: 'input_columns' must be a non-empty list of names")
        window = data.get("window") or {}
        try:
            size, stride = int(window.get("size", 1)), int(window.get("stride", 1))
        except (TypeError, ValueError, AttributeError):
            raise ModelLoadError(f"{source}: 'window' must be {{'size': N, 'stride': M}}") from None
        if size < 1 or stride < 1:
            raise ModelLoadError(f"{source}: window size and stride must be >= 1")
        classes = data.get("classes")
        labels = data.get("class_labels")
        if classes is not None and labels is not None and len(labels) != len(classes):
            raise ModelLoadError(f"{source}: 'class_labels' and 'classes' differ in length")
        return cls(
            classifier_format=fmt,
            classifier_file=str(classifier["file"]),
            classifier_class=str(classifier.get("class") or ""),
            trusted_types=tuple(classifier.get("trusted_types") or ()),
            input_columns=tuple(columns),
            classes=None if classes is None else tuple(classes),
            class_labels=None if labels is None else tuple(str(x) for x in labels),
            target=data.get("target"),
            value_map=data.get("value_map"),
            window_size=size,
            window_stride=stride,
            feature_spec=data.get("feature_spec"),
            metrics=dict(data.get("metrics") or {}),
            created_at=str(data.get("created_at") or ""),
            package_version=str(data.get("package_version") or ""),
            library_versions=dict(data.get("library_versions") or {}),
            notes=str(data.get("notes") or ""),
        )


def save_bundle(
    path: str | Path,
    model: Any,
    input_columns: Sequence[str] | None = None,
    *,
    feature_spec: FeatureSpec | Mapping[str, Any] | None = None,
    classes: Sequence[Any] | None = None,
    class_labels: Sequence[str] | Mapping[Any, str] | None = None,
    target: str | None = None,
    value_map: Mapping[str, Any] | None = None,
    window_size: int | None = None,
    window_stride: int = 1,
    metrics: Mapping[str, Any] | None = None,
    notes: str = "",
    classifier_format: str | None = None,
    input_example: Any = None,
    overwrite: bool = False,
) -> Path:
    """Write a fitted classifier and its manifest to ``path`` (a directory, or a ``.zip`` file).

    ``input_columns`` are the model's input columns in order. ``model`` may also be a
    ``Pipeline`` that starts with a ``PoseFeatureTransform`` (see :mod:`.pose_pipeline`): its
    columns and spec are the transform's, and the rest of the pipeline is the classifier.
    ``feature_spec`` is the spec that made the columns; when omitted it is read from the column
    names (``FeatureSpec.from_columns``, with ``window_size`` for pooled columns), and columns
    the spec cannot make raise FeatureSpecError. ``classes`` default to the model's
    ``classes_``; ``class_labels`` (names in the order of ``classes``, or a mapping class value
    -> name) default to the inverted ``value_map``: the target's ``{label: class}``, or the
    per-column ``{column: {label: class}}`` of ``ModelBuilder`` with ``target`` naming the
    column (the manifest keeps the target's map). ``classifier_format`` is one of
    :data:`CLASSIFIER_FORMATS` (default: skops, or xgboost-json for XGBoost). ``input_example``
    (rows of the input columns) is stored with an ``mlflow`` classifier.
    """
    if not hasattr(model, "predict"):
        raise TrainingDataError(
            f"cannot bundle a {type(model).__name__}: it has no predict method (fit a classifier)"
        )
    features, model = split_pose_pipeline(model)
    if features is not None:
        made = tuple(str(c) for c in features.get_feature_names_out())
        if input_columns is not None and tuple(str(c) for c in input_columns) != made:
            raise TrainingDataError(
                "input_columns differ from the columns the pipeline's feature transform makes"
            )
        input_columns, feature_spec = made, feature_spec or features.spec_
    if input_columns is None:
        raise TrainingDataError("save_bundle needs input_columns (the model's columns, in order)")
    columns = tuple(str(c) for c in input_columns)
    model_columns = getattr(model, "feature_names_in_", None)
    if model_columns is not None and tuple(str(c) for c in model_columns) != columns:
        raise TrainingDataError(
            "input_columns differ from the columns the model was fitted on "
            f"({len(model_columns)} columns, first {list(model_columns[:3])}); pass them in the "
            "training order"
        )
    spec = _resolve_spec(feature_spec, columns, window_size)
    check_columns_match_spec(columns, spec, "save_bundle", FeatureSpecError)
    if spec is not None and window_size is not None and window_size != spec.window:
        raise FeatureSpecError(
            f"window_size {window_size} differs from the feature spec's window {spec.window}"
        )
    fmt = classifier_format or serialization.default_format(model)
    if fmt not in CLASSIFIER_FORMATS:
        raise TrainingDataError(
            f"unknown classifier format {fmt!r}; use {list(CLASSIFIER_FORMATS)}"
        )
    value_map = target_value_map(value_map, target)
    class_values = _class_values(model, classes)
    labels = _class_label_list(class_values, class_labels, value_map)

    path = Path(path)
    as_zip = path.suffix.lower() == ".zip"
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".spml-bundle-", dir=None if as_zip else path.parent))
    try:
        if fmt == "mlflow":
            from stream_pose_ml.learning.mlflow_tracking import save_mlflow_model

            file_name = serialization.CLASSIFIER_FILES["mlflow"]
            trusted: list[str] = []
            save_mlflow_model(
                model,
                work / file_name,
                input_columns=columns,
                input_example=input_example,
                feature_spec=spec,
                classes=class_values,
                class_labels=labels,
                window_stride=window_stride,
            )
        else:
            file_name, trusted = serialization.write_classifier(model, work, fmt)
        manifest = BundleManifest(
            classifier_format=fmt,
            classifier_file=file_name,
            classifier_class=f"{type(model).__module__}.{type(model).__qualname__}",
            trusted_types=tuple(trusted),
            input_columns=columns,
            classes=class_values,
            class_labels=labels,
            target=target,
            value_map=None if value_map is None else _json_ready(dict(value_map)),
            window_size=spec.window if spec is not None else int(window_size or 1),
            window_stride=int(window_stride),
            feature_spec=None if spec is None else spec.to_dict(),
            metrics=_json_ready(dict(metrics or {})),
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            package_version=_package_version(),
            library_versions=_library_versions(),
            notes=notes,
        )
        (work / MANIFEST_NAME).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n")
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        if as_zip:
            serialization.zip_directory(work, path)
        else:
            work.replace(path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("saved %s bundle of %s to %s", fmt, type(model).__name__, path)
    return path


def read_manifest(path: str | Path) -> BundleManifest:
    """The manifest of a bundle directory."""
    manifest_path = Path(path) / MANIFEST_NAME
    if not manifest_path.is_file():
        raise ModelLoadError(f"{path}: no {MANIFEST_NAME}; this is not a model bundle")
    try:
        data = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{manifest_path}: not valid JSON ({exc})") from exc
    return BundleManifest.from_dict(data, str(manifest_path))


def load_bundle(path: str | Path, *, trusted_types: Sequence[str] = ()) -> LoadedModel:
    """Load a bundle directory or zip written by :func:`save_bundle`.

    ``trusted_types`` extends the skops allow-list (see :mod:`.serialization`). Raises
    ModelLoadError for a missing manifest or classifier file, an unknown bundle version, or
    input columns that the feature spec does not make.
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        with serialization.extracted(path) as root:
            return load_bundle_dir(root, str(path), trusted_types)
    if not path.is_dir():
        raise ModelLoadError(f"{path}: no such bundle directory or .zip file")
    return load_bundle_dir(path, str(path), trusted_types)


def load_bundle_dir(root: Path, source: str, trusted_types: Sequence[str] = ()) -> LoadedModel:
    """Load an unpacked bundle at ``root``; errors and the result name ``source``."""
    manifest = read_manifest(root)
    classifier_path = root / manifest.classifier_file
    if not classifier_path.exists():
        raise ModelLoadError(
            f"{source}: the manifest names classifier file {manifest.classifier_file!r}, "
            "which is missing from the bundle"
        )
    if manifest.classifier_format == "mlflow":
        from stream_pose_ml.learning.mlflow_tracking import read_mlflow_model

        estimator, mlflow_columns, _ = read_mlflow_model(
            classifier_path, source=source, trusted_types=trusted_types
        )
        if tuple(mlflow_columns) != manifest.input_columns:
            raise ModelLoadError(
                f"{source}: the MLflow signature's columns differ from the manifest's input_columns"
            )
    else:
        estimator = serialization.read_classifier(
            classifier_path,
            manifest.classifier_format,
            estimator_class=manifest.classifier_class,
            trusted_types=trusted_types,
        )
    if not hasattr(estimator, "predict"):
        raise ModelLoadError(
            f"{source}: the classifier ({type(estimator).__name__}) has no predict method"
        )
    model_columns = getattr(estimator, "feature_names_in_", None)
    if model_columns is not None and tuple(str(c) for c in model_columns) != manifest.input_columns:
        raise ModelLoadError(
            f"{source}: the classifier was fitted on other columns than the manifest's "
            "input_columns; re-save the bundle from the trained model"
        )
    spec = None
    if manifest.feature_spec is not None:
        try:
            spec = FeatureSpec.from_dict(manifest.feature_spec)
        except FeatureSpecError as exc:
            raise ModelLoadError(
                f"{source}: the manifest's feature_spec is invalid: {exc}"
            ) from exc
        check_columns_match_spec(manifest.input_columns, spec, source)
    classes = manifest.classes
    if classes is None and hasattr(estimator, "classes_"):
        classes = tuple(estimator.classes_)
    labels = (
        dict(zip(classes, manifest.class_labels, strict=True))
        if classes is not None and manifest.class_labels is not None
        else None
    )
    return LoadedModel(
        estimator,
        manifest.input_columns,
        format="bundle",
        source=source,
        classes=classes,
        class_labels=labels,
        feature_spec=spec,
        window_size=manifest.window_size,
        window_stride=manifest.window_stride,
        metrics=manifest.metrics,
        metadata={"manifest": manifest.to_dict()},
        feature_spec_error=None if spec else "its manifest has no feature_spec",
    )


def check_columns_match_spec(
    columns: Sequence[str],
    spec: FeatureSpec | None,
    source: str,
    error: type[Exception] = ModelLoadError,
) -> None:
    """Raise ``error`` when ``spec`` does not make every one of ``columns``."""
    missing = [] if spec is None else spec.missing_columns(columns)
    if missing:
        raise error(
            f"{source}: {len(missing)} input columns are not made by the feature spec "
            f"(first: {missing[:5]}); the spec and the model's columns must come from the same "
            "dataset"
        )


def _resolve_spec(
    feature_spec: FeatureSpec | Mapping[str, Any] | None,
    columns: Sequence[str],
    window_size: int | None,
) -> FeatureSpec | None:
    if feature_spec is not None:
        return FeatureSpec.coerce(feature_spec)
    return FeatureSpec.from_columns(columns, window=window_size)


def target_value_map(
    value_map: Mapping[str, Any] | None, target: str | None
) -> Mapping[str, Any] | None:
    """The target's ``{label: class}`` map from ``value_map``: that map itself, or its
    ``target`` entry when it maps columns to maps. TrainingDataError when it cannot tell."""
    if value_map is None:
        return None
    if not isinstance(value_map, Mapping):
        raise TrainingDataError(
            f"value_map must map labels to classes, got a {type(value_map).__name__}"
        )
    nested = [k for k, v in value_map.items() if isinstance(v, Mapping)]
    if not nested:
        return value_map
    if len(nested) == len(value_map) and target in value_map:
        return value_map[str(target)]
    what = "maps the columns" if len(nested) == len(value_map) else "mixes class values and"
    raise TrainingDataError(
        f"value_map {what} {sorted(map(str, nested))} to label maps; pass the target's own "
        f"{{label: class}} map, or {{column: {{label: class}}}} with target= naming the target "
        f"column (target is {target!r})"
    )


def _class_values(model: Any, classes: Sequence[Any] | None) -> tuple[Any, ...] | None:
    values = classes if classes is not None else getattr(model, "classes_", None)
    return None if values is None else tuple(_json_ready(list(values)))


def _class_label_list(
    classes: tuple[Any, ...] | None,
    class_labels: Sequence[str] | Mapping[Any, str] | None,
    value_map: Mapping[str, Any] | None,
) -> tuple[str, ...] | None:
    if classes is None:
        return None
    if class_labels is None and value_map:
        class_labels = {_json_ready(v): str(k) for k, v in value_map.items()}
    if class_labels is None:
        return tuple(str(c) for c in classes)
    if isinstance(class_labels, Mapping):
        plain = {_json_ready(k): str(v) for k, v in class_labels.items()}
        return tuple(plain.get(c, str(c)) for c in classes)
    labels = tuple(str(x) for x in class_labels)
    if len(labels) != len(classes):
        raise TrainingDataError(f"{len(labels)} class_labels for {len(classes)} classes")
    return labels


def _json_ready(value: Any) -> Any:
    """NumPy scalars and arrays inside dicts and lists as plain Python values."""
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _package_version() -> str:
    from stream_pose_ml import __version__

    return __version__


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("scikit-learn", "xgboost-cpu", "xgboost", "numpy", "skops", "mlflow"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out

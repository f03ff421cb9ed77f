"""MLflow: tracking training runs, logging and registering models, reading and serving them.

Tracking URI: ``tracking_uri`` when given, else ``$MLFLOW_TRACKING_URI``, else one already set
with ``mlflow.set_tracking_uri`` (or by an earlier call here), else an embedded SQLite store in
the data folder, ``sqlite:///<data>/mlflow.db`` with artifacts in ``<data>/mlartifacts``
(data folder: ``$STREAM_POSE_ML_DATA`` or ``./data``; any SQLite store keeps its artifacts in
``mlartifacts`` next to the database). Any MLflow server works by URI
(``http://host:5000``). MLflow 3 refuses a plain file store (``./mlruns``) unless
``MLFLOW_ALLOW_FILE_STORE=true``, which is why the default is SQLite.

Models are logged with a signature (one ``double`` column per input column), an input example
and the feature spec, both as ``extra_files/feature_spec.json`` inside the model and in the
``stream_pose_ml`` entry of the ``MLmodel`` metadata. scikit-learn models are saved with skops:
the types skops must trust are listed in the ``MLmodel`` file (``skops_trusted_types``) and must
come from scikit-learn, NumPy or SciPy. XGBoost models are saved in XGBoost's own JSON format.

MLflow 3 refuses to deserialize scikit-learn models (skops included) unless
``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true``; :class:`ModelServer` sets it for the server
process it starts. :func:`read_mlflow_model` reads the skops file itself, with the allow-list
of :mod:`.serialization`, so loading in-process needs no such switch.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stream_pose_ml.errors import CodeLoadingRefusedError, ModelLoadError, TrainingDataError
from stream_pose_ml.learning import serialization
from stream_pose_ml.learning.mlflow_server import ModelServer as ModelServer  # documented path
from stream_pose_ml.learning.paths import data_dir

if TYPE_CHECKING:
    from stream_pose_ml.features.spec import FeatureSpec

log = logging.getLogger(__name__)

#: Default experiment name.
DEFAULT_EXPERIMENT = "stream_pose_ml"
#: Key of this package's entry in an ``MLmodel`` file's metadata.
METADATA_KEY = "stream_pose_ml"
#: Where the feature spec sits inside a logged model directory.
FEATURE_SPEC_FILE = "extra_files/feature_spec.json"


def default_tracking_uri() -> str:
    """``sqlite:///<data>/mlflow.db`` (absolute path; the folder is created on use)."""
    return f"sqlite:///{data_dir() / 'mlflow.db'}"


def default_artifact_location(experiment: str, tracking_uri: str | None = None) -> str | None:
    """Artifacts of ``experiment`` on a SQLite store: ``mlartifacts/<experiment>`` next to the
    database file, as a ``file://`` URI (default store: ``<data>/mlartifacts/<experiment>``).
    None for other stores, which choose their own location.
    """
    uri = tracking_uri or default_tracking_uri()
    if not uri.startswith("sqlite:///"):
        return None
    database = Path(uri.removeprefix("sqlite:///")).resolve()
    return (database.parent / "mlartifacts" / experiment).as_uri()


def configure_tracking(tracking_uri: str | None = None) -> str:
    """Point MLflow at a tracking store for this process and return its URI.

    In order: ``tracking_uri``; ``$MLFLOW_TRACKING_URI``; a URI already set in this process
    (``mlflow.set_tracking_uri``, or an earlier call); the default SQLite store in the data
    folder (MLflow's own default would be ``./mlflow.db`` in the working directory).
    """
    import mlflow

    inherited = not tracking_uri and mlflow.is_tracking_uri_set()  # environment, or set before
    uri = mlflow.get_tracking_uri() if inherited else tracking_uri or default_tracking_uri()
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if not inherited:
        mlflow.set_tracking_uri(uri)
    return uri


def get_or_create_experiment(name: str = DEFAULT_EXPERIMENT) -> str:
    """The id of experiment ``name``, created if needed.

    On a SQLite store its artifacts go next to the database, to ``mlartifacts/<name>``
    (MLflow's own default would be ``./mlruns`` in whatever the working directory happens to be).
    """
    import mlflow

    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = default_artifact_location(name, mlflow.get_tracking_uri())
    return mlflow.create_experiment(name, artifact_location=location)


# -- signature and metadata -------------------------------------------------------------------
def model_signature(model: Any, input_columns: Sequence[str], input_example: pd.DataFrame) -> Any:
    """An MLflow signature: one ``double`` input per column, output inferred from predictions."""
    from mlflow.models.signature import ModelSignature, infer_signature
    from mlflow.types.schema import ColSpec, Schema

    inputs = Schema([ColSpec("double", name) for name in input_columns])
    outputs = infer_signature(input_example, np.asarray(model.predict(input_example))).outputs
    return ModelSignature(inputs=inputs, outputs=outputs)


def _example_frame(input_example: Any, input_columns: Sequence[str]) -> pd.DataFrame:
    columns = list(input_columns)
    if input_example is None:
        return pd.DataFrame(np.zeros((1, len(columns))), columns=columns)
    if isinstance(input_example, pd.DataFrame):
        missing = [c for c in columns if c not in input_example.columns]
        if missing:
            raise TrainingDataError(f"input_example lacks input columns {missing[:5]}")
        return input_example.loc[:, columns].astype(np.float64).head(5).reset_index(drop=True)
    matrix = np.atleast_2d(np.asarray(input_example, dtype=np.float64))[:5]
    return pd.DataFrame(matrix, columns=columns)


def _metadata(
    feature_spec: FeatureSpec | None,
    classes: Sequence[Any] | None,
    class_labels: Sequence[str] | None,
    window_stride: int,
) -> dict[str, Any]:
    from stream_pose_ml import __version__

    return {
        METADATA_KEY: {
            "feature_spec": None if feature_spec is None else feature_spec.to_dict(),
            "classes": None if classes is None else [_plain(c) for c in classes],
            "class_labels": None if class_labels is None else [str(x) for x in class_labels],
            "window": {
                "size": feature_spec.window if feature_spec is not None else 1,
                "stride": int(window_stride),
            },
            "package_version": __version__,
        }
    }


def _flavor_kwargs(model: Any, spec_file: Path | None) -> tuple[Any, dict[str, Any]]:
    """The MLflow flavor module for ``model`` and its save/log keyword arguments."""
    kwargs: dict[str, Any] = {"pip_requirements": _pip_requirements(model)}
    if spec_file is not None:
        kwargs["extra_files"] = [str(spec_file)]
    if serialization.is_xgboost_model(model):
        import mlflow.xgboost

        kwargs["model_format"] = "json"
        return mlflow.xgboost, kwargs
    import mlflow.sklearn

    kwargs["serialization_format"] = "skops"
    kwargs["skops_trusted_types"] = serialization.skops_types(model)
    return mlflow.sklearn, kwargs


def _pip_requirements(model: Any) -> list[str]:
    """Pinned requirements of a logged model.

    Given explicitly, because MLflow's inference of them loads the model in a subprocess,
    which takes about ten seconds per model.
    """
    from importlib.metadata import PackageNotFoundError, version

    names = ["mlflow", "numpy", "pandas", "scikit-learn", "skops", "xgboost-cpu", "xgboost"]
    if not serialization.is_xgboost_model(model):
        names = [n for n in names if not n.startswith("xgboost")]
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def _classes_and_labels(
    model: Any, classes: Sequence[Any] | None, class_labels: Sequence[str] | None
) -> tuple[list[Any] | None, list[str] | None]:
    values = classes if classes is not None else getattr(model, "classes_", None)
    values = None if values is None else [_plain(c) for c in values]
    labels = None if class_labels is None else [str(x) for x in class_labels]
    return values, labels


def save_mlflow_model(
    model: Any,
    path: str | Path,
    *,
    input_columns: Sequence[str],
    input_example: Any = None,
    feature_spec: FeatureSpec | None = None,
    classes: Sequence[Any] | None = None,
    class_labels: Sequence[str] | None = None,
    window_stride: int = 1,
) -> Path:
    """Save ``model`` as an MLflow model directory at ``path``, servable by ``mlflow models serve``.

    ``input_example`` is rows of the input columns (DataFrame or array); without one a row of
    zeros is stored.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists")
    example = _example_frame(input_example, input_columns)
    values, labels = _classes_and_labels(model, classes, class_labels)
    with tempfile.TemporaryDirectory(prefix="spml-spec-") as tmp:
        spec_file = _write_spec_file(feature_spec, Path(tmp))
        flavor, kwargs = _flavor_kwargs(model, spec_file)
        flavor.save_model(
            model,
            str(path),
            signature=model_signature(model, input_columns, example),
            input_example=example,
            metadata=_metadata(feature_spec, values, labels, window_stride),
            **kwargs,
        )
    return path


def log_model(
    model: Any,
    *,
    input_columns: Sequence[str],
    input_example: Any = None,
    feature_spec: FeatureSpec | None = None,
    classes: Sequence[Any] | None = None,
    class_labels: Sequence[str] | None = None,
    window_stride: int = 1,
    name: str = "model",
    registered_model_name: str | None = None,
) -> Any:
    """Log ``model`` to the active run (signature, input example, feature spec); ModelInfo.

    With ``registered_model_name`` the model is also registered (a new version each call).
    """
    example = _example_frame(input_example, input_columns)
    values, labels = _classes_and_labels(model, classes, class_labels)
    with tempfile.TemporaryDirectory(prefix="spml-spec-") as tmp:
        spec_file = _write_spec_file(feature_spec, Path(tmp))
        flavor, kwargs = _flavor_kwargs(model, spec_file)
        return flavor.log_model(
            model,
            name=name,
            signature=model_signature(model, input_columns, example),
            input_example=example,
            metadata=_metadata(feature_spec, values, labels, window_stride),
            registered_model_name=registered_model_name,
            **kwargs,
        )


def _write_spec_file(feature_spec: FeatureSpec | None, folder: Path) -> Path | None:
    if feature_spec is None:
        return None
    path = folder / "feature_spec.json"
    path.write_text(feature_spec.to_json(indent=2))
    return path


@dataclass(frozen=True)
class TrackedRun:
    """What :func:`log_training_run` logged: run, model URI and registered version (if any)."""

    run_id: str
    experiment_id: str
    tracking_uri: str
    model_uri: str
    registered_model_uri: str | None = None
    registered_version: int | None = None


def log_training_run(
    model: Any,
    *,
    input_columns: Sequence[str],
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    artifacts: Sequence[str | Path] = (),
    feature_spec: FeatureSpec | None = None,
    input_example: Any = None,
    classes: Sequence[Any] | None = None,
    class_labels: Sequence[str] | None = None,
    window_stride: int = 1,
    tags: Mapping[str, str] | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    run_name: str | None = None,
    register_as: str | None = None,
    tracking_uri: str | None = None,
) -> TrackedRun:
    """Log one training run: params, metrics (NaN skipped), artifact files (e.g. plot PNGs), the
    feature spec (``feature_spec.json``) and the model; optionally register it as ``register_as``.
    """
    import mlflow

    uri = configure_tracking(tracking_uri)
    experiment_id = get_or_create_experiment(experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        if params:
            mlflow.log_params({str(k): _param_value(v) for k, v in params.items()})
        finite = {
            str(k): float(v)
            for k, v in (metrics or {}).items()
            if v is not None and np.isfinite(float(v))
        }
        if finite:
            mlflow.log_metrics(finite)
        if tags:
            mlflow.set_tags(dict(tags))
        for artifact in artifacts:
            mlflow.log_artifact(str(artifact), artifact_path="plots")
        if feature_spec is not None:
            mlflow.log_dict(feature_spec.to_dict(), "feature_spec.json")
        info = log_model(
            model,
            input_columns=input_columns,
            input_example=input_example,
            feature_spec=feature_spec,
            classes=classes,
            class_labels=class_labels,
            window_stride=window_stride,
            registered_model_name=register_as,
        )
    version = getattr(info, "registered_model_version", None)
    registered_uri = f"models:/{register_as}/{version}" if register_as and version else None
    log.info("logged run %s to %s (model %s)", run.info.run_id, uri, info.model_uri)
    return TrackedRun(
        run_id=run.info.run_id,
        experiment_id=experiment_id,
        tracking_uri=uri,
        model_uri=info.model_uri,
        registered_model_uri=registered_uri,
        registered_version=None if version is None else int(version),
    )


def _param_value(value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)[:6000]
    return value


# -- reading ----------------------------------------------------------------------------------
def download_model(model_uri: str, destination: Path, tracking_uri: str | None = None) -> Path:
    """Download ``models:/name/version``, ``runs:/...`` or any MLflow model URI to a folder."""
    import mlflow

    configure_tracking(tracking_uri)
    try:
        return Path(
            mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(destination))
        )
    except Exception as exc:
        raise ModelLoadError(
            f"{model_uri}: cannot download the model from {mlflow.get_tracking_uri()} ({exc})"
        ) from exc


def read_mlflow_model(
    directory: str | Path, *, source: str | None = None, trusted_types: Sequence[str] = ()
) -> tuple[Any, list[str], dict[str, Any]]:
    """Read an MLflow model directory: (estimator, input columns, ``stream_pose_ml`` metadata).

    The estimator is the native scikit-learn or XGBoost model when the directory has that flavor
    (so ``predict_proba`` works), else the ``pyfunc`` model. The metadata holds ``feature_spec``
    (from ``MLmodel`` or ``extra_files/feature_spec.json``), ``classes`` and ``class_labels`` when
    they were logged. A model without a signature, or with one without column names, raises
    ModelLoadError: the input columns are what ties the model to its feature transform.
    """
    from mlflow.models import Model

    directory = Path(directory)
    source = source or str(directory)
    mlmodel_path = directory / "MLmodel"
    if not mlmodel_path.is_file():
        raise ModelLoadError(f"{source}: no MLmodel file; this is not an MLflow model directory")
    try:
        mlmodel = Model.load(str(mlmodel_path))
    except Exception as exc:
        raise ModelLoadError(f"{source}: cannot read MLmodel ({exc})") from exc
    if mlmodel.signature is None:
        raise ModelLoadError(
            f"{source}: the MLflow model has no signature, so its input columns are unknown; "
            "log it with a signature (stream_pose_ml.learning.mlflow_tracking.log_model does)"
        )
    names = mlmodel.signature.inputs.input_names() if mlmodel.signature.inputs else []
    if not names or any(not isinstance(n, str) for n in names):
        raise ModelLoadError(
            f"{source}: the MLflow signature has no named input columns (a tensor signature?); "
            "log the model with a DataFrame signature, one column per feature"
        )
    meta = dict((mlmodel.metadata or {}).get(METADATA_KEY) or {})
    spec_path = directory / FEATURE_SPEC_FILE
    if meta.get("feature_spec") is None and spec_path.is_file():
        meta["feature_spec"] = json.loads(spec_path.read_text())
    return _mlflow_estimator(directory, mlmodel, source, trusted_types), list(names), meta


def _mlflow_estimator(
    directory: Path, mlmodel: Any, source: str, trusted_types: Sequence[str]
) -> Any:
    flavors = mlmodel.flavors
    try:
        if "sklearn" in flavors:
            conf = flavors["sklearn"]
            file = directory / conf["pickled_model"]
            fmt = conf.get("serialization_format", "cloudpickle")
            if fmt == "skops":  # the MLmodel's own skops_trusted_types are not trusted
                return serialization.read_skops(file, trusted_types)
            serialization.check_code_loading(f"an MLflow model saved with {fmt}")
            import cloudpickle

            with file.open("rb") as f:  # pickle and cloudpickle files both load with cloudpickle
                return cloudpickle.load(f)
        if "xgboost" in flavors:
            import mlflow.xgboost

            return mlflow.xgboost.load_model(str(directory))
        serialization.check_code_loading("an MLflow python_function model (cloudpickle)")
        import mlflow.pyfunc

        return mlflow.pyfunc.load_model(str(directory))
    except (ModelLoadError, CodeLoadingRefusedError):
        raise
    except Exception as exc:
        raise ModelLoadError(f"{source}: cannot load the MLflow model ({exc})") from exc


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value

"""Classifier files: write and read one estimator in skops, joblib, pickle or XGBoost JSON.

Pickle and joblib files run code when loaded: load only files you trust, or turn such loading
off with :func:`code_loading` (a shared server's uploads). skops files load without
running code, but only for types on an allow-list: every type from scikit-learn, NumPy and SciPy
is trusted (:data:`SKOPS_TRUSTED_PREFIXES`), anything else must be passed as ``trusted_types`` by
the caller. Lists of trusted types stored inside a file (a bundle manifest, an ``MLmodel``) are
never used for this: a crafted file could list anything.
"""

from __future__ import annotations

import logging
import pickle
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from stream_pose_ml.errors import CodeLoadingRefusedError, ModelLoadError

log = logging.getLogger(__name__)

#: Classifier file formats of a bundle, with the file name each is written to.
CLASSIFIER_FILES: dict[str, str] = {
    "skops": "classifier.skops",
    "joblib": "classifier.joblib",
    "pickle": "classifier.pkl",
    "xgboost-json": "classifier.xgb.json",
    "mlflow": "mlflow_model",
}

#: Formats whose loading runs code from the file.
CODE_FORMATS: frozenset[str] = frozenset({"pickle", "joblib", "cloudpickle"})

_code_loading: ContextVar[bool] = ContextVar("stream_pose_ml_code_loading", default=True)


@contextmanager
def code_loading(allowed: bool) -> Iterator[None]:
    """Allow or refuse (``CodeLoadingRefusedError``, 415 ``format_refused``) loading the
    formats that run code, in this thread or task, inside the block."""
    token = _code_loading.set(allowed)
    try:
        yield
    finally:
        _code_loading.reset(token)


def check_code_loading(what: str) -> None:
    """Raise ``CodeLoadingRefusedError`` if loading ``what`` (a format that runs code) is off."""
    if not _code_loading.get():
        raise CodeLoadingRefusedError(
            None,
            f"{what} runs code when it is loaded, and loading such files is turned off here "
            "(STREAM_POSE_ML_ALLOW_PICKLE=0): send a model bundle (skops or XGBoost JSON inside) "
            "or an MLflow model saved with skops",
        )


#: Module prefixes of the types a skops file may contain without being named in trusted_types.
SKOPS_TRUSTED_PREFIXES: tuple[str, ...] = ("sklearn.", "numpy.", "scipy.")


def default_format(model: Any) -> str:
    """``xgboost-json`` for XGBoost models, ``skops`` when skops can hold the model, else joblib."""
    if is_xgboost_model(model):
        return "xgboost-json"
    try:
        skops_types(model)
    except (ModelLoadError, TypeError, ValueError, AttributeError) as exc:
        log.info("skops cannot hold %s (%s); using joblib", type(model).__name__, exc)
        return "joblib"
    return "skops"


def is_xgboost_model(model: Any) -> bool:
    return type(model).__module__.startswith("xgboost.") and hasattr(model, "save_model")


def skops_types(model: Any) -> list[str]:
    """The types skops asks to trust for ``model``; ModelLoadError if any is off the allow-list."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    _check_trusted(untrusted, (), f"a {type(model).__name__} model")
    return list(untrusted)


def write_classifier(model: Any, directory: Path, fmt: str) -> tuple[str, list[str]]:
    """Write ``model`` into ``directory`` in format ``fmt``; return (file name, skops types)."""
    name = CLASSIFIER_FILES.get(fmt)
    if name is None or fmt == "mlflow":
        raise ModelLoadError(
            f"cannot write classifier format {fmt!r} here; use one of "
            f"{[f for f in CLASSIFIER_FILES if f != 'mlflow']}"
        )
    path = directory / name
    trusted: list[str] = []
    if fmt == "skops":
        import skops.io

        trusted = skops_types(model)
        skops.io.dump(model, path)
    elif fmt == "joblib":
        import joblib

        joblib.dump(model, path)
    elif fmt == "pickle":
        with path.open("wb") as f:
            pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
    else:
        if not is_xgboost_model(model):
            raise ModelLoadError(
                f"format 'xgboost-json' needs an XGBoost model, got {type(model).__name__}"
            )
        model.save_model(path)
    return name, trusted


def read_classifier(
    path: Path, fmt: str, *, estimator_class: str | None = None, trusted_types: Sequence[str] = ()
) -> Any:
    """Read one classifier file written by :func:`write_classifier`."""
    if not path.is_file():
        raise ModelLoadError(f"{path}: classifier file is missing")
    if fmt in CODE_FORMATS:
        check_code_loading(f"a {fmt} classifier")
    try:
        if fmt == "skops":
            return read_skops(path, trusted_types)
        if fmt == "joblib":
            import joblib

            return joblib.load(path)
        if fmt == "pickle":
            with path.open("rb") as f:
                return pickle.load(f)
        if fmt == "xgboost-json":
            return _read_xgboost(path, estimator_class)
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"{path}: cannot read the {fmt} classifier: {exc}") from exc
    raise ModelLoadError(f"{path}: unknown classifier format {fmt!r}")


def read_skops(path: Path, trusted_types: Sequence[str] = ()) -> Any:
    """Load a skops file, trusting the allow-list plus ``trusted_types``."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=path)
    _check_trusted(untrusted, trusted_types, str(path))
    return skops.io.load(path, trusted=untrusted)


def _check_trusted(untrusted: Sequence[str], trusted_types: Sequence[str], what: str) -> None:
    refused = [
        t for t in untrusted if not t.startswith(SKOPS_TRUSTED_PREFIXES) and t not in trusted_types
    ]
    if refused:
        raise ModelLoadError(
            f"{what} holds types outside the skops allow-list: {refused}. If you trust them, "
            "pass trusted_types=[...] with these names"
        )


def _read_xgboost(path: Path, estimator_class: str | None) -> Any:
    import xgboost

    classes = {"XGBClassifier": xgboost.XGBClassifier, "XGBRFClassifier": xgboost.XGBRFClassifier}
    name = (estimator_class or "XGBClassifier").rsplit(".", 1)[-1]
    if name not in classes:
        raise ModelLoadError(f"{path}: unsupported XGBoost class {estimator_class!r}")
    model = classes[name]()
    model.load_model(path)
    return model


def read_pickle_or_joblib(path: Path) -> tuple[Any, str]:
    """Load a pickle or joblib file; return (object, "pickle" | "joblib")."""
    import joblib

    check_code_loading("a pickle or joblib file")
    first_error: Exception | None = None
    if path.suffix.lower() != ".joblib":
        try:
            with path.open("rb") as f:
                return pickle.load(f), "pickle"
        except Exception as exc:  # not a plain pickle: may be a compressed joblib file
            first_error = exc
    try:
        return joblib.load(path), "joblib"
    except Exception as exc:
        detail = first_error or exc
        raise ModelLoadError(
            f"{path}: not a readable pickle or joblib file ({type(detail).__name__}: {detail}). "
            "If it needs a class from another package, install that package first"
        ) from exc


# -- archives ---------------------------------------------------------------------------------
@contextmanager
def extracted(path: Path) -> Iterator[Path]:
    """Unpack a zip into a temporary folder and yield the folder holding its content.

    A zip of a folder (one top-level directory and nothing else) yields that directory.
    Members with absolute paths or ``..`` are refused.
    """
    tmp = Path(tempfile.mkdtemp(prefix="spml-model-"))
    try:
        try:
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    parts = Path(member).parts
                    if Path(member).is_absolute() or ".." in parts:
                        raise ModelLoadError(f"{path}: unsafe path {member!r} in the zip")
                archive.extractall(tmp)
        except zipfile.BadZipFile as exc:
            raise ModelLoadError(f"{path}: not a valid zip file ({exc})") from exc
        entries = [p for p in tmp.iterdir() if p.name not in ("__MACOSX", ".DS_Store")]
        yield entries[0] if len(entries) == 1 and entries[0].is_dir() else tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def zip_directory(directory: Path, destination: Path) -> Path:
    """Zip the content of ``directory`` (not the folder itself) into ``destination``."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(directory.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(directory).as_posix())
    partial.replace(destination)
    return destination

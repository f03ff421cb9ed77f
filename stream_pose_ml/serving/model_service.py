"""`ModelService`: the logic of the ``mlflow/`` model service, without Flask.

It loads MLflow models (uploaded archives, or folders and archives on its machine) and scores
feature rows with MLflow's scoring protocol (:mod:`~stream_pose_ml.serving.scoring`). Uploads are
stored and safely extracted by a :class:`~stream_pose_ml.serving.model_store.ModelStore` that
accepts MLflow models only; the loaded models live in the process's one
:class:`~stream_pose_ml.serving.model_cache.ModelCache` (an upload evicted from it is deleted: the
service keeps on disk only what it holds in memory). The model loaded last is the current one,
scored when a request names none. The Flask routes are in ``api/model_service.py``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from stream_pose_ml.archives import ArchiveLimits
from stream_pose_ml.errors import ServingError, StreamPoseMLError
from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving.model_cache import ModelCache
from stream_pose_ml.serving.model_store import ModelStore, check_model_id
from stream_pose_ml.serving.scoring import INPUT_KEYS, bad_payload, parse_rows, predict_method
from stream_pose_ml.serving.servable import ServableModel, class_names

logger = logging.getLogger(__name__)


@dataclass
class ServedModel:
    """A loaded MLflow model and where it came from (``stored``: an upload in the store)."""

    model_id: str
    model: ServableModel
    source: str
    stored: bool
    loaded_at: float = field(default_factory=time.time)

    def describe(self) -> dict[str, Any]:
        model = self.model
        spec = model.feature_spec
        return {
            "model_id": self.model_id,
            "source": self.source,
            "format": model.format,
            "estimator": type(model.estimator).__name__,
            "input_columns": list(model.input_columns),
            "n_input_columns": len(model.input_columns),
            "classes": None if model.classes is None else list(model.classes),
            "class_labels": class_names(model),
            "has_predict_proba": bool(model.has_predict_proba),
            "window_size": model.window_size,
            "window_stride": model.window_stride,
            "feature_spec": None if spec is None else spec.to_dict(),
            "loaded_at": self.loaded_at,
        }


def load_mlflow_model(path: Path) -> ServableModel:
    """Load an MLflow model folder (holding ``MLmodel``, or whose only folder does); a
    ``ServingError`` for anything else (a single file is not an archive: 400)."""
    from stream_pose_ml.learning.loading import load_model

    if path.is_file():
        raise ServingError(
            "bad_archive",
            f"{path.name} is not a zip or tar archive; upload the MLflow model folder (the one "
            "holding MLmodel) as zip, tar or tar.gz",
            status=400,
        )
    root = mlflow_root(path, path.name)
    try:
        return load_model(root)
    except StreamPoseMLError as exc:
        raise ServingError("not_a_model", f"{path.name}: {exc}", status=422) from exc
    except Exception as exc:  # a third-party flavor can raise anything
        raise ServingError(
            "not_a_model",
            f"{path.name}: cannot load this MLflow model ({type(exc).__name__}: {exc})",
            status=422,
        ) from exc


def mlflow_root(folder: Path, name: str) -> Path:
    """The folder holding ``MLmodel``: ``folder`` itself or its only subfolder."""
    if (folder / "MLmodel").is_file():
        return folder
    entries = [p for p in folder.iterdir() if p.name not in ("__MACOSX", ".DS_Store")]
    if len(entries) == 1 and (entries[0] / "MLmodel").is_file():
        return entries[0]
    raise ServingError(
        "not_a_model",
        f"{name}: no MLmodel file at the top of the archive (or in its only folder); this "
        "service serves MLflow models only",
        status=422,
    )


class ModelService:
    """Loaded MLflow models (at most ``cache_size``) and scoring. Thread-safe.

    ``root`` holds the uploads; what a previous run left there is removed (models live in
    memory, so stored files of an earlier process are stale).
    """

    def __init__(
        self,
        root: Path,
        limits: ArchiveLimits | None = None,
        cache_size: int = 4,
        max_rows: int = 10_000,
    ) -> None:
        self.store = ModelStore(
            root,
            loader=load_mlflow_model,
            archive_limits=limits,
            active_refresh_seconds=None,
            require_feature_transform=False,
        )
        self.store.clear()
        self.max_rows = max_rows
        self.models: ModelCache[str, ServedModel] = ModelCache(cache_size, self._evicted)
        self._current: str | None = None

    def _evicted(self, model_id: str, served: ServedModel) -> None:
        if served.stored and self.models.get(model_id) is None:
            self.store.remove(model_id)

    # -- models ---------------------------------------------------------------------------------
    def get(self, model_id: str | None = None) -> ServedModel:
        """The loaded model ``model_id``, or the current one; 409 if it is not loaded."""
        key = model_id or self._current
        found = self.models.get(key) if key else None
        if found is not None:
            return found
        if model_id:
            raise ServingError(
                "model_not_loaded",
                f"model {model_id!r} is not loaded here; POST it to /load first",
                status=409,
            )
        raise ServingError(
            "no_model", "no model is loaded; POST an MLflow model to /load", status=409
        )

    def ids(self) -> list[str]:
        return self.models.keys()

    def load_upload(
        self, stream: IO[bytes], filename: str, model_id: str | None, max_bytes: int
    ) -> ServedModel:
        """Store an uploaded archive (safely extracted), load it and make it current."""
        upload = self.store.add(stream, filename, max_bytes=max_bytes, model_id=model_id or None)
        record = upload.record
        model = upload.model if upload.model is not None else self.store.load(record.id)
        return self._install(ServedModel(record.id, model, filename or record.filename, True))

    def load_path(self, path: str, model_id: str | None) -> ServedModel:
        """Load a model folder or archive from this machine and make it current."""
        source = Path(path).expanduser()
        if not source.exists():
            raise ServingError("not_found", f"{path}: no such file or folder here", status=404)
        if source.is_file():
            with open(source, "rb") as handle:
                return self.load_upload(handle, source.name, model_id, max_bytes=2**62)
        key = model_id or hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]
        check_model_id(key)
        model = load_mlflow_model(source)
        return self._install(ServedModel(key, model, str(source), stored=False))

    def _install(self, served: ServedModel) -> ServedModel:
        self.models.put(served.model_id, served)
        self._current = served.model_id
        logger.info(
            kv(
                "model_loaded",
                model_id=served.model_id,
                source=served.source,
                columns=len(served.model.input_columns),
                classes=len(served.model.classes or ()),
            )
        )
        return served

    # -- scoring --------------------------------------------------------------------------------
    def invoke(self, body: Any, model_id: str | None = None) -> dict[str, Any]:
        """Answer one scoring request: ``{"predictions": [...], "model_id"}``."""
        served = self.get(model_id)
        if not isinstance(body, dict):
            raise bad_payload("the body must be a JSON object with one of " + ", ".join(INPUT_KEYS))
        method = predict_method(body)
        model = served.model
        rows = parse_rows(body, model.input_columns, self.max_rows)
        try:
            if method == "predict_proba":
                predictions = np.asarray(model.predict_proba(rows), dtype=np.float64).tolist()
            else:
                predictions = np.asarray(model.predict(rows)).tolist()
        except ServingError:
            raise
        except Exception as exc:  # third-party model code
            logger.warning(kv("predict_failed", model_id=served.model_id, error=exc))
            raise ServingError(
                "predict_failed",
                f"the model could not score these rows ({type(exc).__name__}: {exc})",
                status=422 if isinstance(exc, StreamPoseMLError) else 500,
            ) from exc
        return {"predictions": predictions, "model_id": served.model_id}

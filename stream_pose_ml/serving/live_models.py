"""`LiveModels`: the models the live service classifies with.

The stored models (:class:`~stream_pose_ml.serving.model_store.ModelStore`), the active one, and
the loaded classifiers, kept in the process's one
:class:`~stream_pose_ml.serving.model_cache.ModelCache`. A classifier is the loaded model with its
feature transform and its predictor (in-process, or the ``mlflow/`` service for MLflow models).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import IO, Protocol

from stream_pose_ml.learning.serialization import code_loading
from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving.classifier import Predictor, WindowClassifier
from stream_pose_ml.serving.model_cache import ModelCache
from stream_pose_ml.serving.model_store import ActiveModel, ModelRecord, ModelStore
from stream_pose_ml.serving.servable import ServableModel

logger = logging.getLogger(__name__)

PredictorFactory = Callable[[ModelRecord, ServableModel], "Predictor | None"]


class ModelEvents(Protocol):
    """Where model loads are counted (``ServingObserver``)."""

    def model_loaded(self, source: str, ok: bool) -> None: ...


class LiveModels:
    """Upload, activation and the cached classifiers of the live service. Thread-safe.

    ``predictor_factory(record, model)`` may give a model another predictor than the
    in-process one (None: in-process); ``on_model_loaded()`` runs after each new load (the
    worker pool limits the native threads of libraries a model brought). With ``allow_code``
    False, models whose loading runs code (pickle, joblib, cloudpickle) are refused (415
    ``format_refused``), uploaded or stored.
    """

    def __init__(
        self,
        store: ModelStore,
        events: ModelEvents,
        *,
        cache_size: int = 4,
        predictor_factory: PredictorFactory | None = None,
        on_model_loaded: Callable[[], None] | None = None,
        allow_code: bool = True,
    ) -> None:
        self.store = store
        self.allow_code = allow_code
        self.events = events
        self.predictor_factory = predictor_factory
        self.on_model_loaded = on_model_loaded
        self.classifiers: ModelCache[str, WindowClassifier] = ModelCache(max(2, cache_size))

    def active(self) -> ActiveModel | None:
        return self.store.active()

    def classifier(self, model_id: str) -> WindowClassifier:
        """The (cached) classifier of a stored model."""
        return self.classifiers.get_or_load(
            model_id, lambda: self._classifier(self.store.record(model_id), None)
        )

    def _classifier(self, record: ModelRecord, model: ServableModel | None) -> WindowClassifier:
        if model is None:
            with code_loading(self.allow_code):
                model = self.store.load(record.id)
        predictor = None
        if self.predictor_factory is not None:
            predictor = self.predictor_factory(record, model)
        classifier = WindowClassifier(model, model_id=record.id, predictor=predictor)
        if self.on_model_loaded is not None:  # e.g. new native libraries to limit
            self.on_model_loaded()
        return classifier

    def set_model(
        self,
        stream: IO[bytes],
        filename: str | None,
        *,
        window_size: int | None = None,
        overlap: int | None = None,
        max_bytes: int | None = None,
    ) -> tuple[ModelRecord, ActiveModel, list[str]]:
        """Store an upload and make it the active model (what ``POST /set_model`` does)."""
        try:
            with code_loading(self.allow_code):
                upload = self.store.add(
                    stream, filename, max_bytes=max_bytes, window_size=window_size, overlap=overlap
                )
            record = upload.record
            self.classifiers.get_or_load(record.id, lambda: self._classifier(record, upload.model))
            active, warnings = self.store.activate(record.id, window_size, overlap)
        except Exception:
            self.events.model_loaded("upload", False)
            raise
        self.events.model_loaded("upload", True)
        return record, active, warnings

    def activate(
        self, model_id: str, window_size: int | None = None, overlap: int | None = None
    ) -> tuple[ActiveModel, list[str]]:
        """Make a stored model the active one (``POST /models/<id>/activate``)."""
        try:
            self.classifier(model_id)
            result = self.store.activate(model_id, window_size, overlap)
        except Exception:
            self.events.model_loaded("activate", False)
            raise
        self.events.model_loaded("activate", True)
        return result

    def restore(self) -> ActiveModel | None:
        """Load the active model remembered in the data folder (at start); None if there is none
        or it cannot be loaded (logged)."""
        active = self.store.active()
        if active is None:
            return None
        try:
            self.classifier(active.model_id)
        except Exception as exc:
            logger.error(kv("model_restore_failed", model_id=active.model_id, error=exc))
            self.events.model_loaded("restore", False)
            return None
        logger.info(kv("model_restored", model_id=active.model_id, window=active.window_size))
        self.events.model_loaded("restore", True)
        return active

    def ready(self) -> tuple[bool, str]:
        """``(True, "ok")`` when an active model is loaded; else False and the reason."""
        active = self.store.active()
        if active is None:
            return False, "no_model"
        try:
            self.classifier(active.model_id)
        except Exception as exc:
            return False, f"model_unavailable: {exc}"
        return True, "ok"

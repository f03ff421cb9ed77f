"""The classifier step: pose windows -> the model's feature transform -> class, probabilities.

A :class:`WindowClassifier` wraps a loaded model (a
:class:`~stream_pose_ml.serving.servable.ServableModel`) and classifies a stack of windows at
once, so a batch message costs one transform and one predictor call.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from stream_pose_ml.errors import ServingError
from stream_pose_ml.serving.frame_cache import cached_rows
from stream_pose_ml.serving.servable import ServableModel, class_names
from stream_pose_ml.serving.window import DueWindows

logger = logging.getLogger(__name__)


class Predictor(Protocol):
    """Feature rows ``(k, columns)`` -> ``(labels, probabilities or None)``.

    The default runs the model in this process; another backend (for example an MLflow model
    server over HTTP) can stand in for it, and says so in ``backend``.
    """

    @property
    def backend(self) -> str:
        """Who answered the last call (``"in_process"``, ``"mlflow"``)."""
        ...

    def predict_rows(self, rows: np.ndarray) -> tuple[list[str], list[dict[str, float]] | None]: ...


class InProcessPredictor:
    """Runs ``predict_proba`` (or ``predict``) of a loaded model in this process.

    The loaded model already gives native estimators a float matrix in input-column order on one
    thread (``stream_pose_ml.learning.predictor.LoadedModel``), so this only names the classes.
    """

    backend = "in_process"

    def __init__(self, model: ServableModel) -> None:
        self.model = model
        self._names = class_names(model)
        self._proba = bool(model.has_predict_proba)

    def _predict_proba(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict_proba(rows), dtype=np.float64)

    def predict_rows(self, rows: np.ndarray) -> tuple[list[str], list[dict[str, float]] | None]:
        if self._proba and self._names is not None:
            proba = self._predict_proba(rows)
            if proba.ndim != 2 or proba.shape[1] != len(self._names):
                raise ServingError(
                    "predict_failed",
                    f"the model gave probabilities of shape {proba.shape} for "
                    f"{len(self._names)} classes",
                    status=500,
                )
            best = proba.argmax(axis=1)
            labels = [self._names[i] for i in best]
            names = self._names
            return labels, [dict(zip(names, map(float, row), strict=True)) for row in proba]
        return list(self.model.label(self.model.predict(rows))), None


@dataclass
class ClassificationResult:
    """One answer to a session: a ``frame_result`` event's body (see :meth:`to_message`)."""

    label: str | None
    probabilities: dict[str, float] | None
    frame_id: int
    window_fill: float
    window_size: int
    processing_ms: float
    dropped: int
    model_id: str | None
    backend: str | None
    timestamp: float = math.nan
    features: list[float | None] | None = field(default=None, repr=False)  # None: NaN

    def to_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "label": self.label,
            # The original StreamPoseML web UI reads "classification".
            "classification": self.label,
            "probabilities": self.probabilities,
            "frame_id": self.frame_id,
            "timestamp": None if math.isnan(self.timestamp) else self.timestamp,
            "window_fill": self.window_fill,
            "window_size": self.window_size,
            "processing_ms": round(self.processing_ms, 3),
            "dropped": self.dropped,
            "model_id": self.model_id,
            "backend": self.backend,
        }
        if self.features is not None:
            message["features"] = self.features
        return message


class WindowClassifier:
    """Classifies pose windows with a model's feature transform and a predictor.

    ``window_size`` is the model's window (``feature_spec.window``): the transform takes exactly
    that many frames. ``predictor`` defaults to :class:`InProcessPredictor`.
    """

    def __init__(
        self,
        model: ServableModel,
        model_id: str | None = None,
        predictor: Predictor | None = None,
    ) -> None:
        self.model = model
        self.model_id = model_id
        self.transform = model.feature_transform()
        self.window_size = int(model.window_size or self.transform.spec_.window)
        if self.window_size != self.transform.spec_.window:
            raise ServingError(
                "bad_model",
                f"model {model_id} says window {self.window_size} but its feature spec says "
                f"{self.transform.spec_.window}",
                status=422,
            )
        self.predictor: Predictor = predictor or InProcessPredictor(model)

    @property
    def backend(self) -> str:
        return self.predictor.backend

    def rows(self, windows: Sequence[DueWindows], image_size: tuple[int, int] | None) -> np.ndarray:
        """Feature rows ``(k, columns)`` of the due windows of one or more sessions, in order.
        Windows of more than one frame keep each frame's features for the next windows
        (:mod:`.frame_cache`); the rows are the transform's either way."""
        transform = self.transform.with_input(image_size=image_size)
        if self.window_size == 1:
            return transform.transform(np.concatenate([due.data for due in windows]))
        return cached_rows(transform, windows, (id(self), image_size))

    def classify(
        self, windows: Sequence[DueWindows], image_size: tuple[int, int] | None
    ) -> tuple[np.ndarray, list[str], list[dict[str, float]] | None]:
        """``(rows, labels, probabilities)`` of the due windows of one or more sessions."""
        rows = self.rows(windows, image_size)
        try:
            labels, probabilities = self.predictor.predict_rows(rows)
        except ServingError:
            raise
        except Exception as exc:  # a model is third-party code: report, keep the session
            logger.warning("model %s failed on %d rows: %r", self.model_id, len(rows), exc)
            raise ServingError(
                "predict_failed",
                f"the model could not classify this window ({type(exc).__name__}: {exc})",
                status=500,
            ) from exc
        return rows, labels, probabilities

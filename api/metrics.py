"""Prometheus metrics of the live service, in a registry of the app's own (no global state).

With several worker processes (``api/gunicorn_conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR``) each
keeps its values in that folder and :meth:`ServingMetrics.render` adds up every process's.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from stream_pose_ml.serving import ServingObserver

#: Buckets of the classification latency histogram, in seconds (1 ms .. 2 s).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.0)


class ServingMetrics(ServingObserver):
    """Counters, gauges and the latency histogram behind ``GET /metrics``."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        r = self.registry
        self.sessions = Gauge(
            "stream_pose_ml_sessions",
            "Live Socket.IO sessions",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.sessions_opened = Counter(
            "stream_pose_ml_sessions_opened", "Sessions opened", registry=r
        )
        self.sessions_rejected = Counter(
            "stream_pose_ml_sessions_rejected", "Connections refused (session limit)", registry=r
        )
        self.frames_in_total = Counter(
            "stream_pose_ml_frames_in", "Keypoint frames received (after validation)", registry=r
        )
        self.frames_dropped_total = Counter(
            "stream_pose_ml_frames_dropped",
            "Due windows or images replaced by newer ones before they were processed",
            registry=r,
        )
        self.classifications_total = Counter(
            "stream_pose_ml_classifications", "Windows classified", registry=r
        )
        self.latency = Histogram(
            "stream_pose_ml_classification_latency_seconds",
            "From a message's arrival to its classification result",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "stream_pose_ml_errors", "Error events sent to clients", ["code"], registry=r
        )
        self.model_loads = Counter(
            "stream_pose_ml_model_load_events",
            "Model loads by source (upload, activate, restore) and outcome",
            ["source", "outcome"],
            registry=r,
        )

        self.backend_fallbacks = Counter(
            "stream_pose_ml_backend_fallbacks",
            "Switches from the mlflow/ model service to in-process predictions, by reason",
            ["reason"],
            registry=r,
        )
        self.backend_predictions = Counter(
            "stream_pose_ml_backend_predictions",
            "Predictor calls by the backend that answered (mlflow, in_process)",
            ["backend"],
            registry=r,
        )

    def bind_sessions(self, count: Callable[[], int]) -> None:
        """Read the session gauge from ``count()`` at scrape time (one process; with several,
        the gauge follows session_opened/closed and the processes' values are added up)."""
        if not self.multiprocess:
            self.sessions.set_function(count)

    def render(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        every_process = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_process)
        return generate_latest(every_process)

    # -- ServingObserver -----------------------------------------------------------------------
    def session_opened(self) -> None:
        self.sessions_opened.inc()
        if self.multiprocess:
            self.sessions.inc()

    def session_closed(self) -> None:
        if self.multiprocess:
            self.sessions.dec()

    def session_rejected(self) -> None:
        self.sessions_rejected.inc()

    def frames_received(self, n: int) -> None:
        self.frames_in_total.inc(n)

    def frames_dropped(self, n: int) -> None:
        self.frames_dropped_total.inc(n)

    def classified(self, n: int, latency_s: float) -> None:
        self.classifications_total.inc(n)
        self.latency.observe(latency_s)

    def payload_error(self, code: str) -> None:
        self.errors.labels(code=code).inc()

    def model_loaded(self, source: str, ok: bool) -> None:
        self.model_loads.labels(source=source, outcome="success" if ok else "failure").inc()

    # -- BackendObserver (stream_pose_ml.serving.mlflow_backend) ---------------------------------
    def backend_fallback(self, reason: str) -> None:
        self.backend_fallbacks.labels(reason=reason).inc()

    def backend_predicted(self, backend: str, n: int) -> None:
        self.backend_predictions.labels(backend=backend).inc()

"""gunicorn settings of the API server: ``gunicorn -c python:api.gunicorn_conf api.wsgi:app``.

Several worker processes share the port: with the WebSocket transport a connection stays on the
process that accepted it, so each session lives in one process, as with one worker; the model
store (and the active model, ``models/active.json``) is shared on disk as between replicas.
Settings (environment):

- ``STREAM_POSE_ML_WORKERS``: worker processes (default: one per core);
- ``STREAM_POSE_ML_WORKER_CLASS``: ``gevent`` (default), ``eventlet`` or ``gthread``
  (threading: ``STREAM_POSE_ML_THREADS`` threads per worker, default 200);
- ``STREAM_POSE_ML_BIND``: ``host:port`` (default ``0.0.0.0:5001``).

With more than one worker, Prometheus metrics are kept per process in
``PROMETHEUS_MULTIPROC_DIR`` (a new temporary folder unless set) and ``GET /metrics`` adds them
up, whichever worker answers. Long polling needs sticky sessions, which several workers on one
port do not give: clients must use the WebSocket transport (the web UI tries it first).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

workers = int(os.environ.get("STREAM_POSE_ML_WORKERS") or os.cpu_count() or 1)
worker_class = os.environ.get("STREAM_POSE_ML_WORKER_CLASS", "gevent")
threads = int(os.environ.get("STREAM_POSE_ML_THREADS") or 200)
bind = [os.environ.get("STREAM_POSE_ML_BIND", "0.0.0.0:5001")]
timeout = 120
graceful_timeout = 10

if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # set before the workers import prometheus_client: it picks its storage at import
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="spml-metrics-")


def child_exit(server: Any, worker: Any) -> None:
    """A worker's metrics stay in the sums; its live gauges (sessions) leave them."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

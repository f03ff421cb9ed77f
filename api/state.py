"""The per-app state of the API, kept in ``app.extensions`` (never in module globals)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import current_app

from api.metrics import ServingMetrics
from stream_pose_ml.serving import LiveService

if TYPE_CHECKING:
    from stream_pose_ml.video_jobs import JobManager, JobStore

EXTENSION_KEY = "stream_pose_ml"


@dataclass
class ApiState:
    """What the routes and Socket.IO handlers of one app share."""

    service: LiveService
    metrics: ServingMetrics
    async_mode: str
    heartbeat_seconds: float = 10.0
    started: float = field(default_factory=time.time)
    heartbeat_lock: threading.Lock = field(default_factory=threading.Lock)
    heartbeat_running: bool = False
    jobs: JobManager | None = None  # video analysis jobs (api/job_routes.py)
    job_store: JobStore | None = None  # the jobs' and videos' files
    jobs_polling: bool = False  # the background task polling ``jobs`` runs
    # the manager has no lock of its own: its poll task and the routes take turns
    jobs_lock: threading.Lock = field(default_factory=threading.Lock)


def get_state() -> ApiState:
    """The state of the current app (inside a request or Socket.IO handler)."""
    return current_app.extensions[EXTENSION_KEY]

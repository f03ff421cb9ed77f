"""Socket.IO side of video analysis jobs: ``watch_jobs`` / ``unwatch_jobs`` and the ``job``
events of the room ``jobs``.

The job manager has no threads of its own: :func:`start_job_polling` runs one background task
that calls ``manager.poll()`` every ``POLL_SECONDS`` and emits each changed job to the room,
so a job's progress reaches watchers at most ~4 times a second.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from flask import current_app, request
from flask_socketio import emit, join_room, leave_room

from api.auth import is_loopback
from api.extensions import socketio
from api.state import ApiState, get_state
from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving import PayloadError, ServingError

logger = logging.getLogger(__name__)

#: The room of the clients watching jobs.
JOBS_ROOM = "jobs"
#: Seconds between two polls of the job manager.
POLL_SECONDS = 0.25


def emit_job(job: dict[str, Any]) -> None:
    """Tell the watchers about one job (``job`` ``{"job": {...}}``)."""
    socketio.emit("job", {"job": job}, to=JOBS_ROOM)


def emit_job_list(jobs: list[dict[str, Any]]) -> None:
    """Tell the watchers the whole list (after a job was deleted)."""
    socketio.emit("jobs", {"jobs": jobs}, to=JOBS_ROOM)


def _check_watcher(args: tuple[Any, ...]) -> None:
    """Raise unless this connection may watch jobs: the token when one is configured (as
    ``{"token": ...}``), else a loopback client, as for the REST job routes."""
    if len(args) > 1:
        raise PayloadError("bad_type", f"watch_jobs takes at most one argument, got {len(args)}")
    message = args[0] if args else None
    if message is not None and not isinstance(message, dict):
        raise PayloadError("bad_type", 'watch_jobs takes no argument or an object {"token": "..."}')
    token = current_app.config.get("API_TOKEN")
    given = (message or {}).get("token")
    if token:
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), token.encode()):
            raise ServingError(
                "unauthorized",
                'watch_jobs needs the API token: emit it as {"token": "<token>"}',
                status=401,
            )
    elif not is_loopback(request.remote_addr):
        raise ServingError(
            "forbidden",
            "no API token is configured, so jobs can be watched only from the server's own "
            "machine; set STREAM_POSE_ML_API_TOKEN to allow remote clients",
            status=403,
        )


@socketio.on("watch_jobs")
def on_watch_jobs(*args: Any) -> None:
    _check_watcher(args)
    store = get_state().job_store
    if store is None:
        raise ServingError("jobs_unavailable", "video analysis jobs are not set up", status=503)
    join_room(JOBS_ROOM)
    logger.info(kv("jobs_watched", sid=getattr(request, "sid", None)))
    emit("jobs", {"jobs": store.jobs()})


@socketio.on("unwatch_jobs")
def on_unwatch_jobs(*args: Any) -> None:
    leave_room(JOBS_ROOM)


def start_job_polling(state: ApiState) -> None:
    """Start the app's polling task once."""
    with state.heartbeat_lock:
        if state.jobs_polling or state.jobs is None:
            return
        state.jobs_polling = True
    socketio.start_background_task(_poll_loop, state, socketio.sleep)


def _poll_loop(state: ApiState, sleep: Callable[[float], Any]) -> None:
    manager = state.jobs
    while state.jobs_polling and manager is not None:
        try:
            with state.jobs_lock:
                changed = manager.poll()
            for job in changed:
                emit_job(job)
        except Exception as exc:  # keep polling whatever one round hit
            logger.exception(kv("job_poll_failed", error=exc))
        sleep(POLL_SECONDS)


def stop_job_polling(state: ApiState) -> None:
    """Stop polling and the running workers (at the process's exit)."""
    state.jobs_polling = False
    if state.jobs is not None:
        with state.jobs_lock:
            state.jobs.shutdown()

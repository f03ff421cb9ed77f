"""The transport floor of the load benchmark: the API's Socket.IO stack, answering without work.

The same stack as ``api.wsgi:app`` (gunicorn, one worker of the same class, Flask +
Flask-SocketIO with the API's settings: ``async_handlers=False``, orjson as its ``json``, the
same ping, buffer and CORS settings from ``api.config``, ``gc.freeze()`` after start-up), but
the ``keypoints`` handler reads only each message's frame ids and timestamps (the binary header,
or the ``frame_id`` fields of the JSON that Socket.IO already decoded), never the landmarks, and
answers every due window (the windows ``features.windows.window_ends`` says the frames complete,
the API's rule) with a ``frame_result`` of the API's shape, at once and in the handler. So what
the API needs beyond this server's CPU and latency is its own work: parsing, windows, features,
the model, the worker pool.

    gunicorn -w 1 -k gevent -b 127.0.0.1:5003 --chdir benchmarks floor_server:app

Settings: ``FLOOR_WINDOW_SIZE`` (30) and ``FLOOR_STRIDE`` (5) give every session's window (a
``configure`` with ``overlap`` or ``stride`` changes the session's stride), and the API's
``STREAM_POSE_ML_*`` Socket.IO settings apply. Not mirrored: the API's packet-size guard, its
heartbeat task (one event per session every 10 s) and its shedding of frames read late.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from flask import Flask, Response, request  # noqa: E402 - after the repository is on the path
from flask_socketio import SocketIO, emit  # noqa: E402

from api import fast_json  # noqa: E402
from api.app import origin_checker, resolve_async_mode  # noqa: E402
from api.config import load_config  # noqa: E402
from stream_pose_ml.features.windows import window_ends  # noqa: E402
from stream_pose_ml.serving.payload import BINARY_HEADER, NO_FRAME_ID  # noqa: E402

#: What the floor's results say in ``label``, ``model_id`` and ``backend``.
FLOOR_LABEL = "floor"
PROBABILITIES = {"Failure Weight Transfer": 0.5, "Successful Weight Transfer": 0.5}


@dataclass
class FloorSession:
    """One connection's window counter: ``total`` frames since connect, numbering, counters."""

    size: int
    stride: int
    total: int = 0
    next_frame_id: int = 0
    messages: int = 0
    windows: int = 0


def frame_ids_and_timestamps(message: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(n,)`` frame ids (``NO_FRAME_ID`` where none) and timestamps (NaN) of a ``keypoints``
    message, without reading its landmarks."""
    if isinstance(message, (bytes, bytearray, memoryview)):
        n = BINARY_HEADER.unpack_from(message)[1]
        ids = np.frombuffer(message, "<i8", n, BINARY_HEADER.size)
        return ids, np.frombuffer(message, "<f8", n, BINARY_HEADER.size + 8 * n)
    frames = message.get("frames", [message])
    ids = np.array([f.get("frame_id", NO_FRAME_ID) for f in frames], dtype=np.int64)
    stamps = np.array([f.get("timestamp", np.nan) for f in frames], dtype=np.float64)
    return ids, stamps


def result_body(
    session: FloorSession, frame_id: int, timestamp: float, fill: float, label: str | None
) -> dict[str, Any]:
    """A ``frame_result`` of the API's shape (docs/api.md)."""
    return {
        "label": label,
        "classification": label,
        "probabilities": PROBABILITIES if label else None,
        "frame_id": frame_id,
        "timestamp": None if np.isnan(timestamp) else timestamp,
        "window_fill": fill,
        "window_size": session.size,
        "processing_ms": 0.0,
        "dropped": 0,
        "model_id": FLOOR_LABEL,
        "backend": FLOOR_LABEL if label else None,
    }


def answer(session: FloorSession, message: Any) -> dict[str, Any] | None:
    """The ``frame_result`` the API would send for ``message`` (None when it sends none)."""
    ids, stamps = frame_ids_and_timestamps(message)
    n = len(ids)
    missing = ids == NO_FRAME_ID
    if missing.any():
        ids = ids.copy()
        ids[missing] = session.next_frame_id + np.arange(int(missing.sum()))
    session.next_frame_id = int(ids.max()) + 1
    ends = window_ends(session.total, n, session.size, session.stride) - session.total
    session.total += n
    session.messages += 1
    if len(ends) == 0:
        if session.total > session.size:
            return None
        fill = min(session.total, session.size) / session.size
        return result_body(session, int(ids[-1]), float(stamps[-1]), fill, None)
    session.windows += len(ends)
    results = [result_body(session, int(ids[i]), float(stamps[i]), 1.0, FLOOR_LABEL) for i in ends]
    body = dict(results[-1])
    if len(results) > 1:
        body["results"] = results
    return body


def _sid() -> str:
    """The Socket.IO session id of this handler's connection (Flask-SocketIO sets it)."""
    return str(request.sid)  # type: ignore[attr-defined]


def create_app() -> Flask:
    """The floor's Flask app with its Socket.IO server (the API's settings)."""
    settings = load_config()
    size = int(os.environ.get("FLOOR_WINDOW_SIZE", "30"))
    default_stride = int(os.environ.get("FLOOR_STRIDE", "5"))
    app = Flask(__name__)
    socketio = SocketIO(
        app,
        async_mode=resolve_async_mode(settings["ASYNC_MODE"]),
        cors_allowed_origins=origin_checker(settings["CORS_ORIGINS"]),
        max_http_buffer_size=settings["TRANSPORT_MAX_BYTES"],
        ping_interval=settings["PING_INTERVAL"],
        ping_timeout=settings["PING_TIMEOUT"],
        async_handlers=False,
        manage_session=False,
        json=fast_json,
    )
    sessions: dict[str, FloorSession] = {}
    totals = {"windows": 0}

    def status(sid: str) -> dict[str, Any]:
        session = sessions.get(sid)
        if session is None:
            return {"server_time": time.time(), "active_model_id": FLOOR_LABEL, "session": None}
        return {
            "server_time": time.time(),
            "active_model_id": FLOOR_LABEL,
            "session": {
                "sid": sid,
                "model_id": FLOOR_LABEL,
                "window_size": session.size,
                "stride": session.stride,
                "window_fill": min(session.total, session.size),
                "messages": session.messages,
                "frames_in": session.total,
                "frames_dropped": 0,
                "classifications": session.windows,
            },
        }

    @socketio.on("connect")
    def on_connect(auth: Any = None) -> None:
        sessions[_sid()] = FloorSession(size, default_stride)
        emit("heartbeat", status(_sid()))

    @socketio.on("disconnect")
    def on_disconnect(reason: Any = None) -> None:
        session = sessions.pop(_sid(), None)
        if session is not None:
            totals["windows"] += session.windows

    @socketio.on("keypoints")
    def on_keypoints(message: Any) -> None:
        body = answer(sessions[_sid()], message)
        if body is not None:
            emit("frame_result", body)

    @socketio.on("configure")
    def on_configure(message: Any) -> dict[str, Any]:
        session = sessions[_sid()]
        stride = session.stride
        if message.get("stride") is not None:
            stride = int(message["stride"])
        elif message.get("overlap") is not None:
            stride = session.size - int(message["overlap"])
        if stride != session.stride:  # the API restarts a window whose stride changes
            session.stride, session.total = stride, 0
        settings = {**status(_sid())["session"], "following_active": True}
        emit("configured", settings)
        return settings

    @socketio.on("heartbeat")
    def on_heartbeat(*args: Any) -> None:
        emit("heartbeat", status(_sid()))

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "sessions": len(sessions), "floor": True}

    @app.get("/metrics")
    def metrics() -> Response:
        windows = totals["windows"] + sum(s.windows for s in list(sessions.values()))
        text = (
            f"stream_pose_ml_sessions {len(sessions)}\n"
            f"stream_pose_ml_frames_dropped_total 0\n"
            f"stream_pose_ml_classifications_total {windows}\n"
        )
        return Response(text, mimetype="text/plain")

    return app


app = create_app()
gc.freeze()

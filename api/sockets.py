"""Socket.IO events of the live service (the original StreamPoseML's names: ``keypoints``,
``frame_result`` ...).

Client -> server: ``keypoints``, ``frame``, ``configure``, ``heartbeat``, ``watch_jobs``,
``unwatch_jobs``. Server -> client: ``frame_result``, ``configured``, ``heartbeat``, ``people``
(several people's track ids), ``analysis`` (analyzer events), ``warning`` (overload), ``jobs`` and
``job`` (video jobs), ``error`` ``{code, message}``. Each connection's
state lives in the service's session store under its ``sid``. Handlers run inline in the
connection's reader (``async_handlers=False``) so frames keep their order; the work that can be
slow (classification, MediaPipe) runs in the session's worker. Any bad message is answered with
an ``error`` event and the connection stays open.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError, emit

from api.closed_sockets import install_closed_sockets
from api.extensions import socketio
from api.state import ApiState, get_state
from api.transport_guard import close_connection, install_transport_guard
from stream_pose_ml.keypoints.landmark_parser import json_kind
from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving import PayloadError, ServingError
from stream_pose_ml.serving.payload import MAX_JSON_DEPTH, json_too_deep

logger = logging.getLogger(__name__)

#: Client -> server events this server handles.
CLIENT_EVENTS = ("keypoints", "frame", "configure", "heartbeat", "watch_jobs", "unwatch_jobs")


def _sid() -> str:
    """The Socket.IO session id of this handler's connection (Flask-SocketIO sets it)."""
    return str(request.sid)  # type: ignore[attr-defined]


def _one_argument(
    event: str, args: tuple[Any, ...], state: ApiState | None = None, sid: str | None = None
) -> Any:
    if len(args) != 1:
        (state or get_state()).service.record_error(sid or _sid(), "bad_type")
        raise PayloadError("bad_type", f"{event} takes one argument, got {len(args)}")
    return args[0]


def _error_body(state: ApiState, sid: str | None, exc: Exception) -> dict[str, str]:
    """The ``error`` event of a handler's exception (logged and counted if unexpected); call
    it while handling ``exc``."""
    if isinstance(exc, ServingError):  # counted where it was raised
        return exc.to_dict()
    logger.exception(kv("handler_failed", sid=sid, error=exc))
    state.service.record_error(sid, "internal")
    return {"code": "internal", "message": f"server error ({type(exc).__name__})"}


@socketio.on("connect")
def on_connect(auth: Any = None) -> None:
    state = get_state()
    try:
        session = state.service.open_session(_sid(), request.remote_addr)
    except ServingError as exc:
        logger.warning(kv("session_refused", client=request.remote_addr, reason=exc.code))
        raise ConnectionRefusedError(exc.message, exc.to_dict()) from None
    logger.info(
        kv(
            "session_open",
            sid=_sid(),
            client=request.remote_addr,
            sessions=len(state.service.sessions),
        )
    )
    start_heartbeat(state)
    emit("heartbeat", heartbeat_body(state, session.sid))


@socketio.on("disconnect")
def on_disconnect(reason: Any = None) -> None:
    state = get_state()
    session = state.service.sessions.get(_sid())
    counters = session.counters.to_dict() if session else {}
    state.service.close_session(_sid())
    logger.info(kv("session_close", sid=_sid(), reason=reason, **counters))


@socketio.on("frame")
def on_frame(*args: Any) -> None:
    received = time.perf_counter()
    get_state().service.frame(_sid(), _one_argument("frame", args), received)


@socketio.on("configure")
def on_configure(*args: Any) -> dict[str, Any]:
    settings = get_state().service.configure(_sid(), _one_argument("configure", args))
    logger.info(
        kv(
            "session_configured",
            sid=_sid(),
            model_id=settings["model_id"],
            window=settings["window_size"],
            stride=settings["stride"],
        )
    )
    emit("configured", settings)
    return settings  # also the acknowledgement, for clients that ask for one


@socketio.on("heartbeat")
def on_heartbeat(*args: Any) -> None:
    state = get_state()
    session = state.service.sessions.get(_sid())
    if session is not None:
        session.touch()
    emit("heartbeat", heartbeat_body(state, _sid()))


@socketio.on("*")
def on_unknown(event: str, *args: Any) -> None:
    get_state().service.record_error(_sid(), "unknown_event")
    raise PayloadError(
        "unknown_event",
        f"unknown event {str(event)[:60]!r}; this server handles {', '.join(CLIENT_EVENTS)}",
    )


@socketio.on_error_default
def on_error(exc: Exception) -> None:
    emit("error", _error_body(get_state(), getattr(request, "sid", None), exc))


# -- heartbeat and idle sessions ------------------------------------------------------------------
def heartbeat_body(state: ApiState, sid: str) -> dict[str, Any]:
    session = state.service.sessions.get(sid)
    active = state.service.models.active()
    return {
        "server_time": time.time(),
        "active_model_id": active.model_id if active else None,
        "session": session.status() if session else None,
    }


def start_heartbeat(state: ApiState) -> None:
    """Start the app's heartbeat task once (at the first connection)."""
    with state.heartbeat_lock:
        if state.heartbeat_running:
            return
        state.heartbeat_running = True
    socketio.start_background_task(_heartbeat_loop, state, socketio.sleep)


def _heartbeat_loop(state: ApiState, sleep: Callable[[float], Any]) -> None:
    interval = state.heartbeat_seconds
    while True:
        sleep(interval)
        try:
            for sid in state.service.expire_idle():
                logger.info(kv("session_expired", sid=sid))
                socketio.emit(
                    "error",
                    {"code": "idle_timeout", "message": "no messages for too long; reconnect"},
                    to=sid,
                )
                socketio.server.disconnect(sid)
            for session in state.service.sessions.all():
                socketio.emit("heartbeat", heartbeat_body(state, session.sid), to=session.sid)
        except Exception as exc:  # keep beating whatever one round hit
            logger.exception(kv("heartbeat_failed", error=exc))


# -- the hot path ---------------------------------------------------------------------------------
def install_keypoints_handler(state: ApiState) -> None:
    """Handle ``keypoints`` messages in python-socketio's own handler (its public ``on``).

    Flask-SocketIO would push a Flask app and request context (and open the session cookie)
    for each message: a fifth of the server's time at 40 JSON clients at 30 fps. Nothing here
    needs Flask: the state is the app's, bound now. Errors are answered as every handler's are.
    """
    server = socketio.server

    def answer_error(sid: str, body: dict[str, str]) -> None:
        server.emit("error", body, to=sid, ignore_queue=True)

    def keypoints(sid: str, *args: Any) -> None:
        received = time.perf_counter()
        try:
            message = _one_argument("keypoints", args, state, sid)
            state.service.keypoints(sid, message, received)
        except Exception as exc:
            answer_error(sid, _error_body(state, sid, exc))

    server.on("keypoints", keypoints)


# -- undecodable, malformed and oversized packets ------------------------------------------------
#: The private python-socketio members the packet guard wraps, and the parameters it passes.
PRIVATE_HOOK_PARAMETERS = ("eio_sid", "data")
#: Binary attachments one event may announce (the API's events carry one).
MAX_ATTACHMENTS = 8


def check_private_hooks(server: Any) -> None:
    """Raise RuntimeError unless ``server`` has the private members the packet guard needs."""
    import inspect
    from importlib.metadata import version

    handler = getattr(server, "_handle_eio_message", None)
    parameters = tuple(inspect.signature(handler).parameters) if callable(handler) else None
    eio_async = getattr(getattr(server, "eio", None), "_async", {})
    if (
        parameters != PRIVATE_HOOK_PARAMETERS
        or not isinstance(getattr(server, "_binary_packet", None), dict)
        or not isinstance(eio_async, dict)
        or "websocket" not in eio_async
    ):
        raise RuntimeError(
            f"python-socketio {version('python-socketio')} changed "
            f"Server._handle_eio_message{parameters or ''} or Server._binary_packet (or "
            "python-engineio its Server._async), which api/sockets.py install_packet_guard "
            "wraps; adapt the guard to this version or pin python-socketio to a tested 5.x release"
        )


def install_packet_guard(state: ApiState, max_bytes: int) -> None:
    """Answer every oversized, undecodable or malformed Socket.IO packet with an ``error`` event.

    python-socketio decodes a packet before any handler runs; a bad one would only be logged
    (with a traceback) and an oversized one handled in full. This wraps the Engine.IO message
    handler: a packet over ``max_bytes`` (with its binary attachments) is dropped as
    ``too_large``; one that does not decode, or nests deeper than ``payload.MAX_JSON_DEPTH``
    (checked on the raw text, so no decoder recurses), is ``bad_json``; one that decodes but is
    not an event ``["<name>", ...]`` of namespace ``/`` (``42{}``, ``42[]``, ``421``, an empty
    message, an acknowledgement, a binary event whose attachments do not match its count) is
    ``bad_packet``. A connection without a Socket.IO session to answer is closed
    (``packet_refused`` logged).
    Engine.IO frames that do not decode at all are handled by ``api.transport_guard``; the
    socket of a closed connection is freed at once (``api.closed_sockets``).

    python-socketio has no public hook before its packet decoding, so this relies on two private
    members of ``socketio.Server`` (python-socketio 5.x): ``_handle_eio_message(eio_sid, data)``
    and the ``_binary_packet`` dict. :func:`check_private_hooks` fails at start, naming the
    version, if they change; ``tests/test_api_sockets_guard.py`` checks them on every run.
    """
    server = socketio.server
    check_private_hooks(server)
    original = server._handle_eio_message
    pending: dict[str, Any] = server._binary_packet  # eio sid -> binary event awaiting attachments

    def sid_of(eio_sid: str) -> str | None:
        return server.manager.sid_from_eio_sid(eio_sid, "/")

    def reject(eio_sid: str, error: PayloadError) -> None:
        sid = sid_of(eio_sid)
        if sid is None:  # no Socket.IO session to answer on this connection
            logger.info(
                kv("packet_refused", eio_sid=eio_sid, code=error.code, reason=error.message)
            )
            close_connection(server.eio, eio_sid)
            return
        state.service.record_error(sid, error.code)
        logger.info(kv("message_rejected", sid=sid, code=error.code, reason=error.message[:200]))
        socketio.emit("error", error.to_dict(), to=sid)

    def guarded(eio_sid: str, data: Any) -> None:
        waiting = pending.get(eio_sid)
        if waiting is not None and not isinstance(data, bytes):  # its attachments ended early
            del pending[eio_sid]
            reject(eio_sid, _attachment_error(waiting))
            waiting = None
        error = _packet_problem(data, max_bytes, waiting)
        if error is not None:
            pending.pop(eio_sid, None)
            reject(eio_sid, error)
            return
        try:
            original(eio_sid, data)
        except Exception as exc:  # python-socketio could not take it apart
            pending.pop(eio_sid, None)
            reject(eio_sid, _decoding_error(exc))
            return
        announced = pending.get(eio_sid)
        if announced is not None and not 0 < announced.attachment_count <= MAX_ATTACHMENTS:
            del pending[eio_sid]
            reject(eio_sid, _attachment_error(announced))

    server.eio.on("message", guarded)
    install_transport_guard(server.eio, sid_of)
    install_closed_sockets(server.eio)


def _packet_problem(data: Any, max_bytes: int, waiting: Any) -> PayloadError | None:
    """What is wrong with an Engine.IO message before python-socketio decodes it (None: nothing
    seen); ``waiting`` is the binary event this message would be an attachment of."""
    if not isinstance(data, (str, bytes)):  # Engine.IO decoded JSON: no Socket.IO packet type
        return PayloadError("bad_packet", f"not a Socket.IO packet ({json_kind(data)})")
    size = len(data) + (sum(map(len, waiting.attachments)) if waiting is not None else 0)
    if size > max_bytes:
        return PayloadError(
            "too_large",
            f"message of {size} bytes; the limit is {max_bytes} (STREAM_POSE_ML_MAX_MESSAGE_BYTES)",
        )
    if isinstance(data, bytes):
        if waiting is None:
            return PayloadError("bad_packet", "binary data without a binary event announcing it")
        return None
    if json_too_deep(data):
        return PayloadError(
            "bad_json", f"the Socket.IO packet nests deeper than {MAX_JSON_DEPTH} levels"
        )
    if data[:1] in ("3", "6"):  # python-socketio would ignore it (with a warning)
        return PayloadError("bad_packet", "an acknowledgement: this server asks for none")
    namespace = _namespace(data) if data[:1] in ("2", "5") else None
    if namespace not in (None, "/"):
        return PayloadError(
            "bad_packet", f"namespace {str(namespace)[:40]!r}: this server has only '/'"
        )
    return None


def _namespace(text: str) -> str | None:
    """The namespace a Socket.IO packet names (None: the default), read as python-socketio does
    (type, then ``<attachments>-``, then ``/<namespace>,``), without copying the packet."""
    start = 1
    dash = text.find("-", 1, 13)
    if dash > 1 and text[1:dash].isdigit():
        start = dash + 1
    if text[start : start + 1] != "/":
        return None
    end = text.find(",", start)
    return (text[start:] if end == -1 else text[start:end]).split("?", 1)[0]


def _decoding_error(exc: Exception) -> PayloadError:
    if isinstance(exc, json.JSONDecodeError):
        return PayloadError("bad_json", f"undecodable Socket.IO message: {exc}")
    return PayloadError(
        "bad_packet",
        'not a Socket.IO event this server takes (send 42["<event>", <payload>]): '
        f"{type(exc).__name__} {str(exc)[:80]}",
    )


def _attachment_error(packet_with_attachments: Any) -> PayloadError:
    announced = packet_with_attachments.attachment_count
    sent = len(packet_with_attachments.attachments)
    return PayloadError(
        "bad_packet",
        f"a binary event announced {announced} attachments and sent {sent} "
        f"(1..{MAX_ATTACHMENTS}, each a binary message)",
    )

"""Engine.IO frames that cannot be read at all: the connection is closed, with a logged reason.

python-engineio decodes each WebSocket frame and each long-polling body before anything of the
API sees it, and a frame it cannot decode (an empty one, a packet type that is not 0-6, bad
base64, a polling body that is not UTF-8) escapes its reader as an exception: a traceback in the
log and, on WebSocket, a connection left half-open until its ping times out. This checks the raw
frames first. There is no Socket.IO session to send an ``error`` event to at this level (the
packet's type is unknown), so the connection is closed and ``transport_refused`` logged with the
reason; Socket.IO packets that decode at this level are checked by ``sockets.install_packet_guard``.

Relies on python-engineio 4.x internals, checked at start by ``sockets.check_private_hooks``:
``Server._async["websocket"]`` (the WebSocket class it instantiates per connection, with a
``wait()`` that returns a frame or None when the client closes), the ``sid`` of the Engine.IO
socket whose ``_websocket_handler`` reads the frames, and ``Server.sockets`` with each socket's
``close(wait, abort)`` (``Server.disconnect`` waits for a polling client to collect its last
packets, which would hold the request that refuses it).
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from engineio.payload import Payload
from simple_websocket import ConnectionClosed
from wsproto.utilities import LocalProtocolError

from stream_pose_ml.logfmt import kv

logger = logging.getLogger(__name__)

#: Engine.IO packet types (open, close, ping, pong, message, upgrade, noop).
ENGINEIO_TYPES = "0123456"


def frame_problem(frame: str) -> str | None:
    """Why a text frame is not an Engine.IO packet (None if it is one)."""
    if not frame:
        return "an empty Engine.IO packet"
    if frame[0] == "b":  # a base64 binary message (long polling)
        try:
            base64.b64decode(frame[1:])
        except (binascii.Error, ValueError) as exc:
            return f"a base64 Engine.IO packet that does not decode ({exc})"
        return None
    if frame[0] not in ENGINEIO_TYPES:
        return f"Engine.IO packet type {frame[:1]!r}; the types are 0-6"
    return None


def body_problem(body: bytes, max_packets: int) -> str | None:
    """Why a long-polling POST body is not a payload of Engine.IO packets (None if it is)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "a polling body that is not UTF-8 text"
    if not text:
        return None
    if text.startswith("d="):  # JSONP
        text = parse_qs(text).get("d", [""])[0]
    frames = text.split("\x1e")
    if len(frames) > max_packets:
        return f"{len(frames)} packets in one polling body; at most {max_packets}"
    return next(filter(None, map(frame_problem, frames)), None)


class _CheckedFrames:
    """A WebSocket whose ``wait()`` ends the connection (returns None) at an unreadable frame."""

    def __init__(self, ws: Any, refuse: Callable[[str], None]) -> None:
        self._ws = ws
        self._refuse = refuse

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)

    def wait(self) -> Any:
        frame = self._ws.wait()
        problem = frame_problem(frame) if isinstance(frame, str) else None
        if problem is None:
            return frame
        self._refuse(problem)
        return None  # as if the client closed: Engine.IO closes the connection cleanly

    def close(self) -> None:
        """Close, when the client may have closed at the same moment: simple-websocket then
        raises from its close (checked-then-closed, a reset socket, a closing protocol state),
        in Engine.IO's writer thread, where nothing catches it (a traceback in the log)."""
        try:
            self._ws.close()
        except (OSError, ConnectionClosed, LocalProtocolError) as exc:
            logger.debug(kv("websocket_closed_already", reason=type(exc).__name__))


def install_transport_guard(eio: Any, sid_of: Callable[[str], str | None]) -> None:
    """Check every Engine.IO frame of ``eio`` (an ``engineio.Server``) before it decodes it.

    ``sid_of`` maps an Engine.IO session id to its Socket.IO sid (for the log line).
    """

    def refuse(eio_sid: str | None, problem: str) -> None:
        sid = sid_of(eio_sid) if eio_sid else None
        logger.info(kv("transport_refused", eio_sid=eio_sid, sid=sid, reason=problem))

    websocket_class = eio._async.get("websocket")
    if websocket_class is not None:

        class CheckedWebSocket:
            def __init__(self, handler: Callable[[Any], Any], server: Any) -> None:
                eio_sid = getattr(getattr(handler, "__self__", None), "sid", None)

                def checked(ws: Any) -> Any:
                    return handler(_CheckedFrames(ws, lambda p: refuse(eio_sid, p)))

                self._inner = websocket_class(checked, server)

            def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
                return self._inner(environ, start_response)

        eio._async = {**eio._async, "websocket": CheckedWebSocket}  # this server's only

    handle_request = eio.handle_request

    def checked_request(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST":
            eio_sid = parse_qs(environ.get("QUERY_STRING", "")).get("sid", [None])[0]
            problem = _read_body(environ, eio.max_http_buffer_size)
            if problem is None and eio_sid is not None:
                problem = body_problem(environ["wsgi.input"].getvalue(), Payload.max_decode_packets)
            if problem is not None:
                refuse(eio_sid, problem)
                if eio_sid is not None:
                    close_connection(eio, eio_sid)
                start_response("400 BAD REQUEST", [("Content-Type", "text/plain")])
                return [problem.encode()]
        return handle_request(environ, start_response)

    eio.handle_request = checked_request


def close_connection(eio: Any, eio_sid: str) -> None:
    """Close an Engine.IO session now (its Socket.IO session with it), without waiting."""
    socket = eio.sockets.pop(eio_sid, None)  # later requests of it: 400 "Invalid session"
    if socket is not None:
        socket.close(wait=False, abort=True)


def _read_body(environ: dict[str, Any], max_bytes: int) -> str | None:
    """Read a POST body into ``environ["wsgi.input"]`` (a BytesIO), or say why not; a body over
    ``max_bytes`` is left for Engine.IO to refuse."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return "a Content-Length that is not a number"
    if length < 0:
        return "a negative Content-Length"
    if length > max_bytes:
        environ["wsgi.input"] = io.BytesIO()
        environ["CONTENT_LENGTH"] = str(length)  # Engine.IO answers it as too long
        return None
    environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length))
    return None

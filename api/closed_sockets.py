"""Engine.IO sockets freed when their connection closes, not up to half a minute later.

python-engineio (4.x) keeps a closed connection's socket (its queue, its tasks, about 12 KB) in
two places for a while; a server whose clients come and go holds the last half minute of them
(the fuzz benchmark's memory grew for rounds and levelled off, docs/benchmarks.md):

- each socket has a ping task that sleeps ``ping_interval`` (25 s) before pinging, and sleeps
  on when the connection closes; here it waits on an event that ``close`` sets;
- under gunicorn, simple-websocket ends a WebSocket request by raising ``StopIteration``, which
  skips Engine.IO's removal of the closed socket from ``Server.sockets``, so it stays until the
  service task's next pass (``ping_timeout``, 20 s); here the socket is removed when its
  WebSocket request ends closed.

Relies on python-engineio 4.x internals, checked by :func:`install_closed_sockets`:
``Socket.schedule_ping`` starts ``Socket._send_ping`` through ``Server.start_background_task``;
``_send_ping`` pings unless the socket is closing or closed (what ``_ping_after`` repeats);
``Server._async["websocket"]`` is instantiated with the socket's bound ``_websocket_handler``.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

from engineio import packet
from engineio.socket import Socket

_CLOSED_EVENT = "_spml_closed"


def _ping_after(eio: Any, sock: Any, closed: Any) -> None:
    """Engine.IO's ``Socket._send_ping``, but woken by the socket's close."""
    if closed.wait(eio.ping_interval):
        return
    if not sock.closing and not sock.closed:
        sock.last_ping = time.time()
        sock.send(packet.Packet(packet.PING))


def _closed_event(eio: Any, sock: Any) -> Any:
    """The event set when ``sock`` closes (made, and its ``close`` wrapped, on first use)."""
    event = sock.__dict__.get(_CLOSED_EVENT)
    if event is None:
        event = eio.create_event()
        close = sock.close

        def closing(*args: Any, **kwargs: Any) -> Any:
            try:
                return close(*args, **kwargs)
            finally:
                event.set()

        sock.close = closing
        sock.__dict__[_CLOSED_EVENT] = event
    return event


def install_closed_sockets(eio: Any) -> None:
    """Free the sockets of ``eio`` (an ``engineio.Server``) as soon as they close."""
    source = inspect.getsource(Socket.schedule_ping) + inspect.getsource(Socket._send_ping)
    if "start_background_task(self._send_ping)" not in source or "self.closed" not in source:
        from importlib.metadata import version

        raise RuntimeError(
            f"python-engineio {version('python-engineio')} changed Socket.schedule_ping or "
            "Socket._send_ping, which api/closed_sockets.py replaces; adapt it to this version or "
            "pin python-engineio to a tested 4.x release"
        )
    start = eio.start_background_task
    if getattr(start, _CLOSED_EVENT, False):
        return  # installed already

    def start_background_task(target: Any, *args: Any, **kwargs: Any) -> Any:
        sock = getattr(target, "__self__", None)
        if isinstance(sock, Socket) and getattr(target, "__func__", None) is Socket._send_ping:
            return start(_ping_after, eio, sock, _closed_event(eio, sock))
        return start(target, *args, **kwargs)

    setattr(start_background_task, _CLOSED_EVENT, True)
    eio.start_background_task = start_background_task
    websocket_class = eio._async.get("websocket")
    if websocket_class is not None:
        eio._async = {**eio._async, "websocket": _forgetting(eio, websocket_class)}


def _forgetting(eio: Any, websocket_class: Any) -> Any:
    """``websocket_class`` (Engine.IO's per-connection WebSocket WSGI app) that removes its
    socket from ``eio.sockets`` when the request ends with the socket closed."""

    class ForgettingWebSocket:
        def __init__(self, handler: Any, server: Any) -> None:
            self._socket = getattr(handler, "__self__", None)
            self._inner = websocket_class(handler, server)

        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            try:
                return self._inner(environ, start_response)
            finally:
                sock = self._socket
                if sock is not None and sock.closed and eio.sockets.get(sock.sid) is sock:
                    del eio.sockets[sock.sid]

    return ForgettingWebSocket

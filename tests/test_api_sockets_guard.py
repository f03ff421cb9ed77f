"""The packet guard wraps private python-socketio members: fail loudly if the library changes."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
import socketio
from simple_websocket import ConnectionClosed
from wsproto.utilities import LocalProtocolError

from api.sockets import PRIVATE_HOOK_PARAMETERS, check_private_hooks
from api.transport_guard import _CheckedFrames


def test_the_installed_python_socketio_has_the_members_the_guard_wraps() -> None:
    server = socketio.Server()
    check_private_hooks(server)
    handler = socketio.Server._handle_eio_message
    assert tuple(inspect.signature(handler).parameters)[1:] == PRIVATE_HOOK_PARAMETERS
    assert server._binary_packet == {}


@pytest.mark.parametrize(
    "server",
    [
        SimpleNamespace(_binary_packet={}),
        SimpleNamespace(_handle_eio_message=lambda sid, data, extra: None, _binary_packet={}),
        SimpleNamespace(_handle_eio_message=lambda eio_sid, data: None),
    ],
    ids=["no handler", "other parameters", "no binary packets"],
)
def test_a_changed_library_stops_the_app_at_start(server: SimpleNamespace) -> None:
    with pytest.raises(RuntimeError, match=r"python-socketio .* changed"):
        check_private_hooks(server)


@pytest.mark.parametrize(
    "error",
    [ConnectionResetError(), ConnectionClosed(1000, ""), LocalProtocolError("closing")],
    ids=["reset", "closed already", "closing state"],
)
def test_closing_a_websocket_the_client_closed_raises_nothing(error: Exception) -> None:
    # simple-websocket raises these from close() when the client closed at the same moment;
    # in Engine.IO's writer thread nothing catches them (a traceback in the log)
    class ClosedByClient:
        def close(self) -> None:
            raise error

    _CheckedFrames(ClosedByClient(), lambda problem: None).close()

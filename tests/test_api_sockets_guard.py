"""The packet guard wraps private python-socketio members: fail loudly if the library changes."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
import socketio

from api.sockets import PRIVATE_HOOK_PARAMETERS, check_private_hooks


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

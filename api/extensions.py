"""Flask extensions, created unbound and bound to an app in ``create_app`` (Flask's pattern)."""

from __future__ import annotations

from flask_socketio import SocketIO

#: The Socket.IO server; ``create_app`` calls ``socketio.init_app(app, ...)``.
socketio = SocketIO()

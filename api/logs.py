"""Logs of the server processes: logfmt lines on stderr, one event per line.

Set up by the entry points (``api/wsgi.py``, ``python -m api``, ``mlflow/model_service.py``),
never by an app factory: a host that imports ``create_app`` keeps its own logging.
"""

from __future__ import annotations

import logging
import time


class KeyValueFormatter(logging.Formatter):
    """``ts=... level=... logger=... event=...``: logfmt lines (plain messages go in ``msg``)."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        message = record.getMessage()
        if not message.startswith("event="):
            message = 'msg="' + message.replace("\\", "\\\\").replace('"', '\\"') + '"'
        line = f"ts={ts}.{int(record.msecs):03d}Z level={record.levelname.lower()} "
        line += f"logger={record.name} {message}"
        if record.exc_info:
            line += " exc=" + repr(self.formatException(record.exc_info))
        return line


def configure_logging(level: str) -> None:
    """Send logs to stderr as logfmt lines, unless the host (pytest, an app) set up logging."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(KeyValueFormatter())
        root.addHandler(handler)
    root.setLevel(level.upper())
    # Engine.IO and Socket.IO log every packet at INFO.
    for name in ("engineio.server", "socketio.server"):
        logging.getLogger(name).setLevel(logging.WARNING)

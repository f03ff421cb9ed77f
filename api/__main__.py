"""Development server: ``python -m api [--host 127.0.0.1] [--port 5001]``.

Uses the async mode of ``STREAM_POSE_ML_ASYNC_MODE`` (eventlet and gevent are patched in first);
threading runs Werkzeug's server, fine for development only. Production: gunicorn (api/app.py).
"""

from __future__ import annotations

import argparse
import os


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args()
    mode = os.environ.get("STREAM_POSE_ML_ASYNC_MODE", "auto").lower()
    if mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()
    elif mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    from api.app import create_app
    from api.config import load_config
    from api.extensions import socketio
    from api.logs import configure_logging

    configure_logging(load_config()["LOG_LEVEL"])
    app = create_app()
    socketio.run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    main()

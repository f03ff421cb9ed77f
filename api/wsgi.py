"""The API server's entry point: ``gunicorn -w 1 -k gevent -b 0.0.0.0:5001 api.wsgi:app``.

Does what belongs to the process, not to the app factory: logfmt logging on stderr, then, once
the app (libraries, the active model) is loaded, ``gc.freeze()``: all of it lives as long as the
process, and keeping it out of the garbage collector's full passes spares every session pauses
of tens of milliseconds.
"""

import gc

from api.app import create_app
from api.config import load_config
from api.logs import configure_logging

configure_logging(load_config()["LOG_LEVEL"])
app = create_app()
gc.freeze()

"""WSGI entry point: ``gunicorn -w 1 --threads 200 -b 0.0.0.0:5001 api.wsgi:app``."""

from api.app import create_app

app = create_app()

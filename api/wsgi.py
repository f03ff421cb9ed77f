"""The API server's entry point: ``gunicorn -c python:api.gunicorn_conf api.wsgi:app``.

Does what belongs to the process, not to the app factory: logfmt logging on stderr; the image
path's libraries (OpenCV, MediaPipe: 0.8 s and 75 MiB) imported now, since importing them at a
session's first ``frame`` event would stall every other session (an import holds the event
loop); then, once the app (libraries, the active model) is loaded, ``gc.freeze()``: all of it
lives as long as the process, and keeping it out of the garbage collector's full passes spares
every session pauses of tens of milliseconds.
"""

import gc
import logging

import joblib

from api.app import create_app
from api.config import load_config
from api.logs import configure_logging

configure_logging(load_config()["LOG_LEVEL"])
try:
    import cv2  # noqa: F401
    import mediapipe.tasks.python.vision  # noqa: F401  (what PoseEstimator imports on first use)

    import stream_pose_ml.extraction.pose_estimator  # noqa: F401
except ImportError as exc:  # the image path reports it when used
    logging.getLogger("api").warning("image path unavailable: %s", exc)
# scikit-learn's first prediction with some estimators (HistGradientBoosting) counts the physical
# cores by running `lscpu`: a fork of this whole process, on the event loop, after a model upload
joblib.cpu_count(only_physical_cores=True)
app = create_app()
gc.freeze()

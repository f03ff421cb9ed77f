"""The MLflow model service's entry point: one process that loads MLflow models and scores rows.

Run it (one worker: the loaded models live in the worker's memory)::

    python mlflow/model_service.py --port 5002 [--model path/to/mlflow_model]
    gunicorn -w 1 --threads 8 -b 0.0.0.0:5002 --chdir mlflow 'model_service:create_app()'

This file is run by path, never imported as ``mlflow.<...>``: a package named ``mlflow`` in the
repository would shadow the MLflow library. The routes are ``api/model_service.py``, the logic
``stream_pose_ml.serving.model_service`` (docs/api.md, "The MLflow model service").
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
# ``api/`` sits beside this file in the image, one folder up in the repository.
for _root in (_HERE, _HERE.parent):
    if (_root / "api" / "model_service.py").is_file():
        sys.path.insert(0, str(_root))
        break

from flask import Flask  # noqa: E402

from api.config import MODEL_SERVICE_SETTINGS, load_config  # noqa: E402
from api.logs import configure_logging  # noqa: E402
from api.model_service import create_app as create_service_app  # noqa: E402


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The service's app with the process's logging set up (what gunicorn loads)."""
    configure_logging(load_config(config, settings=MODEL_SERVICE_SETTINGS)["LOG_LEVEL"])
    return create_service_app(config)


def main(argv: list[str] | None = None) -> None:
    """``python mlflow/model_service.py``: run the service under gunicorn (one worker)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--host", default=os.environ.get("STREAM_POSE_ML_MLFLOW_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5002")))
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--model", help="an MLflow model folder or archive to load at start")
    args = parser.parse_args(argv)
    if args.model:
        os.environ["STREAM_POSE_ML_MLFLOW_MODEL"] = str(Path(args.model).resolve())
    command = [sys.executable, "-m", "gunicorn", "--chdir", str(_HERE), "-w", "1", "--threads"]
    command += [str(args.threads), "-b", f"{args.host}:{args.port}", "--timeout", "120"]
    command += ["--graceful-timeout", "5", "model_service:create_app()"]
    os.execv(sys.executable, command)  # same process: a supervisor's signals reach gunicorn


if __name__ == "__main__":
    main()

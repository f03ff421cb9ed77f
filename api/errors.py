"""JSON error answers of the Flask apps (the API and the model service): one handler set.

A ``ServingError`` answers with its status and ``{"error": {"code", "message"}}`` plus the app's
own fields (``body``); so do an oversized request (413) and any other HTTP error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving import ServingError

logger = logging.getLogger(__name__)

#: ``body(code, message)`` -> the JSON object of an error answer.
ErrorBody = Callable[[str, str], dict[str, Any]]


def api_error_body(code: str, message: str) -> dict[str, Any]:
    """The API's errors: ``result`` (what the original StreamPoseML UI shows) and ``error``."""
    return {"result": message, "error": {"code": code, "message": message}}


def mlflow_error_body(code: str, message: str) -> dict[str, Any]:
    """The model service's errors: MLflow's scoring server fields, and ``error`` as the API."""
    return {
        "error_code": code.upper(),
        "message": message,
        "error": {"code": code, "message": message},
    }


def register_error_handlers(app: Flask, body: ErrorBody = api_error_body) -> None:
    """Answer every error of ``app`` as JSON made by ``body``."""

    @app.errorhandler(ServingError)
    def serving_error(exc: ServingError) -> tuple[Response, int]:
        logger.info(
            kv(
                "request_refused",
                path=request.path,
                code=exc.code,
                status=exc.status,
                client=request.remote_addr,
            )
        )
        response = jsonify(body(exc.code, exc.message))
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response, exc.status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge) -> tuple[Response, int]:
        limit = app.config["MAX_CONTENT_LENGTH"]
        logger.info(kv("request_refused", path=request.path, code="too_large", status=413))
        return jsonify(body("too_large", f"the upload exceeds {limit} bytes")), 413

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify(body(code, exc.description or exc.name)), exc.code or 500

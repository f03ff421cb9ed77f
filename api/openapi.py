"""The OpenAPI 3 document of the REST routes (``GET /openapi.json``)."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "properties": {
        "result": {"type": "string", "description": "human-readable message (seed UI field)"},
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        },
    },
}
_MODEL = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "first 16 hex digits of the upload's SHA-256"},
        "filename": {"type": "string"},
        "format": {"type": "string", "description": "bundle, legacy-pickle, joblib, mlflow ..."},
        "size_bytes": {"type": "integer"},
        "sha256": {"type": "string"},
        "uploaded_at": {"type": "string", "format": "date-time"},
        "window_size": {"type": "integer", "description": "frames per window (from the model)"},
        "window_stride": {"type": "integer"},
        "classes": {"type": "array", "items": {"type": "string"}, "nullable": True},
        "n_input_columns": {"type": "integer"},
        "feature_spec": {"type": "object", "nullable": True},
        "warnings": {
            "type": "array",
            "items": {"type": "string"},
            "description": "what the model's file does not record (its dataset's rounding)",
        },
    },
}
_ACTIVE = {
    "type": "object",
    "nullable": True,
    "properties": {
        "model_id": {"type": "string"},
        "window_size": {"type": "integer"},
        "stride": {"type": "integer"},
        "overlap": {"type": "integer"},
        "activated_at": {"type": "string", "format": "date-time"},
    },
}


def _errors(*codes: int) -> dict[str, Any]:
    reasons = {
        400: "bad request (missing file, bad field, unsafe archive)",
        401: "missing or wrong API token",
        403: "no token configured and the client is not on this machine",
        404: "unknown model id",
        413: "upload or archive too large",
        422: "not a model this server can load",
        503: "not ready, or storage_unavailable: the data folder is full or not writable",
    }
    return {
        str(code): {
            "description": reasons[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in codes
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_WINDOW_FIELDS = {
    "frame_window_size": {
        "type": "integer",
        "description": "expected window size; the model's own is used (a mismatch is a warning)",
    },
    "frame_window_overlap": {
        "type": "integer",
        "description": "frames shared by consecutive windows (0..window-1); default: training",
    },
    "token": {"type": "string", "description": "API token (or Authorization: Bearer)"},
}
_SET_MODEL_RESPONSE = {
    "type": "object",
    "properties": {
        "result": {"type": "string"},
        "model": {"$ref": "#/components/schemas/Model"},
        "active": {"$ref": "#/components/schemas/Active"},
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
}


def openapi_document(version: str) -> dict[str, Any]:
    """The document; ``version`` is the package version."""
    admin: list[dict[str, list[str]]] = [{"bearer": []}, {}]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "StreamPoseML live classification API",
            "version": version,
            "description": "REST routes of the API; the live stream is Socket.IO (docs/api.md).",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _ERROR, "Model": _MODEL, "Active": _ACTIVE},
        },
        "paths": {
            "/": {
                "get": {
                    "summary": "Liveness text (the original StreamPoseML's 'Server Ready')",
                    "responses": {"200": {"description": "Server Ready"}},
                }
            },
            "/set_model": {
                "post": {
                    "summary": "Upload a model and make it the active one",
                    "description": "Pickles run code when loaded: give the token only to "
                    "trusted users.",
                    "security": admin,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["file"],
                                    "properties": {
                                        "file": {"type": "string", "format": "binary"},
                                        **_WINDOW_FIELDS,
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(_SET_MODEL_RESPONSE, "stored and active"),
                        **_errors(400, 401, 403, 413, 422, 503),
                    },
                }
            },
            "/models": {
                "get": {
                    "summary": "Stored models and the active one",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "models": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Model"},
                                    },
                                    "active": {"$ref": "#/components/schemas/Active"},
                                },
                            },
                            "the model list",
                        )
                    },
                }
            },
            "/models/{model_id}/activate": {
                "post": {
                    "summary": "Make a stored model the active one",
                    "security": admin,
                    "parameters": [
                        {
                            "name": "model_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "properties": _WINDOW_FIELDS}
                            },
                            "application/x-www-form-urlencoded": {
                                "schema": {"type": "object", "properties": _WINDOW_FIELDS}
                            },
                        }
                    },
                    "responses": {
                        "200": _json(_SET_MODEL_RESPONSE, "active"),
                        **_errors(400, 401, 403, 404, 422, 503),
                    },
                }
            },
            "/health": {
                "get": {"summary": "The process is up", "responses": {"200": {"description": "ok"}}}
            },
            "/ready": {
                "get": {
                    "summary": "An active model is loaded",
                    "responses": {"200": {"description": "ready"}, **_errors(503)},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "text/plain; version=0.0.4"}},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3"}},
                }
            },
        },
    }

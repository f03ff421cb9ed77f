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
        404: "unknown model, job, video or file",
        409: "job_finished: the job is done or failed already",
        413: "upload or archive too large",
        415: "bad_video: not a video this server can decode",
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
            "schemas": {"Error": _ERROR, "Model": _MODEL, "Active": _ACTIVE, "Job": _JOB},
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
            **_job_paths(admin),
        },
    }


# -- video analysis jobs (api/job_routes.py) ---------------------------------------------------
_JOB = {
    "type": "object",
    "description": "A video analysis job (docs/api.md, 'Video analysis jobs')",
    "properties": {
        "id": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed", "cancelled"]},
        "created_s": {"type": "number"},
        "started_s": {"type": "number", "nullable": True},
        "finished_s": {"type": "number", "nullable": True},
        "video": {"type": "object", "description": "sha256, filename, bytes, width, height, fps"},
        "settings": {"type": "object"},
        "model": {"type": "object", "nullable": True},
        "progress": {"type": "object", "description": "frames_done, frames_total, percent, fps"},
        "error": {"type": "object", "nullable": True},
        "files": {"type": "array", "items": {"type": "object"}},
        "summary": {"type": "object", "nullable": True},
    },
}
_JOB_ANSWER = {"type": "object", "properties": {"job": {"$ref": "#/components/schemas/Job"}}}
_JOB_SETTINGS = {
    "complexity": {"type": "string", "enum": ["lite", "full", "heavy"], "default": "full"},
    "num_poses": {"type": "integer", "minimum": 1, "maximum": 6, "default": 1},
    "subject": {"type": "string", "description": "largest, longest, moves_most or a track id"},
    "analyzers": {"type": "string", "description": "comma-separated (GET /analyzers)"},
    "classify": {"type": "boolean", "default": True, "description": "run the active model"},
}
_TOKEN_QUERY = {
    "name": "token",
    "in": "query",
    "schema": {"type": "string"},
    "description": "the API token, for a URL without a header (<video src>)",
}


def _path_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _job_paths(admin: list[dict[str, list[str]]]) -> dict[str, Any]:
    job_id = _path_parameter("job_id")
    listed = {"type": "object", "properties": {"jobs": {"type": "array", "items": _JOB}}}
    return {
        "/jobs": {
            "post": {
                "summary": "Analyze a video: upload it (or name a stored one) and queue a job",
                "security": admin,
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "video": {"type": "string", "description": "a stored sha256"},
                                    **_JOB_SETTINGS,
                                },
                            }
                        },
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["video"],
                                "properties": {"video": {"type": "string"}, **_JOB_SETTINGS},
                            }
                        },
                    },
                },
                "responses": {
                    "202": _json(_JOB_ANSWER, "queued"),
                    **_errors(400, 401, 403, 404, 413, 415),
                },
            },
            "get": {
                "summary": "Every job, newest first",
                "security": admin,
                "parameters": [_TOKEN_QUERY],
                "responses": {"200": _json(listed, "the jobs"), **_errors(401, 403)},
            },
        },
        "/jobs/{job_id}": {
            "get": {
                "summary": "One job",
                "security": admin,
                "parameters": [job_id, _TOKEN_QUERY],
                "responses": {"200": _json(_JOB_ANSWER, "the job"), **_errors(401, 403, 404)},
            },
            "delete": {
                "summary": "Delete a job and its files (cancelled first if it runs)",
                "security": admin,
                "parameters": [job_id],
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"deleted": {"type": "string"}}},
                        "deleted",
                    ),
                    **_errors(401, 403, 404),
                },
            },
        },
        "/jobs/{job_id}/cancel": {
            "post": {
                "summary": "Stop a queued or running job (its worker process is killed)",
                "security": admin,
                "parameters": [job_id],
                "responses": {
                    "200": _json(_JOB_ANSWER, "cancelled"),
                    **_errors(401, 403, 404, 409),
                },
            }
        },
        "/jobs/{job_id}/files/{name}": {
            "get": {
                "summary": "An output file: annotated.mp4 (Range requests), keypoints.json, "
                "results.jsonl, events.csv, timeline.json",
                "security": admin,
                "parameters": [
                    job_id,
                    _path_parameter("name"),
                    _TOKEN_QUERY,
                    {
                        "name": "download",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "1: as an attachment",
                    },
                ],
                "responses": {
                    "200": {"description": "the file"},
                    "206": {"description": "the requested byte range"},
                    **_errors(401, 403, 404),
                },
            }
        },
        "/videos": {
            "get": {
                "summary": "Stored videos, newest first",
                "security": admin,
                "parameters": [_TOKEN_QUERY],
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"videos": {"type": "array"}}},
                        "the videos",
                    ),
                    **_errors(401, 403),
                },
            }
        },
        "/analyzers": {
            "get": {
                "summary": "The analyzers a job can run (name, title, description)",
                "security": admin,
                "parameters": [_TOKEN_QUERY],
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"analyzers": {"type": "array"}}},
                        "the analyzers",
                    ),
                    **_errors(401, 403),
                },
            }
        },
    }

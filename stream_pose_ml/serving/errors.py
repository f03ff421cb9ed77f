"""Typed errors of the live service, each with a stable ``code`` clients can branch on.

``code`` strings are part of the Socket.IO and REST contract (docs/api.md); ``status`` is the HTTP
status a REST route answers with. The messages say what was wrong and what to send instead.
"""

from __future__ import annotations

from stream_pose_ml.errors import StreamPoseMLError


class ServingError(StreamPoseMLError):
    """A request the live service refuses, with a stable ``code`` and an HTTP ``status``."""

    default_code = "bad_request"
    default_status = 400

    def __init__(self, code: str | None, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.status = status or self.default_status

    def to_dict(self) -> dict[str, str]:
        """``{"code", "message"}``: the body of an ``error`` event."""
        return {"code": self.code, "message": self.message}


class PayloadError(ServingError, ValueError):
    """A Socket.IO message that cannot be used (bad JSON, wrong landmark count, NaN, ...)."""


class ArchiveError(ServingError, ValueError):
    """An uploaded archive that is corrupt or unsafe to extract (``..``, links, too big, ...)."""

    default_code = "unsafe_archive"


class ModelStoreError(ServingError):
    """A model upload or model choice the model store refuses (not a model, unknown id, ...)."""

    default_code = "not_a_model"
    default_status = 422


class SessionLimitError(ServingError):
    """No room for another live session (``max_sessions`` reached)."""

    default_code = "too_many_sessions"
    default_status = 503

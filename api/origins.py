"""Which web origins may call the API: CORS, the Socket.IO handshake, and state-changing routes.

A browser sends ``Origin`` with every cross-origin request and with every ``POST`` (a form post
from another site included, which needs no CORS preflight), so a state-changing route refuses a
request whose ``Origin`` (or, without one, ``Referer``) is not an allowed origin: another web
page the user visits cannot upload or switch models through the user's browser, even from
loopback. A request with neither header is not a browser's cross-site request (curl, Python
clients) and is left to the token check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from werkzeug.datastructures import Headers

from stream_pose_ml.serving import ServingError

OriginCheck = Callable[[str | None, Mapping[str, Any]], bool]


def any_origin(origins: list[str] | str) -> bool:
    """Whether ``STREAM_POSE_ML_CORS_ORIGINS`` allows any origin (``*``)."""
    return origins == "*" or "*" in origins


def origin_checker(origins: list[str] | str) -> OriginCheck:
    """``allowed(origin, environ)``: a configured origin, the server's own, or any for ``*``."""
    allowed = None if any_origin(origins) else set(origins)

    def is_allowed(origin: str | None, environ: Mapping[str, Any]) -> bool:
        if allowed is None or origin in allowed:
            return True
        return origin == own_origin(environ)

    return is_allowed


def own_origin(environ: Mapping[str, Any]) -> str | None:
    """The origin this request was addressed to (``scheme://Host``), None without a Host."""
    host = environ.get("HTTP_HOST")
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}" if host else None


def browser_origin(headers: Headers | Mapping[str, str]) -> str | None:
    """The origin a browser says the request comes from: ``Origin``, else ``Referer``'s origin
    (``"null"`` for an opaque origin: a sandboxed frame, a ``data:`` page, a file); None when
    the request carries neither."""
    origin = headers.get("Origin")
    if origin is not None:
        return origin.strip() or "null"
    referer = headers.get("Referer")
    if not referer:
        return None
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"


def check_same_site(
    headers: Headers | Mapping[str, str],
    environ: Mapping[str, Any],
    origins: list[str] | str,
    token_required: bool,
) -> None:
    """Raise ServingError 403 ``cross_origin`` for a browser request from an origin that is
    not allowed. ``*`` allows any origin only behind a token (``token_required``): without one,
    any page could change models through a loopback user's browser, so only the server's own
    origin may."""
    origin = browser_origin(headers)
    if origin is None:
        return
    if any_origin(origins):
        allowed = token_required or origin == own_origin(environ)
    else:
        allowed = origin_checker(origins)(origin, environ)
    if not allowed:
        raise ServingError(
            "cross_origin",
            f"requests from the web origin {origin!r} may not change models: allowed are the "
            "UI origins of STREAM_POSE_ML_CORS_ORIGINS and the API's own origin",
            status=403,
        )

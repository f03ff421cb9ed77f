"""Who may upload and switch models: a bearer token, or loopback clients when none is set, and
never a web page of another origin (``api.origins``)."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, request

from api.origins import check_same_site
from stream_pose_ml.serving import ServingError

F = TypeVar("F", bound=Callable[..., Any])


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8 and ::1 (also IPv4-mapped); False for anything else or None."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def presented_token(allow_query: bool = False) -> str | None:
    """The token of this request: ``Authorization: Bearer <token>``, the form field ``token``,
    or with ``allow_query`` (GET routes whose URL a ``<video src>`` holds) ``?token=``."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if allow_query and request.method == "GET":
        return request.args.get("token") or None
    return request.form.get("token") or None


def check_admin(allow_query: bool = False) -> None:
    """Raise ServingError 401/403 unless this request may change models (or read jobs);
    ``allow_query``: a GET request may give the token as ``?token=``."""
    token = current_app.config.get("API_TOKEN")
    # the model service has no UI origins: no browser page may change its models
    origins = current_app.config.get("CORS_ORIGINS", [])
    check_same_site(request.headers, request.environ, origins, bool(token))
    if token:
        given = presented_token(allow_query)
        if given is None or not hmac.compare_digest(given.encode(), token.encode()):
            raise ServingError(
                "unauthorized",
                "a valid API token is required: send 'Authorization: Bearer <token>' or a form "
                "field 'token' (STREAM_POSE_ML_API_TOKEN on the server)",
                status=401,
            )
    elif not is_loopback(request.remote_addr):
        raise ServingError(
            "forbidden",
            "no API token is configured, so models can be changed only from the server's own "
            "machine; set STREAM_POSE_ML_API_TOKEN to allow remote clients",
            status=403,
        )


def require_admin(view: F) -> F:
    """Decorator: the route changes models (see :func:`check_admin`)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        check_admin()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]

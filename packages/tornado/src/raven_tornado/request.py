"""The Sentry ``request`` and ``user`` interfaces built from a Tornado ``HTTPServerRequest``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raven.httpdata import BODY_LIMITS, request_interface
from tornado.httputil import HTTPServerRequest

__all__ = ["request_data", "user_data"]

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_USER_FIELDS = ("id", "username", "name")


def _send_pii(client: Any) -> bool:
    return bool(getattr(getattr(client, "options", None), "send_default_pii", False))


def _body_limit(client: Any) -> int:
    size = getattr(getattr(client, "options", None), "max_request_body_size", "medium")
    return BODY_LIMITS.get(size, BODY_LIMITS["medium"])


def request_data(request: HTTPServerRequest, client: Any = None) -> dict[str, Any]:
    """URL (without query), method, query string, headers, cookies, body and, with PII, the IP."""
    headers = {name: value for name, value in request.headers.items() if name != "Cookie"}
    env: dict[str, str] = {}
    if _send_pii(client) and request.remote_ip:
        env["REMOTE_ADDR"] = request.remote_ip
    url = f"{request.protocol}://{request.host}{request.path}"
    return request_interface(
        url=url,
        method=request.method,
        query_string=request.query,
        headers=headers,
        cookies=request.headers.get("Cookie") or None,
        data=_body(request, _body_limit(client)),
        env=env or None,
        client=client,
    )


def _body(request: HTTPServerRequest, limit: int) -> Any:
    """Form fields as a dict (files left out); other bodies raw, for the core to cap and decode."""
    body = request.body
    if not body:
        return None
    content_type = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if content_type in _FORM_TYPES and len(body) <= limit:
        fields: dict[str, Any] = {}
        for name, values in request.body_arguments.items():
            decoded = [v.decode("utf-8", "replace") for v in values]
            fields[name] = decoded[0] if len(decoded) == 1 else decoded
        return fields
    return body


def user_data(user: Any, request: HTTPServerRequest, client: Any = None) -> dict[str, Any]:
    """The ``user`` interface for ``current_user``: id/username/name (+ email, IP with PII)."""
    pii = _send_pii(client)
    out: dict[str, Any] = {}
    if isinstance(user, bytes):
        user = user.decode("utf-8", "replace")
    if isinstance(user, (str, int)) and not isinstance(user, bool):
        out["id"] = str(user)
    elif user is not None:
        fields = _USER_FIELDS + (("email",) if pii else ())
        for field in fields:
            value = user.get(field) if isinstance(user, Mapping) else getattr(user, field, None)
            if value is not None and not callable(value):
                out[field] = value if isinstance(value, str) else str(value)
    if pii and request.remote_ip:
        out["ip_address"] = request.remote_ip
    return out

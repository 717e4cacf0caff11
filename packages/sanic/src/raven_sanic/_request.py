"""The Sentry ``request`` interface built from a Sanic request (raw data: the core scrubs it)."""

from __future__ import annotations

from typing import Any

from raven.httpdata import BODY_LIMITS, request_interface
from sanic.request import Request

__all__ = ["request_data", "transaction_name"]

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def transaction_name(request: Request) -> str | None:
    """The route name (``"app.view"``), or the path when no route matched."""
    return request.name or request.path or None


def request_data(request: Request, max_body_size: Any) -> dict[str, Any]:
    """URL, method, query, headers, cookies, capped body and remote address of ``request``."""
    url = request.url.split("?", 1)[0]
    remote_addr = request.remote_addr or request.ip
    return request_interface(
        url=url,
        method=request.method,
        query_string=request.query_string,
        headers=_headers(request),
        cookies=request.headers.get("cookie") or None,
        data=_body(request, max_body_size),
        env={"REMOTE_ADDR": remote_addr} if remote_addr else {},
        max_body_size=max_body_size,
    )


def _headers(request: Request) -> dict[str, str]:
    # A header sent several times is one comma-joined value, as HTTP allows.
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        if name.lower() == "cookie":  # sent as the cookies, like the core's WSGI request data
            continue
        key = "-".join(part.capitalize() for part in name.split("-"))
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _body(request: Request, max_body_size: Any) -> Any:
    body = request.body
    if not body:
        return None
    limit = max_body_size if isinstance(max_body_size, int) else BODY_LIMITS.get(str(max_body_size), 0)
    content_type = (request.content_type or "").split(";", 1)[0].strip().lower()
    if content_type in _FORM_TYPES and len(body) <= limit:
        # Parsed form fields (never file contents); the first value of a repeated field.
        form: Any = request.form or {}
        return {name: form.get(name) for name in form}
    # Raw bytes: the core decodes them (JSON to a dict) or notes that they were over the limit.
    return body

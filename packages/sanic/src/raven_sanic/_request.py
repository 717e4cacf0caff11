"""The Sentry ``request`` interface built from a Sanic request (raw data: the core scrubs it)."""

from __future__ import annotations

from typing import Any

from raven.httpdata import body_limit, request_interface
from sanic.request import Request

__all__ = ["request_data", "transaction_name"]

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def transaction_name(request: Request) -> str | None:
    """The route name (``"app.view"``), or the path when no route matched."""
    return request.name or request.path or None


def request_data(request: Request, client: Any) -> dict[str, Any]:
    """URL, method, query, headers, cookies, the body read so far and the client's address.

    The core applies the privacy rules (the address only with ``send_default_pii``) and caps the
    body at the client's ``max_request_body_size``.
    """
    return request_interface(
        url=request.url.split("?", 1)[0],
        method=request.method,
        query_string=request.query_string,
        headers=_headers(request),
        data=_body(request, body_limit(client)),
        remote_addr=request.remote_addr or request.ip,
        client=client,
    )


def _headers(request: Request) -> dict[str, str]:
    # A header sent several times is one value, joined as HTTP allows (cookies with "; ").
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = "-".join(part.capitalize() for part in name.split("-"))
        separator = "; " if key == "Cookie" else ", "
        headers[key] = f"{headers[key]}{separator}{value}" if key in headers else value
    return headers


def _body(request: Request, limit: int) -> Any:
    body = request.body
    if not body:
        return None
    content_type = (request.content_type or "").split(";", 1)[0].strip().lower()
    if content_type in _FORM_TYPES and len(body) <= limit:
        # Parsed form fields (never file contents); the first value of a repeated field.
        form: Any = request.form or {}
        return {name: form.get(name) for name in form}
    # Raw bytes: the core decodes them (JSON to a dict) or notes that they were over the limit.
    return body

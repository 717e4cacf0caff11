"""The Sentry ``request`` and ``transaction`` of the current Flask request."""

from __future__ import annotations

import logging
from typing import Any

from flask import Request
from raven.httpdata import BODY_LIMITS, request_interface

logger = logging.getLogger("raven.flask")

__all__ = ["request_info", "transaction_name"]

# WSGI environ keys worth sending; the rest is server internals (and sometimes secrets).
_ENV_KEYS = ("REMOTE_ADDR", "SERVER_NAME", "SERVER_PORT")


def transaction_name(request: Request) -> str:
    """The endpoint that handled the request (``"bp.view"``), else the URL rule, else the path."""
    rule = request.url_rule
    if rule is not None and rule.endpoint:
        return str(rule.endpoint)
    if rule is not None:
        return str(rule.rule)
    return request.path


def request_info(request: Request, max_body_size: str, with_body: bool = True) -> dict[str, Any]:
    """URL, method, query string, headers, cookies, ``REMOTE_ADDR`` and (when asked) the body.

    The body is read only when it is small enough for ``max_request_body_size`` to keep: a form
    as a dict of fields, JSON as the parsed value, anything else as text. Scrubbing is left to
    the client's processors.
    """
    environ = request.environ
    data: Any = None
    if with_body:
        data = _body(request, max_body_size)
    headers = {key: value for key, value in request.headers.items() if key.lower() != "cookie"}
    return request_interface(
        url=request.base_url,
        method=request.method,
        query_string=environ.get("QUERY_STRING", ""),
        headers=headers,
        cookies=environ.get("HTTP_COOKIE") or None,
        data=data,
        env={key: environ[key] for key in _ENV_KEYS if key in environ},
        max_body_size=max_body_size,
    )


def _body(request: Request, max_body_size: str) -> Any:
    # A body over the limit is not even read: it would be dropped anyway.
    limit = BODY_LIMITS.get(max_body_size, BODY_LIMITS["medium"])
    length = request.content_length
    if not limit or not length:
        return None
    if length > limit:
        return f"<body of {length} bytes not read: over the {limit}-byte limit>"
    if request.is_json:
        return request.get_json(silent=True, cache=True)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form: dict[str, Any] = {key: values[0] if len(values) == 1 else values
                                for key, values in request.form.lists()}
        if request.files:
            form.update({key: f"<file {f.filename!r}>" for key, f in request.files.items()})
        return form
    return request.get_data(cache=True, as_text=True)

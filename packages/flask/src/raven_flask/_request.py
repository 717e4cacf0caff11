"""The Sentry ``request`` and ``transaction`` of the current Flask request."""

from __future__ import annotations

from typing import Any

from flask import Request
from raven.httpdata import body_limit, body_over_limit, request_interface

__all__ = ["request_data", "transaction_name"]

# WSGI environ keys worth sending; the rest is server internals (and sometimes secrets). The
# client's address is given apart, as ``remote_addr``: the core sends it only with PII allowed.
_ENV_KEYS = ("SERVER_NAME", "SERVER_PORT")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def transaction_name(request: Request) -> str:
    """The endpoint that handled the request (``"bp.view"``), else the URL rule, else the path."""
    rule = request.url_rule
    if rule is not None and rule.endpoint:
        return str(rule.endpoint)
    if rule is not None:
        return str(rule.rule)
    return request.path


def request_data(request: Request, client: Any) -> dict[str, Any]:
    """URL, method, query string, headers, cookies, server env, the peer's address and the body.

    Called when an event is captured, never up front. The body is read only when it is small
    enough for ``max_request_body_size`` to keep, from what Flask caches (so the view can still
    read it after): a form as a dict of fields, JSON as the parsed value, anything else as text.
    The core applies the privacy rules; the client's processors scrub the values.
    """
    environ = request.environ
    return request_interface(
        url=request.base_url,
        method=request.method,
        query_string=environ.get("QUERY_STRING", ""),
        headers=list(request.headers.items()),
        data=_body(request, body_limit(client)),
        remote_addr=request.remote_addr,
        env={key: environ[key] for key in _ENV_KEYS if key in environ},
        client=client,
    )


def _body(request: Request, limit: int) -> Any:
    length = request.content_length
    if not limit or not length:
        return None
    if length > limit:  # not even read: it would be dropped anyway
        return body_over_limit(length, limit)
    if request.is_json:
        return request.get_json(silent=True, cache=True)
    if request.mimetype in _FORM_TYPES:
        form: dict[str, Any] = {
            key: values[0] if len(values) == 1 else values for key, values in request.form.lists()
        }
        form.update({key: f"<file {upload.filename!r}>" for key, upload in request.files.items()})
        return form
    return request.get_data(cache=True, as_text=True)

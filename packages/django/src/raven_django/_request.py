"""The Sentry ``request`` interface and the transaction name of a Django ``HttpRequest``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, QueryDict
from django.http.request import RawPostDataException
from raven.httpdata import UNAVAILABLE, body_limit, body_over_limit, request_interface

from ._routes import transaction_for

__all__ = ["absolute_url", "remember_event", "request_body", "request_data", "transaction_name"]

# Server env worth sending; the client's address is given apart, as ``remote_addr``: the core
# sends it only with ``send_default_pii``.
_ENV_KEYS = ("SERVER_NAME", "SERVER_PORT")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def request_data(request: HttpRequest, client: Any) -> dict[str, Any]:
    """URL, method, query string, headers, cookies, body (capped), server env and the peer's address.

    Called when an event is captured, never up front; the core applies the privacy rules (the
    address only with ``send_default_pii``, the ``Cookie`` header parsed into ``cookies``) and
    the client's processors scrub the values.
    """
    meta = request.META
    limit = body_limit(client)
    return request_interface(
        url=absolute_url(request),
        method=request.method,
        query_string=meta.get("QUERY_STRING") or None,
        headers={name: value for name, value in request.headers.items() if value},
        data=request_body(request, limit),
        remote_addr=meta.get("REMOTE_ADDR") or None,
        env={key: str(meta[key]) for key in _ENV_KEYS if meta.get(key) not in (None, "")},
        max_body_size=limit,
        client=client,
    )


def absolute_url(request: HttpRequest) -> str:
    """``scheme://host/path`` without the query string, even when the host is not allowed."""
    try:
        host = request.get_host()
    except Exception:  # DisallowedHost: the event is most useful with the host the client sent
        meta = request.META
        host = meta.get("HTTP_X_FORWARDED_HOST") or meta.get("HTTP_HOST") or _server_host(meta)
    try:
        scheme = request.scheme
    except Exception:  # a broken SECURE_PROXY_SSL_HEADER setting
        scheme = "http"
    return f"{scheme}://{host}{quote(request.path)}"


def _server_host(meta: Mapping[str, Any]) -> str:
    name, port = str(meta.get("SERVER_NAME", "localhost")), str(meta.get("SERVER_PORT", ""))
    return name if port in ("", "80", "443") else f"{name}:{port}"


def request_body(request: HttpRequest, limit: int) -> Any:
    """The body as a dict (form, JSON), a string, ``"<unavailable>"`` when the view consumed the raw
    stream, or None. A body larger than ``limit`` is not read at all."""
    if limit <= 0:
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return body_over_limit(length, limit)
    content_type = request.content_type or ""
    try:
        raw = request.body
    except RawPostDataException:
        # The stream was read: by Django's form parser (request.POST is filled) or by the view.
        form = _parsed_form(request)
        return form if form else UNAVAILABLE
    except Exception:  # RequestDataTooBig, a client disconnect while reading
        return UNAVAILABLE
    if not raw:
        return None
    if content_type in _FORM_TYPES:
        form = _parsed_form(request)
        if form:
            return form
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw.decode(request.encoding or "utf-8", "replace")


def _parsed_form(request: HttpRequest) -> dict[str, Any] | None:
    try:
        post = request.POST
    except Exception:
        return None
    return _querydict(post) if post else None


def _querydict(data: QueryDict) -> dict[str, Any]:
    return {key: values[0] if len(values) == 1 else values for key, values in data.lists()}


def transaction_name(request: HttpRequest, style: str = "url") -> str | None:
    """The resolved URL pattern (or, with ``style="function_name"``, the view's dotted path),
    else the path before resolution: what transactions are named too (see ``_routes``)."""
    named = transaction_for(request, style)
    return named[0] if named is not None else None


def remember_event(request: Any, client: Any, event_id: str) -> None:
    """raven-python's ``request.sentry``: ``{"project_id", "id"}`` of the event reported for ``request``."""
    request.sentry = {"project_id": client.dsn.project_id if client.dsn else None, "id": event_id}

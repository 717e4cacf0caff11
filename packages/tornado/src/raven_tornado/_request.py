"""The Sentry ``request`` and ``transaction`` of a Tornado request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from raven.httpdata import body_limit, request_interface

if TYPE_CHECKING:
    from tornado.httputil import HTTPServerRequest
    from tornado.web import RequestHandler

__all__ = ["request_data", "transaction_name"]

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def transaction_name(handler: RequestHandler) -> str:
    """``"module.Class.method"`` of the handler serving the request (``app.views.OrderHandler.get``)."""
    cls = type(handler)
    return f"{cls.__module__}.{cls.__qualname__}.{(handler.request.method or 'get').lower()}"


def request_data(request: HTTPServerRequest, client: Any) -> dict[str, Any]:
    """URL (without query), method, query string, headers, cookies, body and the peer's address.

    Called when an event is captured, never up front. The core applies the privacy rules (the
    address only with ``send_default_pii``, the ``Cookie`` header parsed into ``cookies``, the
    body capped by ``max_request_body_size``); the client's processors scrub the values.
    """
    return request_interface(
        url=f"{request.protocol}://{request.host}{request.path}",
        method=request.method,
        query_string=request.query,
        headers=request.headers,
        data=_body(request, body_limit(client)),
        remote_addr=request.remote_ip,
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

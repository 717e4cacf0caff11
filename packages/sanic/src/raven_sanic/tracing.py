"""A transaction per Sanic request, from the ``http.lifecycle.handle`` signal to the response.

The transaction starts before routing, named by the request's path (source ``url``), and is
renamed when it ends after the route that served it, the name error events carry
(``"app.view"``, source ``route``); a request no route matched (a 404) keeps its path. Op
``http.server``, status from the response. It continues the trace of the incoming
``sentry-trace``/``traceparent`` and ``baggage`` headers, and is the request's current span, so the
spans the handler starts are its children and errors captured meanwhile carry its ids. It lives
in the request's own context (see :mod:`raven_sanic.extension`), so requests in flight together
never see each other's spans.

With tracing off the request costs two header lookups: a trace in the incoming headers still
links the request's errors to the caller's trace.
"""

from __future__ import annotations

from typing import Any

from sanic.request import Request
from sanic.response import BaseHTTPResponse

from ._request import transaction_name

__all__ = ["finish_transaction", "start_transaction"]

ORIGIN = "auto.http.sanic"
_ATTR = "_raven_transaction"


def start_transaction(request: Request, client: Any) -> None:
    """Start the request's transaction (continuing the caller's trace) and make it current."""
    incoming = _incoming(request)
    if incoming is None and not client.tracing_enabled:
        return  # nothing to record, and no caller's trace for the request's errors to join
    transaction = client.start_transaction(
        name=request.path,
        op="http.server",
        source="url",
        origin=ORIGIN,
        headers=incoming,
        custom_sampling_context={"sanic_request": request},
    )
    transaction.activate()
    if transaction.sampled:
        transaction.set_request(f"{request.scheme}://{request.host}{request.path}", request.method)
    setattr(request.ctx, _ATTR, transaction)


def finish_transaction(request: Request, response: BaseHTTPResponse | None) -> None:
    """Name the request's transaction after its route, set the response's status (or
    ``internal_error`` when no response could be sent) and finish it (sent if sampled)."""
    transaction = getattr(request.ctx, _ATTR, None)
    if transaction is None:
        return
    setattr(request.ctx, _ATTR, None)
    if request.route is not None:
        transaction.set_name(transaction_name(request), "route")
    if response is not None and response.status:
        transaction.set_http_status(response.status)
    else:
        transaction.set_status("internal_error")
    transaction.finish()


def _incoming(request: Request) -> dict[str, str] | None:
    """The request's trace headers, or None when it carries no trace (most requests)."""
    headers = request.headers
    sentry_trace = headers.get("sentry-trace")
    traceparent = headers.get("traceparent")
    if not sentry_trace and not traceparent:
        return None
    found = {"baggage": ",".join(headers.getall("baggage", ()))}
    if sentry_trace:
        found["sentry-trace"] = sentry_trace
    if traceparent:
        found["traceparent"] = traceparent
    return found

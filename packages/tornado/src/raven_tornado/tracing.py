"""A transaction per Tornado request, started by ``SentryMixin.prepare()`` and finished by
``finish()``.

The transaction is named like sentry-sdk names it, and like the mixin names error events: by the
handler method that serves the request (``app.views.OrderHandler.get``, source ``component``),
op ``http.server``, status from the response. It continues the trace of the incoming
``sentry-trace``/``traceparent`` and ``baggage`` headers, and is the request's current span, so
spans the handler starts are its children and errors captured meanwhile carry its ids. It lives in
the request's own asyncio task context (see :mod:`raven_tornado.mixin`), so concurrent requests
never see each other's spans.

With tracing off the core returns a span that records nothing: the incoming headers still link the
request's errors to the caller's trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from raven.guard import capture_internal_errors

from ._request import transaction_name

if TYPE_CHECKING:
    from tornado.httputil import HTTPHeaders
    from tornado.web import RequestHandler

__all__ = ["finish_transaction", "start_transaction"]

ORIGIN = "auto.http.tornado"
_ATTR = "_raven_transaction"


def start_transaction(handler: RequestHandler, client: Any) -> None:
    """Start the request's transaction (continuing the caller's trace) and make it current."""
    request = handler.request
    incoming = _incoming(request.headers)
    if incoming is None and not client.tracing_enabled:
        return  # nothing to record, and no caller's trace for the request's errors to join
    transaction = client.start_transaction(
        name=transaction_name(handler),
        op="http.server",
        source="component",
        origin=ORIGIN,
        headers=incoming,
        custom_sampling_context={"tornado_request": request},
    )
    transaction.activate()
    if transaction.sampled:
        transaction.set_request(
            f"{request.protocol}://{request.host}{request.path}", request.method
        )
    setattr(handler, _ATTR, transaction)


@capture_internal_errors("tornado", "finishing the request's transaction")
def finish_transaction(handler: RequestHandler) -> None:
    """Set the response's status on the request's transaction and finish it (sent if sampled).

    Never raises: it runs inside the app's ``finish()``."""
    transaction = getattr(handler, _ATTR, None)
    if transaction is None:
        return
    setattr(handler, _ATTR, None)
    transaction.set_http_status(handler.get_status())
    transaction.finish()


def _incoming(headers: HTTPHeaders) -> dict[str, str] | None:
    """The request's trace headers, or None when it carries no trace (most requests).

    Looked up here with ``get_list`` (a plain dict lookup, once per name): ``HTTPHeaders.get``
    raises and catches a ``KeyError`` for each absent name, and the core would try three
    spellings of each.
    """
    sentry_trace = headers.get_list("Sentry-Trace")
    traceparent = headers.get_list("Traceparent")
    if not sentry_trace and not traceparent:
        return None
    found = {"baggage": ",".join(headers.get_list("Baggage"))}
    if sentry_trace:
        found["sentry-trace"] = sentry_trace[0]
    if traceparent:
        found["traceparent"] = traceparent[0]
    return found

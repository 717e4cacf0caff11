"""Spans and transactions: timed operations, with their place in a trace.

A :class:`Transaction` is the root span of one service's part of a trace (a request, a task, an
invocation); :class:`Span` objects are its children. Both are context managers: entering makes the
span current in this thread or task (``client.current_span()``), leaving finishes it (status
``internal_error`` when an exception escapes) and makes the previous span current again.
Frameworks whose start and end are separate hooks call :meth:`Span.activate` and
:meth:`Span.finish` instead.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .propagation import format_baggage
from .scope import NOOP_SPAN, NoOpSpan, new_span_id

if TYPE_CHECKING:
    from ..profiling import Profile
    from .tracer import Tracer

__all__ = [
    "NOOP_SPAN",
    "NoOpSpan",
    "Span",
    "Transaction",
    "status_for_http",
]  # NoOpSpan: from .scope

_HTTP_STATUS = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    409: "already_exists",
    412: "failed_precondition",
    429: "resource_exhausted",
    499: "cancelled",
    501: "unimplemented",
    503: "unavailable",
    504: "deadline_exceeded",
}


def status_for_http(code: int) -> str:
    """Sentry's span status for an HTTP status code."""
    if code < 400:
        return "ok"
    return _HTTP_STATUS.get(code) or ("invalid_argument" if code < 500 else "internal_error")


class Span:
    """One timed operation inside a transaction."""

    __slots__ = (
        "tracer",
        "transaction",
        "trace_id",
        "span_id",
        "parent_span_id",
        "op",
        "description",
        "status",
        "tags",
        "data",
        "origin",
        "sampled",
        "start_timestamp",
        "timestamp",
        "_previous",
        "_active",
    )

    def __init__(
        self,
        tracer: Tracer,
        transaction: Transaction | None,
        trace_id: str,
        parent_span_id: str | None,
        op: str | None = None,
        description: str | None = None,
        origin: str = "manual",
        sampled: bool | None = True,
        start_timestamp: float | None = None,
    ) -> None:
        self.tracer = tracer
        self.transaction = transaction
        self.trace_id = trace_id
        self.span_id = new_span_id()
        self.parent_span_id = parent_span_id
        self.op = op
        self.description = description
        self.origin = origin
        self.sampled = sampled
        self.status: str | None = None
        self.tags: dict[str, str] | None = None
        self.data: dict[str, Any] | None = None
        self.start_timestamp = time.time() if start_timestamp is None else start_timestamp
        self.timestamp: float | None = None
        self._previous: Any = None
        self._active = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} op={self.op!r} description={self.description!r} span_id={self.span_id}>"

    # -- what the app sets ------------------------------------------------------------------
    def set_status(self, status: str) -> None:
        """Sentry's status name: ``ok``, ``internal_error``, ``not_found``, ``cancelled``, ..."""
        self.status = status

    def set_tag(self, key: str, value: Any) -> None:
        """A searchable tag of this span."""
        if self.tags is None:
            self.tags = {}
        self.tags[key] = value if isinstance(value, str) else str(value)

    def set_data(self, key: str, value: Any) -> None:
        """A value shown with the span (serialized like event data when sent)."""
        if self.data is None:
            self.data = {}
        self.data[key] = value

    def set_http_status(self, code: int) -> None:
        """The response's status code, and the span status it means."""
        self.set_data("http.response.status_code", code)
        self.status = status_for_http(code)

    # -- structure --------------------------------------------------------------------------
    def start_child(
        self,
        op: str | None = None,
        description: str | None = None,
        origin: str = "manual",
        start_timestamp: float | None = None,
    ) -> Span | NoOpSpan:
        """A child span, started now (enter it, or call ``finish()``, to end it)."""
        return self.tracer.child_of(self, op, description, origin, start_timestamp)

    def to_sentry_trace(self) -> str:
        """The ``sentry-trace`` header for calls made under this span."""
        flag = "" if self.sampled is None else ("-1" if self.sampled else "-0")
        return f"{self.trace_id}-{self.span_id}{flag}"

    def to_traceparent(self) -> str:
        """The W3C ``traceparent`` header for calls made under this span."""
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

    def to_baggage(self) -> str:
        """The ``baggage`` header: the trace's dynamic sampling context."""
        transaction = self.transaction
        if transaction is None:
            return ""
        header = transaction.baggage
        if header is None:  # the sampling context is frozen once made: so is its header
            header = transaction.baggage = format_baggage(
                transaction.get_dsc(), transaction.baggage_other
            )
        return header

    def trace_context(self) -> dict[str, Any]:
        """What events carry as ``contexts.trace`` under this span."""
        context: dict[str, Any] = {"trace_id": self.trace_id, "span_id": self.span_id}
        if self.parent_span_id:
            context["parent_span_id"] = self.parent_span_id
        return context

    # -- lifetime ---------------------------------------------------------------------------
    def activate(self) -> Span:
        """Make this span the current one in this thread or task, until it finishes."""
        if not self._active:
            self._active = True
            self._previous = self.tracer.context.swap_span(self)
        return self

    def finish(self, end_timestamp: float | None = None) -> None:
        """End the span (once; later calls do nothing) and, if it was activated, make the span
        that was current before it current again."""
        if self.timestamp is not None:
            return
        self.timestamp = time.time() if end_timestamp is None else end_timestamp
        if self._active:
            self._active = False
            context = self.tracer.context
            if context.span is self:
                context.swap_span(self._previous)
            self._previous = None

    def __enter__(self) -> Span:
        return self.activate()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and self.status is None:
            self.status = "internal_error"
        self.finish()

    def to_json(self) -> dict[str, Any]:
        """The span as a transaction's ``spans`` entry."""
        span: dict[str, Any] = {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "op": self.op,
            "description": self.description,
            "start_timestamp": self.start_timestamp,
            "timestamp": self.timestamp,
            "origin": self.origin,
        }
        if self.status is not None:
            span["status"] = self.status
        if self.tags:
            span["tags"] = self.tags
        if self.data:
            span["data"] = self.data
        return span


class Transaction(Span):
    """The root span of one service's part of a trace; sent as a ``transaction`` event."""

    __slots__ = (
        "name",
        "source",
        "spans",
        "dropped_spans",
        "parent_sampled",
        "sample_rate",
        "sample_rand",
        "dsc",
        "baggage_other",
        "baggage",
        "request",
        "profile",
    )

    def __init__(
        self,
        tracer: Tracer,
        trace_id: str,
        parent_span_id: str | None = None,
        name: str = "<unlabeled transaction>",
        op: str | None = None,
        source: str = "custom",
        origin: str = "manual",
        parent_sampled: bool | None = None,
        sample_rand: float = 0.0,
        dsc: dict[str, str] | None = None,
        baggage_other: str = "",
        sampled: bool | None = None,
        start_timestamp: float | None = None,
    ) -> None:
        super().__init__(
            tracer, None, trace_id, parent_span_id, op, None, origin, sampled, start_timestamp
        )
        self.transaction = self
        self.name = name
        self.source = source
        self.spans: list[Span] = []
        self.dropped_spans = 0
        self.parent_sampled = parent_sampled
        self.sample_rate: float | None = None
        self.sample_rand = sample_rand
        self.dsc = dsc
        self.baggage_other = baggage_other
        self.baggage: str | None = None  # the ``baggage`` header, made with the first one
        self.request: dict[str, Any] | None = None
        self.profile: Profile | None = None  # set by the tracer when the transaction is profiled

    def __repr__(self) -> str:
        return f"<Transaction name={self.name!r} op={self.op!r} trace_id={self.trace_id} sampled={self.sampled}>"

    def set_name(self, name: str, source: str | None = None) -> None:
        """Rename the transaction (a framework learns the route after the request started)."""
        self.name = name
        if source is not None:
            self.source = source

    def set_request(self, url: str | None = None, method: str | None = None) -> None:
        """The request served, as the transaction shows it (URL without the query, method):
        frameworks set it when the transaction is sampled. The full request interface errors
        carry is not built for transactions (it would double a traced request's cost)."""
        self.request = {k: v for k, v in (("url", url), ("method", method)) if v}

    def get_dsc(self) -> dict[str, str]:
        """The dynamic sampling context: the caller's, or this service's as it first goes out
        (then frozen, so every service of the trace sees the same)."""
        if self.dsc is None:
            self.dsc = self.tracer.new_dsc(self)
        return self.dsc

    def finish(self, end_timestamp: float | None = None) -> None:
        """End the transaction and send it (when sampled)."""
        if self.timestamp is not None:
            return
        super().finish(end_timestamp)
        self.tracer.finish_transaction(self)

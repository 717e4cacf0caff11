"""The trace a scope belongs to when no span is running, the random ids of traces and spans, and
the span that records nothing (what tracing calls return with tracing off).

Imported with ``raven`` (errors need it with tracing off, and an import started from a capture
in a signal handler could meet the same import half done in the interrupted code): no regular
expressions, nothing but ``random``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

__all__ = [
    "NOOP_SPAN",
    "NoOpSpan",
    "PropagationContext",
    "new_span_id",
    "new_trace_id",
    "scope_trace",
]


# Through bytes.hex: half the time of formatting the int (a span id per query of a request).
def new_trace_id() -> str:
    return random.getrandbits(128).to_bytes(16, "big").hex()


def new_span_id() -> str:
    return random.getrandbits(64).to_bytes(8, "big").hex()


class PropagationContext:
    """The trace a scope belongs to: continued from incoming headers, or new.

    ``span_id`` is this service's own id for the scope (what errors carry as their span when no
    span is running); ``parent_span_id`` and ``parent_sampled`` come from the caller; ``dsc`` is
    the caller's frozen sampling context (None when this service starts the trace);
    ``baggage_other`` the caller's non-Sentry baggage entries.
    """

    __slots__ = (
        "trace_id",
        "span_id",
        "parent_span_id",
        "parent_sampled",
        "dsc",
        "sample_rand",
        "baggage_other",
    )

    def __init__(
        self,
        trace_id: str | None = None,
        parent_span_id: str | None = None,
        parent_sampled: bool | None = None,
        dsc: dict[str, str] | None = None,
        baggage_other: str = "",
    ) -> None:
        self.trace_id = trace_id or new_trace_id()
        self.span_id = new_span_id()
        self.parent_span_id = parent_span_id
        self.parent_sampled = parent_sampled
        self.dsc = dsc
        self.baggage_other = baggage_other
        self.sample_rand = _sample_rand(dsc, parent_sampled)

    def trace_context(self) -> dict[str, Any]:
        """What an error event carries as ``contexts.trace``."""
        context: dict[str, Any] = {"trace_id": self.trace_id, "span_id": self.span_id}
        if self.parent_span_id:
            context["parent_span_id"] = self.parent_span_id
        return context


def scope_trace(context: Any) -> PropagationContext:
    """The trace of ``context``'s current scope, made up (and kept for the scope) when there is
    none yet."""
    trace: PropagationContext | None = context.trace
    if trace is None:
        trace = context.trace = PropagationContext()
    return trace


def _sample_rand(dsc: Mapping[str, str] | None, parent_sampled: bool | None) -> float:
    """The trace's random value in [0, 1): the caller's, or one consistent with its decision.

    Every service compares the same value with its own rate, so a trace is kept or dropped as a
    whole. A caller that decided but sent no value (an older SDK) gets one drawn from the part of
    [0, 1) that agrees with its decision at its rate.
    """
    if dsc:
        try:
            value = float(dsc["sample_rand"])
            if 0.0 <= value < 1.0:
                return value
        except (KeyError, ValueError):
            pass
        try:
            rate = float(dsc["sample_rate"])
        except (KeyError, ValueError):
            rate = -1.0
        if parent_sampled is not None and 0.0 < rate <= 1.0:
            return (
                rate * random.random() if parent_sampled else rate + (1.0 - rate) * random.random()
            )
    return random.random()


class NoOpSpan:
    """What tracing calls return when nothing is recorded: accepts every call, records nothing.

    It never becomes the current span, so errors and outgoing calls keep linking to the span (or
    trace) that is current.
    """

    __slots__ = ()
    sampled = False
    name = op = description = status = timestamp = None

    def __repr__(self) -> str:
        return "<NoOpSpan>"

    def set_status(self, status: str) -> None:
        pass

    def set_tag(self, key: str, value: Any) -> None:
        pass

    def set_data(self, key: str, value: Any) -> None:
        pass

    def set_http_status(self, code: int) -> None:
        pass

    def set_name(self, name: str, source: str | None = None) -> None:
        pass

    def set_request(self, url: str | None = None, method: str | None = None) -> None:
        pass

    def start_child(
        self, op: str | None = None, description: str | None = None, **kwargs: Any
    ) -> NoOpSpan:
        return self

    def activate(self) -> NoOpSpan:
        return self

    def finish(self, end_timestamp: float | None = None) -> None:
        pass

    def __enter__(self) -> NoOpSpan:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        pass


NOOP_SPAN = NoOpSpan()

"""The client's tracing engine: sampling, the current span, trace headers and sending.

One :class:`Tracer` per client, made the first time tracing is used (see
:class:`raven.tracing.TracingMixin`). The current span and the scope's trace live in the client's
:class:`raven.context.Context`, so threads and asyncio tasks never see each other's spans.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..callbacks import name_of, run_before_send
from ..guard import capture_internal_errors
from ..options import compile_patterns
from .event import read as read_event
from .propagation import continue_from, format_baggage
from .scope import PropagationContext, new_trace_id, scope_trace
from .span import NOOP_SPAN, NoOpSpan, Span, Transaction

if TYPE_CHECKING:
    from ..client import Client
    from ..profiling import Profile

__all__ = ["Tracer"]

logger = logging.getLogger("raven.tracing")

AnySpan = Span | NoOpSpan
_SENDING = capture_internal_errors("tracing", "sending a transaction")  # keeps no state per use


class Tracer:
    """Starts, samples, links and sends transactions for one client."""

    def __init__(self, client: Client) -> None:
        opts = client.options
        self.client = client
        self.context = client.context
        self.enabled = opts.traces_sample_rate is not None or opts.traces_sampler is not None
        self.sample_rate = opts.traces_sample_rate
        self.sampler = opts.traces_sampler
        self.max_spans = opts.max_spans
        # Compiled by the options when given; the default (all URLs) is compiled here.
        self.propagation_targets = compile_patterns(
            "trace_propagation_targets", opts.trace_propagation_targets
        )
        self.ignore_transactions = opts.ignore_transactions
        self.ignore_status_codes = frozenset(opts.trace_ignore_status_codes)
        self.public_key = client.dsn.public_key if client.dsn is not None else None
        # Scrubbing a transaction is the bulk of its cost: the client has the HTTP transports
        # run it on their encoder thread, off the request's.
        self.process_on_sender = client._defer_processing
        self.profiles_sample_rate = opts.profiles_sample_rate
        self.profiles_sampler = opts.profiles_sampler
        self.profiles_frequency = opts.profiles_sampling_frequency
        self.profiling = self.enabled and (
            opts.profiles_sample_rate is not None or opts.profiles_sampler is not None
        )
        if self.profiling:  # imported now, not on the first profiled request
            from .. import profiling

            self.profiler: profiling.Sampler = profiling.process_sampler

    # -- the scope's trace ------------------------------------------------------------------
    def continue_trace(
        self,
        headers: Mapping[str, Any] | None,
        op: str | None = None,
        name: str | None = None,
        source: str = "custom",
        origin: str = "manual",
    ) -> Transaction:
        """A transaction (not started) that continues the trace in ``headers``, or a new trace."""
        incoming = continue_from(self.context, headers)
        return self.new_transaction(incoming, name, op, source, origin)

    def new_transaction(
        self,
        parent: PropagationContext | None,
        name: str | None,
        op: str | None,
        source: str,
        origin: str,
        start_timestamp: float | None = None,
    ) -> Transaction:
        if parent is None:
            return Transaction(
                self,
                new_trace_id(),
                None,
                name or "<unlabeled transaction>",
                op,
                source,
                origin,
                start_timestamp=start_timestamp,
                sample_rand=random.random(),
            )
        return Transaction(
            self,
            parent.trace_id,
            parent.parent_span_id,
            name or "<unlabeled transaction>",
            op,
            source,
            origin,
            parent_sampled=parent.parent_sampled,
            sample_rand=parent.sample_rand,
            dsc=parent.dsc,
            baggage_other=parent.baggage_other,
            start_timestamp=start_timestamp,
        )

    # -- starting ---------------------------------------------------------------------------
    def start_transaction(
        self,
        transaction: Transaction | None = None,
        *,
        name: str | None = None,
        op: str | None = None,
        source: str = "custom",
        origin: str = "manual",
        headers: Mapping[str, Any] | None = None,
        custom_sampling_context: Mapping[str, Any] | None = None,
        sampled: bool | None = None,
        start_timestamp: float | None = None,
    ) -> Transaction | NoOpSpan:
        """A started, sampled (or not) transaction; :data:`NOOP_SPAN` when tracing is off."""
        incoming = continue_from(self.context, headers) if headers is not None else None
        if not self.enabled:
            return NOOP_SPAN
        if transaction is None:
            parent = incoming if incoming is not None else self.context.trace
            transaction = self.new_transaction(parent, name, op, source, origin, start_timestamp)
        if sampled is not None:
            transaction.sampled = sampled
        if transaction.sampled is None:
            self._sample(transaction, custom_sampling_context)
        if not transaction.sampled:
            self.client.reports.record("sample_rate", "transaction")
            logger.debug("transaction %r sampled out", transaction.name)
        elif self.profiling and transaction.profile is None and transaction.timestamp is None:
            self._start_profile(transaction, custom_sampling_context)
        return transaction

    def _sampling_context(
        self, transaction: Transaction, custom: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """What ``traces_sampler`` and ``profiles_sampler`` are given."""
        return {
            "transaction_context": {
                "name": transaction.name,
                "op": transaction.op,
                "source": transaction.source,
                "trace_id": transaction.trace_id,
                "parent_span_id": transaction.parent_span_id,
                "parent_sampled": transaction.parent_sampled,
            },
            "parent_sampled": transaction.parent_sampled,
            **(custom or {}),
        }

    def _start_profile(self, transaction: Transaction, custom: Mapping[str, Any] | None) -> None:
        """Profile ``transaction`` (sampled) when ``profiles_sampler`` or
        ``profiles_sample_rate`` says so."""
        rate: Any
        sampler = self.profiles_sampler
        if sampler is not None:
            rate = None
            with capture_internal_errors("profiling", f"profiles_sampler {name_of(sampler)}"):
                rate = sampler(self._sampling_context(transaction, custom))
            rate = _valid_rate(rate, sampler, "profiles_sampler")
        else:
            rate = self.profiles_sample_rate or 0.0
        if random.random() >= rate:
            self.client.reports.record("sample_rate", "profile")
            return
        with capture_internal_errors("profiling", "starting a profile"):
            transaction.profile = self.profiler.start(self.profiles_frequency, self.client.stacks)

    def _sample(self, transaction: Transaction, custom: Mapping[str, Any] | None) -> None:
        rate: Any
        if self.sampler is not None:
            sampling_context = self._sampling_context(transaction, custom)
            rate = None
            with capture_internal_errors("tracing", f"traces_sampler {name_of(self.sampler)}"):
                rate = self.sampler(sampling_context)
            rate = _valid_rate(rate, self.sampler)
        elif transaction.parent_sampled is not None:
            transaction.sampled = transaction.parent_sampled
            return
        else:
            rate = self.sample_rate or 0.0
        transaction.sample_rate = rate
        transaction.sampled = transaction.sample_rand < rate

    def start_span(
        self, op: str | None = None, description: str | None = None, **kwargs: Any
    ) -> AnySpan:
        """A child of the current span, or :data:`NOOP_SPAN` when no span records."""
        parent = self.context.span
        if parent is None:
            return NOOP_SPAN
        return self.child_of(parent, op, description, **kwargs)

    def child_of(
        self,
        parent: Span,
        op: str | None,
        description: str | None,
        origin: str = "manual",
        start_timestamp: float | None = None,
    ) -> AnySpan:
        transaction = parent.transaction
        if not parent.sampled or transaction is None or transaction.timestamp is not None:
            return NOOP_SPAN
        if len(transaction.spans) >= self.max_spans:
            transaction.dropped_spans += 1
            return NOOP_SPAN
        span = Span(
            self,
            transaction,
            parent.trace_id,
            parent.span_id,
            op,
            description,
            origin,
            True,
            start_timestamp,
        )
        transaction.spans.append(span)
        return span

    # -- propagating ------------------------------------------------------------------------
    def trace_headers(self, span: Span | None = None) -> dict[str, str]:
        """``sentry-trace``, ``baggage`` and ``traceparent`` for a call made under ``span``
        (default: the current span, else the scope's trace)."""
        if span is None:
            span = self.context.span
        if span is not None:
            headers = {"sentry-trace": span.to_sentry_trace(), "traceparent": span.to_traceparent()}
            baggage = span.to_baggage()
        else:
            trace = scope_trace(self.context)
            sampled = trace.parent_sampled
            flag = "" if sampled is None else ("-1" if sampled else "-0")
            headers = {
                "sentry-trace": f"{trace.trace_id}-{trace.span_id}{flag}",
                "traceparent": f"00-{trace.trace_id}-{trace.span_id}-{'01' if sampled else '00'}",
            }
            dsc = trace.dsc or self._dsc_values(trace.trace_id, None, trace.sample_rand, None, None)
            baggage = format_baggage(dsc, trace.baggage_other)
        if baggage:
            headers["baggage"] = baggage
        return headers

    def http_request(self, method: str, url: str) -> tuple[AnySpan, dict[str, str]]:
        """A span for an outgoing HTTP request made under the current span (started now; the
        caller finishes it) and the headers to send with it when ``url`` matches
        ``trace_propagation_targets``. Nothing outside a transaction: a request no Raven span
        covers keeps whatever trace headers its caller set. The span's URL leaves out
        credentials, and the query unless ``send_default_pii``."""
        parent = self.context.span
        if parent is None:
            return NOOP_SPAN, {}
        base, _, query = url.partition("?")
        base = base.partition("#")[0]
        scheme, sep, rest = base.partition("://")
        if "@" in rest.partition("/")[0]:
            base = f"{scheme}{sep}{rest.partition('@')[2]}"
        span = self.child_of(parent, "http.client", f"{method} {base}", "auto.http.stdlib")
        if isinstance(span, Span):
            span.data = {"http.request.method": method, "url": base}
            if query and self.client.options.send_default_pii:
                span.data["http.query"] = query
        if not self.propagates_to(url):
            return span, {}
        return span, self.trace_headers(span if isinstance(span, Span) else parent)

    def propagates_to(self, url: str) -> bool:
        """True when ``url`` matches ``trace_propagation_targets``."""
        for pattern in self.propagation_targets:  # a loop, not any(): once per outgoing call
            if pattern.search(url):
                return True
        return False

    def new_dsc(self, transaction: Transaction) -> dict[str, str]:
        return self._dsc_values(
            transaction.trace_id,
            transaction.sample_rate,
            transaction.sample_rand,
            transaction.sampled,
            transaction.name if transaction.source != "url" else None,
        )

    def _dsc_values(
        self,
        trace_id: str,
        sample_rate: float | None,
        sample_rand: float,
        sampled: bool | None,
        transaction: str | None,
    ) -> dict[str, str]:
        opts = self.client.options
        dsc = {"trace_id": trace_id}
        if self.public_key is not None:
            dsc["public_key"] = self.public_key
        if sample_rate is not None:
            dsc["sample_rate"] = _decimal(sample_rate)
        dsc["sample_rand"] = f"{sample_rand:.6f}"
        if sampled is not None:
            dsc["sampled"] = "true" if sampled else "false"
        if opts.release is not None:
            dsc["release"] = opts.release
        dsc["environment"] = opts.environment or "production"
        if transaction is not None:
            dsc["transaction"] = transaction
        return dsc

    # -- finishing --------------------------------------------------------------------------
    def finish_transaction(self, transaction: Transaction) -> None:
        """Send a finished, sampled transaction (unless filtered), with its finished spans
        and its profile."""
        profile = transaction.profile
        if profile is not None:
            transaction.profile = None
            self.profiler.stop(profile)
        if not transaction.sampled:
            return
        with _SENDING:
            reason = self._filtered(transaction)
            spans = [span for span in transaction.spans if span.timestamp is not None]
            reports = self.client.reports
            if reason is not None:
                reports.record(reason, "transaction")
                reports.record(reason, "span", len(spans) + 1)
                if profile is not None:
                    reports.record(reason, "profile")
                return
            if profile is not None and not self._profile_kept(profile):
                profile = None
            unbuilt = read_event(self.client, transaction, spans, profile)
            before_send = self.client.options.before_send_transaction
            if before_send is None and self._builds_on_encoder():
                if transaction.dropped_spans:
                    reports.record("buffer_overflow", "span", transaction.dropped_spans)
                # What dropping it counts (drops_of) is known without building it.
                self.client.transport.send_event(  # type: ignore[union-attr]
                    {"type": "transaction", "spans": spans, "_profile": profile, "_build": unbuilt}
                )
                return
            event = unbuilt.event()
            if not self.process_on_sender:
                event = self.client._run_processors(event)
            if before_send is not None:
                processed = run_before_send(before_send, event, {}, self.client._warn_once)
                if processed is None:
                    reports.record("before_send", "transaction")
                    reports.record("before_send", "span", len(spans) + 1)
                    if profile is not None:
                        reports.record("before_send", "profile")
                    logger.debug(
                        "transaction %r dropped by before_send_transaction", transaction.name
                    )
                    return
                event = processed
            if transaction.dropped_spans:
                reports.record("buffer_overflow", "span", transaction.dropped_spans)
            if profile is not None:
                event["_profile"] = profile  # the transport encodes it, on its encoder thread
            self.client.send(**event)

    def _builds_on_encoder(self) -> bool:
        """True when the transaction's event may be built by the transport, on its encoder
        thread: the client's processors run there (which the client allows only when its class
        keeps ``Client.send``), nothing sees the event before the transport (no
        ``before_send_transaction``, no ``send`` patched on the instance) and the transport
        builds it (``ThreadedTransport``'s own ``send_event``)."""
        client = self.client
        return (
            self.process_on_sender
            and "send" not in client.__dict__
            and getattr(client.transport, "builds_transactions", False)
        )

    def _profile_kept(self, profile: Profile) -> bool:
        """False (and counted) for a profile that ran past its limit or has too few samples."""
        if profile.discarded:
            self.client.reports.record("buffer_overflow", "profile")
            logger.debug("profile %s dropped: longer than its limit", profile.profile_id)
            return False
        if len(profile.ticks) < 2:
            self.client.reports.record("insufficient_data", "profile")
            logger.debug("profile %s dropped: fewer than 2 samples", profile.profile_id)
            return False
        return True

    def _filtered(self, transaction: Transaction) -> str | None:
        name = transaction.name or ""
        if any(pattern.search(name) for pattern in self.ignore_transactions):
            logger.debug("transaction %r ignored (ignore_transactions)", name)
            return "event_processor"
        if self.ignore_status_codes and transaction.data:
            code = transaction.data.get("http.response.status_code")
            if code in self.ignore_status_codes:
                logger.debug("transaction %r ignored (status %s)", name, code)
                return "event_processor"
        return None

    # -- decorators -------------------------------------------------------------------------
    def trace(self, func: Callable[..., Any] | None = None, *, op: str | None = None) -> Any:
        """``@client.trace`` / ``@client.trace(op=...)``: a span around each call, for sync
        and ``async def`` functions (nothing when no span is current)."""
        if func is None:
            return lambda f: self.trace(f, op=op)
        import functools
        import inspect

        description = getattr(func, "__qualname__", None) or repr(func)
        span_op = op or "function"
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def traced_async(*args: Any, **kwargs: Any) -> Any:
                with self.start_span(span_op, description):
                    return await func(*args, **kwargs)

            return traced_async

        @functools.wraps(func)
        def traced(*args: Any, **kwargs: Any) -> Any:
            with self.start_span(span_op, description):
                return func(*args, **kwargs)

        return traced


def _decimal(rate: float) -> str:
    return f"{rate:.6f}".rstrip("0").rstrip(".") or "0"


def _valid_rate(rate: Any, sampler: Any, option: str = "traces_sampler") -> float:
    if isinstance(rate, bool):
        return 1.0 if rate else 0.0
    if isinstance(rate, (int, float)) and 0.0 <= rate <= 1.0:
        return float(rate)
    if rate is not None:
        logger.warning(
            "%s %s returned %r, not a rate between 0 and 1 or a bool; the transaction is not %s",
            option,
            name_of(sampler),
            rate,
            "profiled" if option == "profiles_sampler" else "sampled",
        )
    return 0.0

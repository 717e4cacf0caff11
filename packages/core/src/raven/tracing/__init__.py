"""Tracing: transactions, spans and trace propagation (the API of :class:`raven.Client`).

Off by default: tracing is on when ``traces_sample_rate`` or ``traces_sampler`` is set. Only
this module and :mod:`raven.tracing.scope` are imported with ``raven``; the engine (:mod:`raven.tracing.tracer`), spans and
header parsing are imported the first time they are used. Errors link to the current trace
either way (``contexts.trace``), with or without tracing. AI monitoring (Sentry's AI Agents
tracing module: ``ai_pipeline``, ``ai_step``, ``record_token_usage``) lives in :mod:`raven.ai`,
imported the first time it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .scope import NOOP_SPAN, NoOpSpan, scope_trace

if TYPE_CHECKING:
    from ..ai import AIRun
    from ..context import Context
    from ..options import ClientOptions
    from .span import Span, Transaction
    from .tracer import Tracer

__all__ = ["TracingMixin"]


class TracingMixin:
    """Sentry's tracing API, with the names sentry-sdk users know, on :class:`raven.Client`."""

    _tracer: Tracer | None = None
    options: ClientOptions
    _context: Context

    @property
    def tracing_enabled(self) -> bool:
        """True when ``traces_sample_rate`` or ``traces_sampler`` is set."""
        opts = self.options
        return opts.traces_sample_rate is not None or opts.traces_sampler is not None

    @property
    def tracer(self) -> Tracer:
        """The tracing engine (made on first use)."""
        tracer = self._tracer
        if tracer is None:
            from .tracer import Tracer

            tracer = self._tracer = Tracer(self)  # type: ignore[arg-type]
        return tracer

    def start_transaction(
        self, transaction: Transaction | None = None, **kwargs: Any
    ) -> Transaction | NoOpSpan:
        """A started transaction: use it as a context manager (or ``activate()`` then ``finish()``).

        Keyword arguments: ``name``, ``op``, ``source`` (``url``, ``route``, ``view``,
        ``component``, ``task``, ``custom``), ``origin``, ``sampled`` (forces the decision),
        ``custom_sampling_context`` (given to ``traces_sampler``), ``headers`` (incoming
        headers or a WSGI environ: the trace is continued from them). Without ``transaction``
        or ``headers`` it continues the scope's trace (``continue_trace``), if any. With tracing
        off it returns a span that records nothing (``headers`` still link errors to the
        caller's trace).
        """
        if not self.tracing_enabled:  # the engine is not even imported
            headers = kwargs.get("headers")
            if headers:
                from .propagation import continue_from

                continue_from(self._context, headers)
            return NOOP_SPAN
        return self.tracer.start_transaction(transaction, **kwargs)

    def start_span(
        self, op: str | None = None, description: str | None = None, **kwargs: Any
    ) -> Span | NoOpSpan:
        """A child of the current span, to use as a context manager; records nothing when no
        span is current (no transaction, or one that is not sampled)."""
        if self._context.span is None:
            return NOOP_SPAN
        return self.tracer.start_span(op, description, **kwargs)

    def trace(self, func: Callable[..., Any] | None = None, *, op: str | None = None) -> Any:
        """Decorator (``@client.trace`` or ``@client.trace(op="...")``): each call of a sync or
        ``async def`` function becomes a span of the current transaction."""
        return self.tracer.trace(func, op=op)

    def continue_trace(
        self,
        headers: Mapping[str, Any] | None,
        op: str | None = None,
        name: str | None = None,
        source: str = "custom",
        origin: str = "manual",
    ) -> Transaction:
        """The transaction (not started: pass it to ``start_transaction``) that continues the
        trace of ``headers`` (``sentry-trace``/``traceparent`` and ``baggage``; a mapping in
        any case or a WSGI environ). Errors of this scope link to that trace from now on."""
        return self.tracer.continue_trace(headers, op, name, source, origin)

    def trace_headers(self, span: Span | None = None) -> dict[str, str]:
        """``sentry-trace``, ``baggage`` and ``traceparent`` for a call made now under ``span``
        (default: the current span; with no span, the scope's trace)."""
        return self.tracer.trace_headers(span)

    def current_span(self) -> Span | None:
        """The span current in this thread or task, or None."""
        span: Span | None = self._context.span
        return span

    def trace_context(self) -> dict[str, Any]:
        """``contexts.trace`` for an event captured now: the current span's ids, else those of
        the scope's trace (the caller's, or one made up for the scope when the first error
        needs it)."""
        span = self._context.span
        if span is not None:
            context: dict[str, Any] = span.trace_context()
            return context
        return scope_trace(self._context).trace_context()

    # -- AI monitoring (raven.ai, imported on first use) ----------------------------------------
    def ai_pipeline(
        self,
        name: str,
        *,
        op: str | None = None,
        data: Mapping[str, Any] | None = None,
        capture_errors: bool = True,
    ) -> AIRun:
        """An AI pipeline (an agent run, a chain): ``with client.ai_pipeline("support-bot"):``,
        ``async with``, or ``@client.ai_pipeline("support-bot")`` on a sync or ``async def``
        function. A ``gen_ai.invoke_agent`` span (a transaction of its own when no span is
        running); errors captured inside carry the tag ``ai.pipeline.name``; the exception that
        escapes it is captured once (unless ``capture_errors=False``) and re-raised."""
        from ..ai import AIRun

        return AIRun(self, name, op, data, pipeline=True, capture_errors=capture_errors)

    def ai_step(
        self,
        name: str,
        op: str | None = None,
        *,
        model: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> AIRun:
        """A step of an AI pipeline, as a span of the current one (context manager or decorator,
        like :meth:`ai_pipeline`), named ``<operation> <name>``: ``op`` is Sentry's (default
        ``gen_ai.execute_tool``, a tool call; ``gen_ai.chat`` for a model call), ``model`` the
        model it asks for (a model call is then named ``chat <model>``, as Sentry expects)."""
        from ..ai import AIRun

        if model is not None:
            data = {**(data or {}), "gen_ai.request.model": model}
        return AIRun(self, name, op, data)

    def record_token_usage(
        self,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        total_tokens: int | None = None,
        cached_input_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        cache_write_input_tokens: int | None = None,
        span: Span | NoOpSpan | None = None,
    ) -> None:
        """Token counts of a model call on ``span`` (default: the current span; nothing when no
        span records). ``input_tokens`` includes the cached ones, ``output_tokens`` the
        reasoning ones; ``total_tokens`` defaults to their sum."""
        if span is None and self._context.span is None:
            return  # tracing off or no transaction: nothing imported
        from ..ai import record_token_usage

        record_token_usage(
            self,
            input_tokens,
            output_tokens,
            total_tokens,
            cached_input_tokens,
            reasoning_tokens,
            cache_write_input_tokens,
            span,
        )

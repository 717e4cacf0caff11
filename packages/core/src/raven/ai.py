"""AI monitoring: LLM pipelines, their steps and their token usage, as the spans Sentry's AI
Agents views read (ops ``gen_ai.*``, data ``gen_ai.*``: ``PROTOCOL.md``, "AI monitoring").

``client.ai_pipeline(name)`` and ``client.ai_step(name, op=...)`` are context managers (``with``
and ``async with``) and decorators (sync and ``async def``). A pipeline tags every error captured
inside it with :data:`PIPELINE_TAG` (``ai.pipeline.name``), captures the exception that escapes it
once (an error an integration already captured is not sent again) and re-raises it. With tracing
off nothing is timed: no span, only the tag. Imported the first time the API is used, never with
``raven``; no AI vendor library is needed.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .guard import capture_internal_errors
from .tracing.scope import NOOP_SPAN, NoOpSpan

if TYPE_CHECKING:
    from .tracing.span import Span

__all__ = [
    "PIPELINE_TAG",
    "AIRun",
    "current_pipeline",
    "record_token_usage",
]

PIPELINE_TAG = "ai.pipeline.name"
"""The tag errors captured inside a pipeline carry: the pipeline's name."""

PIPELINE_OP = "gen_ai.invoke_agent"
STEP_OP = "gen_ai.execute_tool"

_pipeline: ContextVar[str | None] = ContextVar("raven.ai.pipeline", default=None)

# record_token_usage's arguments -> the span data keys. Cached input and reasoning output are
# subsets of input and output; each is also written under the name Sentry used before
# (sentry-sdk 2.x still writes those: older servers read them).
_USAGE_KEYS: dict[str, tuple[str, ...]] = {
    "input_tokens": ("gen_ai.usage.input_tokens",),
    "output_tokens": ("gen_ai.usage.output_tokens",),
    "total_tokens": ("gen_ai.usage.total_tokens",),
    "cached_input_tokens": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.input_tokens.cached",
    ),
    "cache_write_input_tokens": (
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.input_tokens.cache_write",
    ),
    "reasoning_tokens": (
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.usage.output_tokens.reasoning",
    ),
}


def current_pipeline() -> str | None:
    """The name of the AI pipeline running in this thread or task, or None."""
    return _pipeline.get()


def record_token_usage(
    client: Any,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    total_tokens: int | None = None,
    cached_input_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    cache_write_input_tokens: int | None = None,
    span: Any = None,
) -> None:
    """Token counts on ``span`` (default: ``client``'s current span; nothing without one).

    ``input_tokens`` includes ``cached_input_tokens`` (and the tokens written to the cache),
    ``output_tokens`` includes ``reasoning_tokens``; ``total_tokens`` defaults to input +
    output. Counts that are not whole numbers are left out.
    """
    if span is None:
        span = client.current_span()
        if span is None:
            return
    counts = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": total_tokens,
        "cached_input_tokens": cached_input_tokens,
        "cache_write_input_tokens": cache_write_input_tokens,
        "reasoning_tokens": reasoning_tokens,
    }
    if (
        total_tokens is None
        and _count(input_tokens) is not None
        and _count(output_tokens) is not None
    ):
        counts["total_tokens"] = int(input_tokens) + int(output_tokens)  # type: ignore[arg-type]
    for name, value in counts.items():
        count = _count(value)
        if count is not None:
            for key in _USAGE_KEYS[name]:
                span.set_data(key, count)


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return int(value)


class AIRun:
    """A pipeline or one of its steps: a context manager (sync and async) whose value is the
    span (a no-op span with tracing off), and a decorator that runs each call in a fresh one."""

    __slots__ = (
        "client",
        "name",
        "op",
        "data",
        "is_pipeline",
        "capture_errors",
        "_span",
        "_token",
        "_previous_tag",
    )

    def __init__(
        self,
        client: Any,
        name: str,
        op: str | None = None,
        data: Mapping[str, Any] | None = None,
        *,
        pipeline: bool = False,
        capture_errors: bool = True,
    ) -> None:
        self.client = client
        self.name = str(name)
        self.op = op or (PIPELINE_OP if pipeline else STEP_OP)
        self.data = dict(data) if data else None
        self.is_pipeline = pipeline
        self.capture_errors = capture_errors
        self._span: Span | NoOpSpan | None = None
        self._token: Token[str | None] | None = None
        self._previous_tag: Any = None

    def __repr__(self) -> str:
        kind = "pipeline" if self.is_pipeline else "step"
        return f"<AIRun {kind} {self.name!r} op={self.op!r}>"

    def _copy(self) -> AIRun:
        return AIRun(
            self.client,
            self.name,
            self.op,
            self.data,
            pipeline=self.is_pipeline,
            capture_errors=self.capture_errors,
        )

    # -- context manager ----------------------------------------------------------------------
    def __enter__(self) -> Span | NoOpSpan:
        span: Span | NoOpSpan = NOOP_SPAN
        with capture_internal_errors("ai", "starting an AI pipeline or step"):
            if self.is_pipeline:
                self._enter_pipeline()
            span = self._start_span()
        self._span = span
        return span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client = self.client
        if (
            self.is_pipeline
            and self.capture_errors
            and isinstance(exc, Exception)
            and client.is_enabled()
        ):
            with capture_internal_errors("ai", "capturing an AI pipeline's error"):
                # Captured while the pipeline's tag and span are current; an exception an
                # integration inside already captured is not sent twice (captureException).
                client.captureException(exc, mechanism={"type": "ai_monitoring", "handled": False})
        span, self._span = self._span, None
        if span is not None:
            with capture_internal_errors("ai", "finishing an AI pipeline or step"):
                span.__exit__(exc_type, exc, tb)
        if self.is_pipeline:
            with capture_internal_errors("ai", "leaving an AI pipeline"):
                self._leave_pipeline()

    async def __aenter__(self) -> Span | NoOpSpan:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    # -- decorator ----------------------------------------------------------------------------
    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self._copy():
                    return await func(*args, **kwargs)

            return run_async

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self._copy():
                return func(*args, **kwargs)

        return run

    # -- steps --------------------------------------------------------------------------------
    def _enter_pipeline(self) -> None:
        context = self.client.context
        tags = context.snapshot()[0].get("tags")
        if isinstance(tags, Mapping):
            self._previous_tag = tags.get(PIPELINE_TAG)
            context.set("tags", {**tags, PIPELINE_TAG: self.name})
        else:
            context.set("tags", {PIPELINE_TAG: self.name})
        self._token = _pipeline.set(self.name)

    def _leave_pipeline(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            try:
                _pipeline.reset(token)
            except ValueError:  # left in another context than entered
                _pipeline.set(None)
        context = self.client.context
        tags = context.snapshot()[0].get("tags")
        if isinstance(tags, Mapping) and PIPELINE_TAG in tags:
            tags = dict(tags)
            if self._previous_tag is None:
                del tags[PIPELINE_TAG]
            else:
                tags[PIPELINE_TAG] = self._previous_tag
            context.set("tags", tags)

    def _start_span(self) -> Span | NoOpSpan:
        client = self.client
        operation = self.op.removeprefix("gen_ai.")
        model = (self.data or {}).get("gen_ai.request.model")
        if model and operation not in ("invoke_agent", "execute_tool"):
            description = f"{operation} {model}"  # a model call: Sentry's "chat gpt-4o"
        else:
            description = f"{operation} {self.name}"
        span: Span | NoOpSpan
        if self.is_pipeline and client.tracing_enabled and client.current_span() is None:
            # A pipeline run outside any transaction (a script, a worker) is one of its own.
            span = client.start_transaction(name=description, op=self.op, origin="manual")
        else:
            span = client.start_span(op=self.op, description=description)
        span.__enter__()
        if span.sampled:
            span.set_data("gen_ai.operation.name", operation)
            if operation == "invoke_agent":
                span.set_data("gen_ai.agent.name", self.name)
            elif operation == "execute_tool":
                span.set_data("gen_ai.tool.name", self.name)
            pipeline = _pipeline.get()
            if pipeline is not None:
                span.set_data("gen_ai.pipeline.name", pipeline)
            for key, value in (self.data or {}).items():
                span.set_data(key, value)
        return span

"""``@raven_lambda.handler``: report a Lambda handler's errors and imminent timeouts, and deliver
them before the invocation ends (Lambda freezes the process as soon as the handler returns)."""

from __future__ import annotations

import functools
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar, overload

from raven.exceptions import ConfigurationError
from raven.guard import capture_internal_errors

from ._invocation import aws_lambda_context, function_name, remaining_seconds, take_cold_start
from ._timeout import TimeoutWatch
from ._tracing import finish_invocation, start_invocation
from ._trigger import describe_trigger

__all__ = ["DEFAULT_TIMEOUT_MARGIN", "default_client", "handler"]

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TIMEOUT_MARGIN = 1.5
# Flushing stops this long before the deadline, so the runtime can still post the handler's result.
FLUSH_SLACK = 0.1

_MARK = "__raven_lambda_handler__"

_default_lock = threading.Lock()
_default: Any = None
_warned_disabled = False

logger = logging.getLogger("raven.awslambda")


def default_client() -> Any:
    """The process's shared :class:`LambdaClient`, configured from ``SENTRY_*`` variables."""
    global _default
    with _default_lock:
        if _default is None:
            from .client import LambdaClient

            _default = LambdaClient()
        return _default


@overload
def handler(func: F, /) -> F: ...
@overload
def handler(
    *,
    client: Any = None,
    timeout_warning: bool = True,
    timeout_margin: float = DEFAULT_TIMEOUT_MARGIN,
) -> Callable[[F], F]: ...
def handler(
    func: Any = None,
    /,
    *,
    client: Any = None,
    timeout_warning: bool = True,
    timeout_margin: float = DEFAULT_TIMEOUT_MARGIN,
) -> Any:
    """Decorate a Lambda handler, bare (``@handler``) or configured (``@handler(client=...)``).

    ``client``: the ``raven.Client`` to report with; by default one :class:`LambdaClient` per
    process, built from ``SENTRY_DSN`` and the other ``SENTRY_*`` variables when the first handler
    is decorated (so a bad DSN fails the function's init, loudly).
    ``timeout_warning``: send a warning with the handler's stack ``timeout_margin`` seconds
    before the invocation's deadline, if it is still running then.

    The handler's return value and exceptions pass through unchanged.
    """
    if func is not None and not callable(func):
        raise TypeError(f"raven_lambda.handler decorates a function, got {func!r}")
    if (
        isinstance(timeout_margin, bool)
        or not isinstance(timeout_margin, (int, float))
        or timeout_margin < 0
    ):
        raise ConfigurationError(
            f"option 'timeout_margin' must be a number of seconds >= 0, got {timeout_margin!r}"
        )

    def decorate(function: F) -> F:
        if getattr(function, _MARK, False):
            return function  # already reporting: a second wrapper would report everything twice
        invocation = _Invoker(
            function,
            client if client is not None else default_client(),
            bool(timeout_warning),
            float(timeout_margin),
        )

        @functools.wraps(function)
        def wrapper(event: Any, context: Any) -> Any:
            __traceback_hide__ = True  # noqa: F841  (keeps this frame out of reported stacks)
            return invocation(event, context)

        setattr(wrapper, _MARK, True)
        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


class _Invoker:
    def __init__(
        self, func: Callable[[Any, Any], Any], client: Any, timeout_warning: bool, margin: float
    ) -> None:
        self.func = func
        self.client = client
        self.timeout_warning = timeout_warning
        self.margin = margin

    def __call__(self, event: Any, context: Any) -> Any:
        __traceback_hide__ = True  # noqa: F841
        cold_start = take_cold_start()
        client = self.client
        if not client.is_enabled():
            _warn_disabled(self.func)
            return self.func(event, context)
        with client.context:  # a fresh scope: nothing from the previous invocation leaks in
            watch: TimeoutWatch | None = None
            transaction: Any = None
            name = ""
            with capture_internal_errors("awslambda", "describing the invocation"):
                name = function_name(context) or ""
                self._describe(client, event, context, cold_start, name)
            with capture_internal_errors("awslambda", "starting the invocation's transaction"):
                transaction = start_invocation(client, event, context, name, cold_start)
            if self.timeout_warning:
                with capture_internal_errors("awslambda", "starting the timeout warning"):
                    watch = self._watch(client, context, cold_start, transaction)
            result: Any = None
            failed = True
            client.start_session()  # release health: one session per invocation
            try:
                result = self.func(event, context)
                failed = False
                return result
            except Exception:
                with capture_internal_errors("awslambda", "capturing the handler's exception"):
                    client.captureException(
                        sys.exc_info(),
                        mechanism={"type": "aws_lambda", "handled": False},
                        data=_now(context, cold_start),
                    )
                raise
            finally:
                if watch is not None:
                    watch.cancel()
                if transaction is not None:
                    with capture_internal_errors("awslambda", "finishing the transaction"):
                        finish_invocation(transaction, result, failed)
                client.end_session()  # exited, or crashed by the handler's exception
                with capture_internal_errors("awslambda", "flushing events"):
                    client.flush(_flush_timeout(client, context))

    @staticmethod
    def _describe(client: Any, event: Any, context: Any, cold_start: bool, name: str) -> None:
        data: dict[str, Any] = {"contexts": {"aws_lambda": aws_lambda_context(context, cold_start)}}
        if name:
            data["transaction"] = name
        client.context.merge(data)
        with capture_internal_errors("awslambda", "describing the triggering event"):
            request, trigger = describe_trigger(event, client)
            if request is not None:
                client.context.merge({"request": request})
            if trigger is not None:
                client.context.merge({"contexts": {"aws_event": trigger}})

    def _watch(
        self, client: Any, context: Any, cold_start: bool, transaction: Any
    ) -> TimeoutWatch | None:
        remaining = remaining_seconds(context)
        if remaining is None:
            return None
        watch = TimeoutWatch(
            client,
            self.margin,
            remaining,
            threading.get_ident(),
            event_data=lambda: _now(context, cold_start),
            flush=lambda: client.flush(_flush_timeout(client, context)),
            transaction=transaction,
        )
        watch.start()
        return watch


def _warn_disabled(func: Callable[..., Any]) -> None:
    """Say once per process (at its first invocation, the cold start) that nothing is reported."""
    global _warned_disabled
    with _default_lock:
        if _warned_disabled:
            return
        _warned_disabled = True
    logger.warning(
        "Raven is disabled: no DSN configured (set SENTRY_DSN, or pass a client with a DSN to "
        "raven_lambda.handler); errors of %s are not reported",
        getattr(func, "__qualname__", func),
    )


def _now(context: Any, cold_start: bool) -> dict[str, Any]:
    """Event data as of now: the ``aws_lambda`` context with the time remaining at capture."""
    return {"contexts": {"aws_lambda": aws_lambda_context(context, cold_start)}}


def _flush_timeout(client: Any, context: Any) -> float:
    remaining = remaining_seconds(context)
    if remaining is None:
        return float(client.options.shutdown_timeout)
    return max(remaining - FLUSH_SLACK, 0.0)

"""The one "never break the app" guard: Raven's own failures are logged and swallowed.

Every place where Raven runs on the application's path (a framework hook, a signal receiver, a
process-wide hook) wraps its work in :func:`capture_internal_errors`. What fails is logged at
ERROR on the ``raven.<area>`` logger with one spelling, ``"raven.<area>: <what> failed"``, so it
is visible where Raven's errors are looked for, and so that the test suite's fixture (which
listens on the ``raven`` logger) turns anything swallowed into a failing test.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["capture_internal_errors"]

F = TypeVar("F", bound=Callable[..., Any])


class capture_internal_errors:  # noqa: N801  (used like contextlib's lower-case helpers)
    """Context manager and decorator: log any ``Exception`` on ``raven.<area>`` and swallow it.

    ``with capture_internal_errors("flask", "reading the request"): ...`` or, on a sync or
    ``async`` function, ``@capture_internal_errors("celery")`` (``what`` defaults to the
    function's name; a swallowed call returns None). ``BaseException``\\ s that are not
    ``Exception``\\ s (``KeyboardInterrupt``, ``SystemExit``, cancellation) pass through.
    """

    __slots__ = ("area", "what")

    def __init__(self, area: str = "client", what: str | None = None) -> None:
        self.area = area  # the logger is looked up only when something fails: guards are hot
        self.what = what

    @property
    def logger(self) -> logging.Logger:
        """``raven.<area>``, where what this guard swallows is logged."""
        area = self.area
        return logging.getLogger(area if area.startswith("raven") else f"raven.{area}")

    def __enter__(self) -> capture_internal_errors:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc_type is None or not issubclass(exc_type, Exception):
            return False
        _report(self.logger, self.what or "an internal step", (exc_type, exc, tb))
        return True

    def __call__(self, func: F) -> F:
        logger, what = self.logger, self.what or func.__qualname__

        if _is_coroutine_function(func):

            @functools.wraps(func)
            async def async_guarded(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await func(*args, **kwargs)
                except Exception as exc:
                    _report(logger, what, (type(exc), exc, exc.__traceback__))
                    return None

            return async_guarded  # type: ignore[return-value]

        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                _report(logger, what, (type(exc), exc, exc.__traceback__))
                return None

        return guarded  # type: ignore[return-value]


def _report(logger: logging.Logger, what: str, exc_info: Any) -> None:
    """Log one swallowed failure; logging itself failing must not raise either."""
    try:
        logger.error("%s: %s failed", logger.name, what, exc_info=exc_info)
    except Exception:  # a broken handler on the raven logger: nothing left to tell
        pass


def _is_coroutine_function(func: Any) -> bool:
    """``inspect.iscoroutinefunction`` without importing ``inspect`` (a third of ``import raven``)."""
    while isinstance(func, functools.partial):
        func = func.func
    code = getattr(getattr(func, "__func__", func), "__code__", None)  # methods: their function
    return bool(code is not None and code.co_flags & 0x80)  # CO_COROUTINE

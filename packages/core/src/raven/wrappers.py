"""``client.capture_exceptions``: a decorator or context manager that captures matching
exceptions, then re-raises them."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .client import Client

__all__ = ["CaptureExceptions", "capture_exceptions", "wrap"]

F = TypeVar("F", bound=Callable[..., Any])


def capture_exceptions(client: Client, function_or_exceptions: Any, kwargs: dict[str, Any]) -> Any:
    """What ``client.capture_exceptions(function_or_exceptions, **kwargs)`` returns: the wrapped
    function, or a decorator and context manager for the given exception classes."""
    if callable(function_or_exceptions) and not (
        isinstance(function_or_exceptions, type)
        and issubclass(function_or_exceptions, BaseException)
    ):
        return wrap(client, function_or_exceptions, (Exception,), kwargs)
    exceptions = function_or_exceptions or (Exception,)
    if isinstance(exceptions, type):
        exceptions = (exceptions,)
    return CaptureExceptions(client, tuple(exceptions), kwargs)


def wrap(
    client: Client, func: F, exceptions: tuple[type[BaseException], ...], kwargs: dict[str, Any]
) -> F:
    """``func`` capturing ``exceptions`` with ``client`` (``kwargs`` to captureException)."""
    import inspect  # here, not at module level: it is slow to import

    if inspect.iscoroutinefunction(func):  # a sync wrapper would only see the coroutine object

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kw: Any) -> Any:
            try:
                return await func(*args, **kw)
            except exceptions:
                try:
                    _capture_in_wrapper(client, kwargs)
                except RecursionError:  # see wrapper
                    pass
                raise

        _WRAPPER_CODES.add(async_wrapper.__code__)  # type: ignore[attr-defined]
        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kw: Any) -> Any:
        try:
            return func(*args, **kw)
        except exceptions:
            # Out of stack even for the call: the bare raise re-raises the app's own
            # exception, with no RecursionError of Raven's chained to it.
            try:
                _capture_in_wrapper(client, kwargs)
            except RecursionError:
                pass
            raise

    _WRAPPER_CODES.add(wrapper.__code__)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _capture_in_wrapper(client: Client, kwargs: dict[str, Any]) -> None:
    """Capture for the ``capture_exceptions`` decorator, which re-raises afterwards.

    A RecursionError under a decorated recursive function passes through one wrapper per
    level, the innermost ones with no stack left to capture with: it is captured once, by
    the outermost wrapper of this client (with the whole stack to spare), not by each.
    """
    if isinstance(sys.exc_info()[1], RecursionError) and _outer_wrapper_of(client):
        return
    client.captureException(**kwargs)


class CaptureExceptions:
    """``with client.capture_exceptions(...)`` and ``@client.capture_exceptions(...)``."""

    def __init__(
        self, client: Client, exceptions: tuple[type[BaseException], ...], kwargs: dict[str, Any]
    ) -> None:
        self.client, self.exceptions, self.kwargs = client, exceptions, kwargs

    def __call__(self, func: F) -> F:
        return wrap(self.client, func, self.exceptions, self.kwargs)

    def __enter__(self) -> CaptureExceptions:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is not None and isinstance(exc, self.exceptions):
            try:
                self.client.captureException(exc, **self.kwargs)
            except RecursionError:  # out of stack: an outer frame reports it (see the wrapper)
                pass


# Code objects of the capture_exceptions wrappers, to find an outer one on the stack.
_WRAPPER_CODES: set[Any] = set()


def _outer_wrapper_of(client: Client) -> bool:
    """Whether a capture_exceptions wrapper of ``client`` is further out on this stack (only
    called for a RecursionError, so walking the stack costs nothing on the normal path)."""
    # 3: past this function, _capture_in_wrapper and the wrapper calling it
    frame: FrameType | None = sys._getframe(3)
    while frame is not None:
        if frame.f_code in _WRAPPER_CODES and frame.f_locals.get("client") is client:
            return True
        frame = frame.f_back
    return False

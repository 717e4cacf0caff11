"""What a capture is about: the exception an ``exc_info`` names, and whether its class is one
of ``ignore_exceptions``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import TracebackType
from typing import Any

from . import events
from .callbacks import describe

__all__ = ["exception_of", "ignore_matcher"]


def exception_of(exc_info: Any, warn: Callable[..., None]) -> BaseException | None:
    """The exception to capture; a malformed ``(type, value, tb)`` such as
    ``(ValueError, "x", None)`` becomes ``ValueError("x")`` instead of raising into the app."""
    if (
        isinstance(exc_info, tuple)
        and len(exc_info) == 3
        and exc_info[1] is not None
        and not isinstance(exc_info[1], BaseException)
    ):
        exc_type, value, tb = exc_info
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
            exc_type = Exception
        try:
            built: BaseException = exc_type(value)
        except Exception:  # a class that wants other arguments
            built = Exception(f"{exc_type.__name__}: {value}")
        if isinstance(tb, TracebackType):
            built = built.with_traceback(tb)
        return built
    try:
        exc = events.to_exception(exc_info)
    except Exception:
        exc = None
    if exc is None and not _no_exception(exc_info):
        warn(
            "captureException",
            "captureException() cannot capture %s; nothing sent",
            describe(exc_info),
        )
    return exc


def _no_exception(exc_info: Any) -> bool:
    """True for what says "the exception being handled" (None, True, a sys.exc_info() tuple
    outside an except block): capturing nothing then is not the caller's mistake."""
    if exc_info is None or exc_info is True:
        return True
    return isinstance(exc_info, tuple) and all(part is None for part in exc_info)


def ignore_matcher(patterns: tuple[Any, ...]) -> Callable[[type[BaseException]], bool]:
    """Whether an exception class (or a base class) matches ``ignore_exceptions``: classes,
    names, dotted names and ``*`` patterns."""
    exact = {p for p in patterns if isinstance(p, str) and "*" not in p}
    wild = [p for p in patterns if isinstance(p, str) and "*" in p]
    classes = tuple(p for p in patterns if isinstance(p, type))
    if wild:
        from fnmatch import fnmatchcase  # only for patterns: not on every start-up

    @functools.lru_cache(maxsize=512)
    def ignored(cls: type[BaseException]) -> bool:
        if classes and issubclass(cls, classes):
            return True
        for klass in cls.__mro__:
            names = (klass.__name__, f"{klass.__module__}.{klass.__qualname__}")
            if any(n in exact for n in names):
                return True
            if wild and any(fnmatchcase(n, p) for n in names for p in wild):
                return True
        return False

    return ignored  # type: ignore[return-value]

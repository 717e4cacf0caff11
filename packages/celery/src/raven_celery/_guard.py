"""The one guard every signal receiver runs under: Raven never breaks a worker."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["guarded", "logger"]

logger = logging.getLogger("raven.celery")

F = TypeVar("F", bound=Callable[..., Any])


def guarded(func: F) -> F:
    """Log any error raised by ``func`` on the ``raven.celery`` logger and swallow it.

    Celery's own signal dispatch would log it too, but on Celery's logger and at a level that
    depends on the version; ours keeps the failure visible where Raven's errors are looked for.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception:
            logger.exception("raven-celery: %s failed", func.__qualname__)
            return None

    return wrapper  # type: ignore[return-value]

"""``setup_logging(handler)``: send the root logger's records to Sentry."""

from __future__ import annotations

import logging
from collections.abc import Iterable

__all__ = ["setup_logging", "EXCLUDE_LOGGER_DEFAULTS"]

EXCLUDE_LOGGER_DEFAULTS = ("raven", "gunicorn", "south", "sentry.errors", "django.request", "dummy")


def setup_logging(
    handler: logging.Handler, exclude: Iterable[str] = EXCLUDE_LOGGER_DEFAULTS
) -> bool:
    """Attach ``handler`` to the root logger; loggers in ``exclude`` stop propagating to it.

    Returns False when an equal handler is already attached (nothing done).
    """
    root = logging.getLogger()
    if any(type(h) is type(handler) for h in root.handlers):
        return False
    root.addHandler(handler)
    for name in exclude:
        logger = logging.getLogger(name)
        logger.propagate = False
        if not logger.handlers:
            logger.addHandler(logging.StreamHandler())
    return True

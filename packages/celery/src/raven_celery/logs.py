"""Error logs from task code as events: ``register_logger_signal(client)`` and :class:`CeleryFilter`."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import signals
from raven.guard import capture_internal_errors
from raven.handlers.logging import SentryHandler

from ._signals import Receivers
from .handler import is_reported

__all__ = ["CeleryFilter", "register_logger_signal", "unregister_logger_signal"]


class CeleryFilter(logging.Filter):
    """Keep task failures out of a :class:`SentryHandler`: the failure signal reports them.

    Celery logs every failed task once more (``celery.app.trace``'s ``_log_error``, the worker's
    "Task handler raised error" for lost pool processes, its "Hard time limit exceeded" line);
    without this filter each failure would arrive twice. A record that reaches the same handler through two loggers
    (a task logger set to propagate) is also let through only once.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """False for records about an exception Raven already reported (and Celery's own failure line)."""
        exc = record.exc_info[1] if record.exc_info else None
        # The worker logs a lost pool process with the exception wrapped for pickling.
        if is_reported(exc) or is_reported(getattr(exc, "exc", None)):
            return False
        data = getattr(record, "data", None)
        if isinstance(data, dict) and "internal" in data:
            # Celery's failure line; an internal error (outside the task body) is worth a report.
            keep = bool(data["internal"])
        elif record.funcName == "on_timeout" and record.name.startswith("celery."):
            keep = False
        else:
            keep = record.funcName != "_log_error"
        if not keep:
            return False
        seen: tuple[int, ...] = getattr(record, "_raven_celery_filters", ())
        if id(self) in seen:
            return False
        record._raven_celery_filters = (*seen, id(self))
        return True


class _LoggerSignal:
    """One client's logging registration: what it attached, so that it can be undone."""

    def __init__(self, client: Any, loglevel: int) -> None:
        self.client = client
        self.filter = CeleryFilter()
        self.handler = SentryHandler(client, level=loglevel)
        self.handler.addFilter(self.filter)
        self._attached: list[logging.Logger] = []
        self._filtered: list[logging.Handler] = []
        self._receivers = Receivers(
            (signals.after_setup_logger, self.on_setup_logger),
            (signals.after_setup_task_logger, self.on_setup_logger),
        )
        self._lock = threading.Lock()

    def connect(self) -> None:
        self._receivers.connect()

    @capture_internal_errors("celery")
    def on_setup_logger(self, logger: logging.Logger | None = None, **_: Any) -> None:
        if logger is not None:
            self.attach(logger)

    def attach(self, logger: logging.Logger) -> None:
        """Add the handler to ``logger``, or only the filter to a SentryHandler already there."""
        with self._lock:
            existing = [h for h in logger.handlers if isinstance(h, SentryHandler)]
            if self.handler in existing:
                return
            if existing:
                for handler in existing:
                    if not any(isinstance(f, CeleryFilter) for f in handler.filters):
                        handler.addFilter(self.filter)
                        self._filtered.append(handler)
                return
            logger.addHandler(self.handler)
            self._attached.append(logger)

    def uninstall(self) -> None:
        self._receivers.disconnect()
        with self._lock:
            for logger in self._attached:
                logger.removeHandler(self.handler)
            for handler in self._filtered:
                handler.removeFilter(self.filter)
            self._attached.clear()
            self._filtered.clear()


_registry: dict[int, _LoggerSignal] = {}
_registry_lock = threading.Lock()


def register_logger_signal(
    client: Any, logger: logging.Logger | str | None = None, loglevel: int = logging.ERROR
) -> SentryHandler:
    """Turn records at ``loglevel`` and above into events, leaving task failures to the signal.

    Without ``logger``, the handler is added when the worker sets up its logging (the root
    logger and Celery's task logger, through ``after_setup_logger`` and
    ``after_setup_task_logger``); with one, it is added to that logger now. Where a
    ``SentryHandler`` is already attached, only a :class:`CeleryFilter` is added to it. Calling
    it again for the same client adds nothing. Returns the handler.
    """
    with _registry_lock:
        registration = _registry.get(id(client))
        if registration is None or registration.client is not client:
            registration = _registry[id(client)] = _LoggerSignal(client, loglevel)
        else:
            registration.handler.setLevel(loglevel)
    if logger is None:
        registration.connect()
    else:
        registration.attach(logging.getLogger(logger) if isinstance(logger, str) else logger)
    return registration.handler


def unregister_logger_signal(client: Any) -> None:
    """Undo :func:`register_logger_signal` for ``client``: handlers and filters are removed."""
    with _registry_lock:
        registration = _registry.pop(id(client), None)
    if registration is not None:
        registration.uninstall()

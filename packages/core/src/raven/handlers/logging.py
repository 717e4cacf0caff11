"""``SentryHandler``: log records at or above its level become Sentry events."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from .._legacy_capture import split_record_data
from ..breadcrumbs import raven_is_sending
from ..client import Client
from ..events import add_stack
from ..guard import capture_internal_errors
from ..stacks import iter_stack_frames

__all__ = ["SentryHandler"]

_logger = logging.getLogger("raven.handlers")

# Records from these loggers are never reported (Raven's own, and raven-python's error logger).
_EXCLUDED = ("raven", "sentry.errors")
# LogRecord attributes that are not user "extra" data.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "stack",
    "data",
    "tags",
    "culprit",
    "fingerprint",
    "server_name",
    "sample_rate",
    "request",
    "user",
}
# What each reserved key of a record's ``extra`` must hold to be used as such (``request`` may be
# a framework's request object: raven_django's client takes an HttpRequest).
_RESERVED_TYPES: dict[str, tuple[type, ...]] = {
    "tags": (Mapping,),
    "user": (Mapping,),
    "fingerprint": (list, tuple, str),
    "culprit": (str,),
    "server_name": (str,),
    "sample_rate": (int, float),
}


class SentryHandler(logging.Handler):
    """``SentryHandler(client)``, ``SentryHandler(client=client)`` or ``SentryHandler("dsn")``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        client = kwargs.pop("client", None)
        client_cls = kwargs.pop("client_cls", Client)  # raven-python: the class a DSN builds
        level = kwargs.pop("level", logging.NOTSET)
        self.tags = kwargs.pop("tags", None)
        if args:
            first, *rest = args
            if client is None:
                client = first
            if rest:
                level = rest[0]
        if isinstance(client, str):
            client = client_cls(dsn=client, **kwargs)
        elif client is None and "dsn" in kwargs:
            client = client_cls(**kwargs)
        if not isinstance(client, Client):
            raise ValueError(f"SentryHandler needs a raven.Client or a DSN string, got {client!r}")
        if isinstance(level, str):
            level = logging.getLevelName(level.upper())
            if not isinstance(level, int):
                raise ValueError(f"SentryHandler: unknown level {args[1:] or level!r}")
        super().__init__(level)
        self.client = client

    def can_record(self, record: logging.LogRecord) -> bool:
        """False for records of Raven's own loggers (and raven-python's ``sentry.errors``), and
        for any record emitted while Raven sends (urllib3's debug lines about Raven's own
        request would otherwise each become an event, whose sending logs the next one)."""
        name = record.name
        if any(name == x or name.startswith(x + ".") for x in _EXCLUDED):
            return False
        return not raven_is_sending()

    def emit(self, record: logging.LogRecord) -> None:
        """Capture ``record`` as an event; a failure is logged on ``raven.handlers``, never raised."""
        if not self.can_record(record):
            return
        # Logged on raven.handlers, which this handler and the breadcrumb hook ignore: no loop.
        with capture_internal_errors("handlers", "sending a log record"):
            self._emit(record)

    def _reserved(self, record: logging.LogRecord, key: str, extra: dict[str, Any]) -> Any:
        """The record's value for a reserved ``extra`` key, if it has the type the key needs;
        one of another type (``extra={"data": "x"}``, ``{"tags": [...]}``) goes to the event's
        extra under its name, with one warning, instead of failing the event."""
        value = getattr(record, key, None)
        if value is None or key not in _RESERVED_TYPES or isinstance(value, _RESERVED_TYPES[key]):
            if key == "fingerprint" and isinstance(value, str):
                return [value]
            return value
        warned = self.__dict__.setdefault("_raven_warned", set())  # subclasses skip __init__
        if key not in warned:
            warned.add(key)
            _logger.warning(
                "SentryHandler: extra key %r must be %s, got %s; sent in extra instead",
                key,
                " or ".join(t.__name__ for t in _RESERVED_TYPES[key]),
                type(value).__name__,
            )
        extra[key] = value
        return None

    def _emit(self, record: logging.LogRecord) -> str | None:
        client = self.client
        extra = {
            k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")
        }
        # raven-python's extra={"data": {...}}: interface keys shape the event, the rest is extra
        data, record_extra = split_record_data(getattr(record, "data", None))
        extra = {**record_extra, **extra}
        tags = {**(self.tags or {}), **(self._reserved(record, "tags", extra) or {})}
        kwargs: dict[str, Any] = {
            "level": record.levelno,
            "logger": record.name,
            "extra": extra,
            "tags": tags,
        }
        for key in ("culprit", "fingerprint", "server_name", "sample_rate", "request", "user"):
            value = self._reserved(record, key, extra)
            if value is not None:
                kwargs[key] = value
        extra.update(
            {
                "filename": record.pathname,
                "lineno": record.lineno,
                "function": record.funcName,
                "thread": record.threadName,
                "process": record.processName,
            }
        )
        message = record.msg if isinstance(record.msg, str) else str(record.msg)
        # a single dict argument stays a dict, as LogRecord.getMessage uses it: "%(name)s" % args
        params = (
            record.args
            if isinstance(record.args, (tuple, Mapping))
            else ((record.args,) if record.args else ())
        )
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            try:
                formatted = record.getMessage()
            except Exception:
                formatted = message
            data.setdefault("message", formatted)  # the log line, as raven-python sent it
            data.setdefault(
                "logentry",
                {
                    "message": message,
                    "params": params if isinstance(params, Mapping) else list(params),
                    "formatted": formatted,
                },
            )
            return client.captureException(exc, data=data, **kwargs)
        stack = getattr(record, "stack", None)
        if stack is True or (stack is None and client.options.auto_log_stacks):
            frames = list(iter_stack_frames(sys._getframe(0)))
            while frames and frames[0][0].f_globals.get("__name__", "").startswith(
                ("raven.", "logging")
            ):
                frames.pop(0)
            frames.reverse()
            data["stacktrace"] = client.stacks.stacktrace(frames)
        elif isinstance(stack, (list, tuple)) and stack:  # raven-python's frames, oldest first
            add_stack(data, stack, client.stacks)
        return client.captureMessage(message, params=params, data=data, stack=False, **kwargs)

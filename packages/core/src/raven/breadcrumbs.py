"""Breadcrumbs: the trail of events before an error, recorded into the active contexts.

Sources: explicit ``record(...)`` calls, the logging hook (every log record becomes a crumb
unless its logger is ignored), and library hooks for outgoing HTTP (``requests``, ``http.client``).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from .callbacks import WarnOnce, describe, rejected

if TYPE_CHECKING:
    from .context import Context

__all__ = [
    "BreadcrumbBuffer",
    "BreadcrumbRecorder",
    "activate",
    "active_contexts",
    "deactivate",
    "ignore_logger",
    "libraryhook",
    "make_crumb",
    "raven_is_sending",
    "record",
    "record_log_record",
    "register_logging_handler",
    "register_special_log_handler",
]

logger = logging.getLogger("raven.breadcrumbs")

MAX_MESSAGE_LENGTH = 1024
_LEVELS = {"warn": "warning", "critical": "fatal", "exception": "error", "notset": "debug"}
_VALID_LEVELS = {"debug", "info", "warning", "error", "fatal", "log"}

_ignored_loggers: set[str] = {"raven", "sentry.errors"}
_special_handlers: dict[str, Callable[..., Any]] = {}
_logging_handlers: list[Callable[..., Any]] = []
_library_hooks: dict[str, list[Callable[[], Any]]] = {}
_active_lock = threading.Lock()
_active: tuple[weakref.ref[Context], ...] = ()

# Set while the SDK itself makes HTTP calls, and while one library hook already records a call.
suppress_http_breadcrumbs: ContextVar[bool] = ContextVar(
    "raven.suppress_http_breadcrumbs", default=False
)
# The threads of the background sender (raven.transport.threaded): whatever they log is Raven's.
_SENDER_THREADS = ("raven-encoder", "raven-sender-", "raven-warm-up")
_current_thread = threading.current_thread


def raven_is_sending() -> bool:
    """True in Raven's sender threads, and in any thread while Raven sends from it (a sync send).

    Log records emitted then come from the transport's own libraries (urllib3, requests,
    http.client, charset_normalizer, raven.*): they never become events or breadcrumbs, or one
    event logged at DEBUG would become thousands (each send logging what makes the next one).
    """
    return suppress_http_breadcrumbs.get() or _current_thread().name.startswith(_SENDER_THREADS)


def active_contexts() -> list[Context]:
    """The contexts breadcrumbs are currently recorded into (one per enabled client)."""
    if len(_active) == 1:  # the common case: one client
        ctx = _active[0]()
        return [ctx] if ctx is not None else []
    return [ctx for ref in _active if (ctx := ref()) is not None]


def activate(context: Context) -> None:
    """Record breadcrumbs into ``context`` from now on (held weakly)."""
    global _active
    for ref in _active:  # a loop, not any(): every request's scope activates its context
        if ref() is context:
            return
    with _active_lock:
        _active = tuple(r for r in _active if r() is not None) + (weakref.ref(context),)


def deactivate(context: Context) -> None:
    """Stop recording breadcrumbs into ``context``."""
    global _active
    with _active_lock:
        _active = tuple(r for r in _active if r() is not None and r() is not context)


def normalize_level(level: Any) -> str:
    """Sentry's breadcrumb level for a logging level number or name (unknown: ``info``)."""
    if isinstance(level, int):
        level = logging.getLevelName(level)
    name = str(level or "info").lower()
    name = _LEVELS.get(name, name)
    return name if name in _VALID_LEVELS else "info"


def make_crumb(
    *,
    timestamp: float | None = None,
    level: Any = None,
    message: str | None = None,
    category: str | None = None,
    data: Mapping[str, Any] | None = None,
    type: str | None = None,
    processor: Callable[[dict[str, Any]], Any] | None = None,
    before_breadcrumb: Callable[..., Any] | None = None,
    hint: Any = None,
    warn: Callable[..., None] | None = None,
) -> dict[str, Any] | None:
    """A crumb dict after ``processor`` and ``before_breadcrumb``; None when dropped.

    ``hint`` is what ``before_breadcrumb`` receives with the crumb (``{"log_record": record}``,
    ``{"httplib_request": ..., "httplib_response": ...}``). ``warn(key, message, *args)`` reports
    a misbehaving caller or callback (once per key, by the caller's choice).
    """
    warn = warn or _log_warning
    if timestamp is not None and not isinstance(timestamp, (int, float)):
        timestamp = timestamp.timestamp() if hasattr(timestamp, "timestamp") else None
    crumb: dict[str, Any] = {
        "timestamp": timestamp or time.time(),
        "type": type or "default",
        "level": normalize_level(level),
    }
    if message is not None:
        crumb["message"] = message if isinstance(message, str) else _text(message)
    if category is not None:
        crumb["category"] = category if isinstance(category, str) else _text(category)
    if data:
        if isinstance(data, Mapping):
            crumb["data"] = dict(data)
        else:  # data="x" or a list: kept, under a key, rather than raising into the app
            warn(
                "data", "breadcrumb data must be a dict, got %s; sent as data.value", describe(data)
            )
            crumb["data"] = {"value": data}
    try:
        if processor is not None:
            processor(crumb)
        if before_breadcrumb is not None:
            result = before_breadcrumb(crumb, hint)
            # Not kept: a string in the buffer would make every later event fail to build.
            if rejected(
                result,
                dict,
                warn,
                "before_breadcrumb",
                "before_breadcrumb returned %s, not a breadcrumb (a dict) or None; "
                "the breadcrumb is dropped",
            ):
                return None
            crumb = result
    except Exception:
        logger.exception("breadcrumb processor failed; crumb dropped")
        return None
    return crumb


def _text(value: Any) -> str:
    """``str(value)`` for a message or category given as another type, never raising."""
    try:
        return str(value)
    except Exception:
        from .serializer import safe_repr

        return safe_repr(value)


def _log_warning(key: str, message: str, *args: Any) -> None:
    logger.warning(message, *args)


class BreadcrumbRecorder:
    """``captureBreadcrumb`` with raven-python's signature, recording into the contexts of
    ``_breadcrumb_contexts()``: every active context (each client's) unless a subclass (the
    client) names its own."""

    def _breadcrumb_contexts(self) -> Iterable[Context]:
        return active_contexts()

    def captureBreadcrumb(
        self,
        message: str | None = None,
        timestamp: float | None = None,
        level: Any = None,
        category: str | None = None,
        data: Mapping[str, Any] | None = None,
        type: str | None = None,
        processor: Callable[[dict[str, Any]], Any] | None = None,
        hint: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a breadcrumb (``message`` first, as documented); ``hint`` is passed to each
        context's ``before_breadcrumb``."""
        for context in self._breadcrumb_contexts():
            context.breadcrumbs.record(
                timestamp, level, message, category, data, type, processor, hint
            )


#: Record a breadcrumb into every active context (each client's context); ``hint`` is passed to
#: each client's ``before_breadcrumb``.
record = BreadcrumbRecorder().captureBreadcrumb


def ignore_logger(name_or_logger: str | logging.Logger, allow_level: int | None = None) -> None:
    """Never turn records of this logger (and its children) into breadcrumbs."""
    name = name_or_logger.name if isinstance(name_or_logger, logging.Logger) else name_or_logger
    if allow_level is None:
        _ignored_loggers.add(name)
        _ignored_names.clear()
    else:
        register_special_log_handler(name, lambda lg, level, *a: level < allow_level)


def register_special_log_handler(
    name_or_logger: str | logging.Logger, callback: Callable[..., Any]
) -> None:
    """``callback(logger, level, msg, args, kwargs)`` for one logger; returning True suppresses the crumb."""
    name = name_or_logger.name if isinstance(name_or_logger, logging.Logger) else name_or_logger
    _special_handlers[name] = callback


def register_logging_handler(callback: Callable[..., Any]) -> None:
    """``callback(logger, level, msg, args, kwargs)`` for every record; returning True suppresses it."""
    _logging_handlers.append(callback)


_ignored_names: dict[str, bool] = {}  # logger name -> ignored; emptied when the rules change
_LOG_LEVELS = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "fatal"}


def _is_ignored(name: str) -> bool:
    if name in _ignored_loggers:
        return True
    return any(name.startswith(ignored + ".") for ignored in _ignored_loggers)


# The attributes every LogRecord has: anything else on a record came from ``extra=``.
_RECORD_ATTR_COUNT = len(vars(logging.LogRecord("", 0, "", 0, "", (), None)))
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


def record_log_record(record: logging.LogRecord) -> None:
    """Turn one log record into a breadcrumb, unless its logger is ignored or a handler says no.

    Runs for every record the app logs: each step is the cheap form of what it checks.
    """
    name = record.name
    ignored = _ignored_names.get(name)
    if ignored is None:
        ignored = _ignored_names[name] = _is_ignored(name)
    if ignored:
        return
    contexts = active_contexts()
    if not contexts or raven_is_sending():
        return
    if _special_handlers or _logging_handlers:
        args: tuple[Any, ...] = (
            logging.getLogger(name),
            record.levelno,
            record.msg,
            record.args,
            {},
        )
        special = _special_handlers.get(name)
        if special is not None and special(*args):
            return
        if any(handler(*args) for handler in _logging_handlers):
            return
    try:
        message = record.getMessage()
    except Exception:
        message = str(record.msg)
    if len(message) > MAX_MESSAGE_LENGTH:
        message = message[: MAX_MESSAGE_LENGTH - 3] + "..."
    # the record's extra data, as raven-python's crumbs kept it (and a single dict argument)
    attrs = record.__dict__
    data: dict[str, Any] | None = None
    if len(attrs) > _RECORD_ATTR_COUNT:  # something beyond the standard attributes: extra=
        data = {k: v for k, v in attrs.items() if k not in _RECORD_ATTRS and k[:1] != "_"} or None
    record_args = record.args
    if record_args and type(record_args) is not tuple and isinstance(record_args, Mapping):
        data = {**record_args, **(data or {})}  # a single dict argument (tuples: most records)
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        data = {
            **(data or {}),
            "exception_type": type(exc).__name__,
            "exception_value": str(exc)[:MAX_MESSAGE_LENGTH],
        }
    level = _LOG_LEVELS.get(record.levelno) or normalize_level(record.levelno)
    hint = {"log_record": record}
    for context in contexts:
        context.breadcrumbs.record(record.created, level, message, name, data, "log", None, hint)


def libraryhook(name: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register a hook that runs (once per process) when a client's ``hook_libraries`` names ``name``."""

    def decorator(func: Callable[[], Any]) -> Callable[[], Any]:
        _library_hooks.setdefault(name, []).append(func)
        return func

    return decorator


def library_hooks(name: str) -> list[Callable[[], Any]]:
    """The hooks registered with :func:`libraryhook` under ``name``."""
    return list(_library_hooks.get(name, ()))


class BreadcrumbBuffer:
    """raven-python's ``context.breadcrumbs``: ``record``, ``get_buffer``, ``clear``."""

    def __init__(self, context: Context) -> None:
        self._context = context
        # A callback that misbehaves does so for every crumb: say it once per context.
        self._warn_once = WarnOnce(logger)

    def record(
        self,
        timestamp: float | None = None,
        level: str | None = None,
        message: str | None = None,
        category: str | None = None,
        data: Mapping[str, Any] | None = None,
        type: str | None = None,
        processor: Callable[[dict[str, Any]], Any] | None = None,
        hint: Mapping[str, Any] | None = None,
    ) -> None:
        """Record one breadcrumb into this context (after ``processor`` and ``before_breadcrumb``,
        which receives ``hint``)."""
        if (
            processor is None
            and self._context.before_breadcrumb is None
            and (level is None or level in _VALID_LEVELS)
            and (timestamp is None or timestamp.__class__ is float)
            and (message is None or message.__class__ is str)
            and (category is None or category.__class__ is str)
            and (data is None or data.__class__ is dict)
        ):
            # What the logging and HTTP hooks record for every line and call: already in shape,
            # no callback (make_crumb's result, without its conversions).
            fast: dict[str, Any] = {
                "timestamp": timestamp or time.time(),
                "type": type or "default",
                "level": level or "info",
            }
            if message is not None:
                fast["message"] = message
            if category is not None:
                fast["category"] = category
            if data:
                fast["data"] = dict(data)
            self._context.record_breadcrumb(fast)
            return
        crumb = make_crumb(
            timestamp=timestamp,
            level=level,
            message=message,
            category=category,
            data=data,
            type=type,
            processor=processor,
            before_breadcrumb=self._context.before_breadcrumb,
            hint=hint,
            warn=self._warn_once,
        )
        if crumb is not None:
            self._context.record_breadcrumb(crumb)

    def get_buffer(self) -> list[dict[str, Any]]:
        """The breadcrumbs of the current thread or task, oldest first."""
        return list(self._context.snapshot()[1])

    def clear(self) -> None:
        """Forget the breadcrumbs of the current thread or task."""
        self._context.clear_breadcrumbs()

    def __len__(self) -> int:
        return len(self._context.snapshot()[1])

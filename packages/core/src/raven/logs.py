"""Structured logs: Sentry's ``log`` items, from Python ``logging`` and from ``client.logger``.

With ``enable_logs=True``, every ``logging`` record at or above ``logs_level`` (default INFO),
wherever it is logged, and every ``client.logger.info(...)`` call becomes a log: its body, its
template and parameters apart (so that the server groups by template), the current trace and
span, the user, and the client's release, environment and server. The logging hook is the one
that records breadcrumbs (:mod:`raven.hooks`): no second patch. Raven's own records, and
anything logged while Raven sends or ships a batch, never become logs.

The calling thread only takes the record's values into a tuple and appends it to a buffer;
building, scrubbing, ``before_send_log`` and batching happen on the batcher's thread
(:mod:`raven.telemetry`, :mod:`raven.transport.batcher`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from .breadcrumbs import _RECORD_ATTRS, raven_is_sending
from .callbacks import WarnOnce
from .guard import capture_internal_errors
from .serializer import safe_repr
from .telemetry import (
    _PLAIN,
    Kind,
    Pipeline,
    link,
    plain,
    plain_attributes,
    plain_params,
    user_attributes,
)
from .transport.batcher import is_shipping

__all__ = ["LogCapture", "StructuredLogger", "level_of", "log_pipeline", "severity_of"]

_python_logger = logging.getLogger("raven.client")
_warn_once = WarnOnce(logging.getLogger("raven.logs"))

LOG = Kind(
    name="log",
    item_type="log",
    content_type="application/vnd.sentry.items.log+json",
    category="log_item",
    byte_category="log_byte",
    callback_option="before_send_log",
)
# OpenTelemetry's severity numbers: the lowest of each level's range.
TRACE, DEBUG, INFO, WARN, ERROR, FATAL = 1, 5, 9, 13, 17, 21
_LEVEL_TEXT = ((FATAL, "fatal"), (ERROR, "error"), (WARN, "warn"), (INFO, "info"), (DEBUG, "debug"))
_LEVEL_OF = {TRACE: "trace", **{number: name for number, name in _LEVEL_TEXT}}
_PYTHON_LEVEL = {TRACE: 5, DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40, FATAL: 50}
_STANDARD = {50: FATAL, 40: ERROR, 30: WARN, 20: INFO, 10: DEBUG}
# A record with more attributes than a fresh one carries ``extra=`` values.
_BASE_ATTRS = len(vars(logging.LogRecord("", 0, "", 0, "", (), None)))
_IGNORED = ("raven", "sentry.errors")


def severity_of(levelno: int) -> int:
    """The severity number of a Python logging level (between two levels: the lower one's)."""
    severity = _STANDARD.get(levelno)
    if severity is not None:
        return severity
    for python_level, number in ((50, FATAL), (40, ERROR), (30, WARN), (20, INFO), (10, DEBUG)):
        if levelno >= python_level:
            return number
    return TRACE


def level_of(severity: int) -> str:
    """The level name (``trace`` ... ``fatal``) of a severity number."""
    name = _LEVEL_OF.get(severity)
    if name is not None:
        return name
    for lowest, name in _LEVEL_TEXT:
        if severity >= lowest:
            return name
    return "trace"


def log_pipeline(client: Any) -> Pipeline:
    """The client's log pipeline, made on first use."""
    pipeline: Pipeline | None = client._log_pipeline
    if pipeline is None:
        pipeline = client._log_pipeline = Pipeline(client, LOG, build_log)
    return pipeline


# An entry: (timestamp, severity, body, template, params, attributes, source, trace_id, span_id,
# user); ``source`` is (logger name, path, line, function, thread id, thread name) for a record.
def build_log(entry: tuple[Any, ...], options: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The log item of an entry (the app's attributes, plain) and the attributes Raven derived
    from the record (see :class:`~raven.telemetry.Pipeline`)."""
    timestamp, severity, body, template, params, extra, source, trace_id, span_id, user = entry
    attributes: dict[str, Any] = {}
    if template is not None and params:
        attributes["sentry.message.template"] = template
        pairs = params.items() if isinstance(params, Mapping) else enumerate(params)
        for key, value in pairs:
            attributes[f"sentry.message.parameter.{key}"] = value
    if user is not None:
        attributes.update(user_attributes(user, options.send_default_pii))
    if extra:
        attributes.update(extra)
    item: dict[str, Any] = {
        "timestamp": timestamp,
        "trace_id": trace_id,
        "level": level_of(severity),
        "severity_number": severity,
        "body": body,
        "attributes": attributes,
    }
    if span_id is not None:
        item["span_id"] = span_id
    if source is None:
        return item, None
    name, path, line, function, thread_id, thread_name = source
    fixed = {"sentry.origin": "auto.log.stdlib", "logger.name": name}
    for key, value in (
        ("code.file.path", path),
        ("code.line.number", line),
        ("code.function.name", function),
        ("thread.id", thread_id),
        ("thread.name", thread_name),
    ):
        if value is not None:
            fixed[key] = value
    return item, fixed


class LogCapture:
    """Called by the logging hook with every record while its client has ``enable_logs`` on."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.level: int = client.options.logs_level
        self.add = log_pipeline(client).add
        self._skip: dict[str, bool] = {}  # logger name -> Raven's own

    def start(self) -> None:
        from . import hooks

        hooks.add_log_sink(self)

    def stop(self) -> None:
        from . import hooks

        hooks.remove_log_sink(self)

    def __call__(self, record: logging.LogRecord) -> None:
        if record.levelno < self.level:
            return
        name = record.name
        skip = self._skip.get(name)
        if skip is None:
            skip = self._skip[name] = name in _IGNORED or name.startswith(
                ("raven.", "sentry.errors.")
            )
        if skip or is_shipping() or raven_is_sending():
            return
        msg, args = record.msg, record.args
        try:
            body = record.getMessage()
        except Exception:  # the app's own handlers report a bad template; the log keeps it raw
            body = msg if type(msg) is str else safe_repr(msg)
        if args:
            template = msg if type(msg) is str else None
            params = args
            if type(args) is tuple:
                for arg in args:
                    if type(arg) not in _PLAIN:
                        params = plain_params(args)
                        break
            else:
                params = plain_params(args)
        else:
            template = params = None
        fields = record.__dict__
        extra = _extra(fields) if len(fields) > _BASE_ATTRS else None
        trace_id, span_id, user = link(self.client)
        self.add(
            (
                record.created,
                _STANDARD.get(record.levelno) or severity_of(record.levelno),
                body,
                template,
                params,
                extra,
                (
                    name,
                    record.pathname,
                    record.lineno,
                    record.funcName,
                    record.thread,
                    record.threadName,
                ),
                trace_id,
                span_id,
                user,
            )
        )


def _extra(fields: dict[str, Any]) -> dict[str, Any] | None:
    """A record's ``extra=`` values, plain (taken now: they may change once logged)."""
    extra = {k: plain(v) for k, v in fields.items() if k not in _RECORD_ATTRS and k[:1] != "_"}
    return extra or None


class StructuredLogger:
    """``client.logger``: ``trace``, ``debug``, ``info``, ``warning``, ``error``, ``fatal``
    (``template, *params, attributes=None``), each a log when ``enable_logs`` is on.

    The template is %-formatted with the parameters for the body, and sent apart from them
    (``sentry.message.template``, ``sentry.message.parameter.N``). With ``enable_logs`` off
    (or ``debug`` on) the call also goes to Python's ``raven.client`` logger, which raven-python's
    ``client.logger`` was: every other attribute (``setLevel``, ``handlers``, ...) is that
    logger's too.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(_python_logger, name)

    def trace(self, template: Any, *params: Any, attributes: Any = None, **kwargs: Any) -> None:
        """A ``trace`` log (the finest level)."""
        self._log(TRACE, template, params, attributes, kwargs)

    def debug(self, template: Any, *params: Any, attributes: Any = None, **kwargs: Any) -> None:
        """A ``debug`` log."""
        self._log(DEBUG, template, params, attributes, kwargs)

    def info(self, template: Any, *params: Any, attributes: Any = None, **kwargs: Any) -> None:
        """An ``info`` log: ``client.logger.info("order %s paid", order_id, attributes={...})``."""
        self._log(INFO, template, params, attributes, kwargs)

    def warning(self, template: Any, *params: Any, attributes: Any = None, **kwargs: Any) -> None:
        """A ``warn`` log."""
        self._log(WARN, template, params, attributes, kwargs)

    warn = warning

    def error(self, template: Any, *params: Any, attributes: Any = None, **kwargs: Any) -> None:
        """An ``error`` log (a log, not an error event: ``captureException`` makes those)."""
        self._log(ERROR, template, params, attributes, kwargs)

    def exception(self, template: Any, *params: Any, attributes: Any = None, **kwargs: Any) -> None:
        """An ``error`` log from an ``except`` block (Python logging gets ``exc_info``)."""
        kwargs.setdefault("exc_info", True)
        self._log(ERROR, template, params, attributes, kwargs)

    def fatal(self, template: Any, *params: Any, attributes: Any = None, **kwargs: Any) -> None:
        """A ``fatal`` log."""
        self._log(FATAL, template, params, attributes, kwargs)

    critical = fatal

    def log(
        self, level: int, template: Any, *params: Any, attributes: Any = None, **kwargs: Any
    ) -> None:
        """A log at a Python logging ``level`` (``logging.INFO``, ...)."""
        severity = severity_of(level) if isinstance(level, int) else INFO
        self._log(severity, template, params, attributes, kwargs, python_level=level)

    def _log(
        self,
        severity: int,
        template: Any,
        params: tuple[Any, ...],
        attributes: Any,
        kwargs: dict[str, Any],
        python_level: int | None = None,
    ) -> None:
        client = self._client
        opts = client.options
        if opts.enable_logs and client.is_enabled() and not is_shipping():
            try:  # not a `with` guard: this runs per call, and the guard is only needed on failure
                _record(client, severity, template, params, attributes, kwargs)
            except Exception:
                with capture_internal_errors("logs", "recording a log"):
                    raise
            if not opts.debug:
                return
        level = python_level if python_level is not None else _PYTHON_LEVEL[severity]
        if _python_logger.isEnabledFor(level):
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 2  # the caller, not this module
            _python_logger.log(level, template, *params, **kwargs)


def _record(
    client: Any,
    severity: int,
    template: Any,
    params: tuple[Any, ...],
    attributes: Any,
    kwargs: dict[str, Any],
) -> None:
    if type(template) is not str:
        template, params = plain(template), ()
        body = str(template)
    elif params:
        args: Any = params
        if len(params) == 1 and params[0] and isinstance(params[0], Mapping):
            args = params[0]  # "%(name)s" with a dict, as logging takes it
        try:
            body = template % args
        except Exception:
            _warn_once(
                "format",
                "client.logger: the template %r does not take its parameters; sent unformatted",
                template,
            )
            body = template
        params = plain_params(args)
    else:
        body = template
    extra = plain_attributes(attributes) if attributes else None
    if kwargs and isinstance(kwargs.get("extra"), Mapping):  # logging's extra=: attributes too
        extra = {**(plain_attributes(kwargs["extra"]) or {}), **(extra or {})}
    trace_id, span_id, user = link(client)
    pipeline = client._log_pipeline or log_pipeline(client)
    pipeline.add(
        (time.time(), severity, body, template, params, extra, None, trace_id, span_id, user)
    )

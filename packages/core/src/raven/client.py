"""The Raven client: options -> event -> processors -> before_send -> ``send`` -> transport."""

from __future__ import annotations

import logging
import os
import random
import sys
from collections.abc import Mapping
from typing import Any

from . import events, hooks
from .__about__ import __version__
from ._legacy_client import LegacyClientAttributes
from .breadcrumbs import BreadcrumbRecorder
from .callbacks import WarnOnce, load_processor, run_before_send, run_processors
from .context import Context, ContextHelpers
from .dsn import Dsn
from .excinfo import exception_of, ignore_matcher
from .features import MonitorsMixin, ScopeExtrasMixin, SessionsMixin, TelemetryMixin
from .options import DEFAULT_PROCESSORS, ClientOptions
from .serializer import Serializer
from .stacks import StackBuilder
from .tracing import TracingMixin
from .transport import ClientReports, Transport, transport_for

__all__ = ["Client"]

logger = logging.getLogger("raven.client")

SDK_NAME = "raven.python"


class Client(
    ContextHelpers,
    TracingMixin,
    TelemetryMixin,
    SessionsMixin,
    MonitorsMixin,
    ScopeExtrasMixin,
    LegacyClientAttributes,
    BreadcrumbRecorder,
):
    """Captures errors and messages and delivers them to a Sentry-compatible server.

    ``Client()`` with no DSN (and no ``SENTRY_DSN``) is disabled: captures return None.
    """

    def __init__(
        self,
        dsn: str | None = None,
        raise_send_errors: bool | None = None,
        transport: Any = None,
        **options: Any,
    ) -> None:
        if raise_send_errors is not None:
            options["raise_send_errors"] = raise_send_errors
        if transport is not None:
            options["transport"] = transport
        self.dsn: Dsn | None = Dsn.parse(dsn) if dsn else Dsn.from_env()
        self.options = ClientOptions.from_kwargs(options, self.dsn.query if self.dsn else None)
        opts = self.options
        if opts.debug:
            _enable_debug_logging()
        self.serializer = Serializer(
            opts.string_max_length, opts.list_max_length, opts.max_depth, opts.custom_repr
        )
        self.stacks = StackBuilder(
            self.serializer,
            context_lines=opts.context_lines,
            capture_locals=opts.capture_locals,
            include_paths=opts.include_paths,
            exclude_paths=opts.exclude_paths,
            max_frames=opts.max_stack_frames,
            max_locals_time=opts.max_locals_time,
        )
        # The default scrubber is loaded when the first event is processed (usually on the
        # transport's encoder thread); processors the app names are loaded now, failing fast.
        self._processors: list[Any] | None = None
        if opts.processors != DEFAULT_PROCESSORS:
            self._processors = [load_processor(p, self) for p in opts.processors]
        self.reports = ClientReports()
        self._token = os.urandom(16).hex()  # marks exceptions this client already captured
        self._warn_once = WarnOnce(logger)  # misbehaving callbacks: once, not once per event
        # enable_breadcrumbs=False: no crumbs at all, even from hooks another client installed
        self._context = Context(
            self,
            max_breadcrumbs=opts.max_breadcrumbs if opts.enable_breadcrumbs else 0,
            before_breadcrumb=opts.before_breadcrumb,
        )
        self._ignore = ignore_matcher(opts.ignore_exceptions)
        self._static = self._static_event_fields()
        self.transport: Transport | None = None
        # Scrubbing (the processors) costs a capture a quarter of its time: the HTTP transports
        # run it on their encoder thread, unless a subclass builds or collects events itself.
        self._defer_processing = False
        if self.dsn is not None:
            transport_cls = transport_for(self.dsn, opts.transport)
            self.transport = transport_cls(self.dsn, opts, self.reports)
            if (
                hasattr(self.transport, "process_event")
                and type(self).send is Client.send
                and type(self).build_msg is Client.build_msg
            ):
                self.transport.process_event = self._run_processors
                self._defer_processing = True
        else:
            logger.debug("raven is disabled: no DSN given and SENTRY_DSN is not set")
        if self.is_enabled():  # overridable: raven-python's test clients enable themselves
            self._context.activate()  # breadcrumbs recorded anywhere reach this client
            if self.tracing_enabled:
                self.tracer  # noqa: B018  (made now: no import on the first request or in a signal handler)
            hooks.install(self)  # a disabled client touches nothing global
            self.start_telemetry()  # enable_logs: logging records become structured logs
            self.start_sessions()  # auto_session_tracking (on with a release): raven.sessions

    # -- configuration --------------------------------------------------------------------------
    @classmethod
    def register_scheme(cls, scheme: str, transport_cls: type[Transport]) -> None:
        """Make ``scheme://`` DSNs use ``transport_cls`` (raven-python's API)."""
        from .transport import register_transport

        register_transport(scheme, transport_cls)

    def _static_event_fields(self) -> dict[str, Any]:
        opts = self.options
        uname = os.uname() if hasattr(os, "uname") else None
        fields: dict[str, Any] = {
            "platform": "python",
            "server_name": opts.server_name,
            "sdk": {
                "name": SDK_NAME,
                "version": __version__,
                "packages": [{"name": "pypi:raven-core", "version": __version__}],
            },
        }
        for key in ("release", "environment", "dist"):
            if getattr(opts, key):
                fields[key] = getattr(opts, key)
        fields["contexts"] = {
            "os": {"name": uname.sysname, "version": uname.release}
            if uname
            else {"name": sys.platform},
            "runtime": {
                "name": sys.implementation.name.replace("cpython", "CPython"),
                "version": "{}.{}.{}".format(*sys.version_info[:3]),
                "build": sys.version,
            },
        }
        return fields

    @property
    def processors(self) -> list[Any]:
        """The processors every event goes through (the ``processors`` option, loaded)."""
        if self._processors is None:
            self._processors = [load_processor(p, self) for p in self.options.processors]
        return self._processors

    @processors.setter
    def processors(self, processors: list[Any]) -> None:
        self._processors = processors

    # -- state -----------------------------------------------------------------------------------
    def is_enabled(self) -> bool:
        """True when a DSN is configured and events may be sent."""
        return self.transport is not None

    @property
    def context(self) -> Context:
        """The context of the current thread or asyncio task."""
        return self._context

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event captured in the current scope (thread, task, request)."""
        return self._context.last_event_id

    def get_public_dsn(self, scheme: str | None = None) -> str | None:
        """The DSN without its secret, for browser SDKs: scheme-relative (``//key@host/1``) as in
        raven-python, unless ``scheme`` is given."""
        return self.dsn.public("" if scheme is None else scheme) if self.dsn else None

    def get_module_versions(self) -> dict[str, str]:
        """Installed distributions and their versions, as sent in ``modules``."""
        from .versioning import get_module_versions

        return get_module_versions()

    def should_capture(self, exc_info: Any) -> bool:
        """False when the exception's class (or a base class) matches ``ignore_exceptions``."""
        exc_type = exc_info[0] if isinstance(exc_info, tuple) else type(exc_info)
        return exc_type is None or not self._ignore(exc_type)

    def _breadcrumb_contexts(self) -> tuple[Context, ...]:
        return (self.context,)  # captureBreadcrumb records into this client's context only

    # -- capture ---------------------------------------------------------------------------------
    def captureException(self, exc_info: Any = None, **kwargs: Any) -> str | None:
        """Capture an exception: ``None`` (the one being handled), True, a tuple or an instance."""
        exc = exception_of(exc_info, self._warn_once)
        if exc is None:
            return None
        if not self.should_capture((type(exc), exc, exc.__traceback__)):
            self.reports.record("ignored", "error")
            return None
        if getattr(exc, "__raven_captured__", None) == self._token:
            return None  # the same exception object is reported once
        event_id = self.capture("raven.events.Exception", exc_info=exc, **kwargs)
        if event_id is not None:
            try:
                # A string, not the client: the exception must stay picklable (Celery, multiprocessing).
                exc.__raven_captured__ = self._token  # type: ignore[attr-defined]
            except (
                AttributeError,
                TypeError,
            ):  # __slots__ or a read-only __setattr__: may report twice
                pass
        return event_id

    def captureMessage(self, message: str, **kwargs: Any) -> str | None:
        """Capture a message; ``params`` are %-formatted into it."""
        return self.capture("raven.events.Message", message=message, **kwargs)

    def captureQuery(
        self, query: str, params: Any = (), engine: str | None = None, **kwargs: Any
    ) -> str | None:
        """Capture a SQL query as a message event."""
        return self.capture(
            "raven.events.Query", query=query, params=params, engine=engine, **kwargs
        )

    def capture(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        date: Any = None,
        time_spent: Any = None,
        extra: Mapping[str, Any] | None = None,
        stack: Any = None,
        tags: Mapping[str, Any] | None = None,
        sample_rate: float | None = None,
        **kwargs: Any,
    ) -> str | None:
        """Build an event of ``event_type`` and send it; returns its id, or None if not sent."""
        if not self.is_enabled():
            return None
        try:
            attachments = kwargs.pop("attachments", None)  # this capture's own files
            if self._sessions is not None:  # release health: an error marks the session
                self._sessions.note_capture(event_type, data, kwargs)
            rate = self.options.sample_rate if sample_rate is None else float(sample_rate)
            category = "error" if events.event_kind(event_type) == "exception" else "default"
            if rate < 1.0 and random.random() >= rate:
                self.reports.record("sample_rate", category)
                self._count_dropped_attachments("sample_rate", attachments)
                return None
            # After the cheap exits, inside the guard: a disabled client or a sampled-out event
            # costs the framework client nothing, and its failure never reaches the app.
            data = self.prepare_capture(data, tags, kwargs)
            if self._defer_processing:  # the transport's encoder thread runs the processors
                kwargs["process"] = False
            event = self.build_msg(
                event_type, data, date, time_spent, extra, stack, tags=tags, **kwargs
            )
            if self.options.before_send is not None:
                hint = {"exc_info": kwargs.get("exc_info")}
                processed = run_before_send(self.options.before_send, event, hint, self._warn_once)
                if processed is None:
                    self.reports.record("before_send", category)
                    self._count_dropped_attachments("before_send", attachments)
                    return None
                event = processed
            if attachments is not None or self._context.attachments:
                event["_attachments"] = self._attachments_for(attachments)  # see transport.base
            self.send(**event)
        except RecursionError:
            # Out of stack (capturing near the recursion limit) or a structure too deep to
            # encode: logging would overflow again and print thousands of lines. The drop is
            # counted (capture_exceptions captures a RecursionError from its outermost wrapper).
            if self.options.raise_send_errors:
                raise
            try:
                self.reports.record(
                    "internal_sdk_error", "error" if "exc_info" in kwargs else "default"
                )
            except RecursionError:
                pass
            return None
        except Exception:
            if self.options.raise_send_errors:
                raise
            logger.exception("raven failed to capture an event")
            return None
        event_id: str = event["event_id"]
        self._context.last_event_id = event_id
        return event_id

    def prepare_capture(
        self, data: Mapping[str, Any] | None, tags: Mapping[str, Any] | None, kwargs: dict[str, Any]
    ) -> Mapping[str, Any] | None:
        """The ``data`` :meth:`capture` goes on with; called once the event is sampled in, with
        its ``tags`` and its other keyword arguments (``kwargs``, which it may change). Framework
        clients override it to add what they know (``DjangoClient``: ``request=``, the ``site``
        tag, the template of a template error); this one changes nothing."""
        return data

    def send(self, **data: Any) -> str | None:
        """Hand a finished event to the transport. Subclasses may override to collect events."""
        if self.transport is None:
            return None
        self.transport.send_event(data)
        return data.get("event_id")

    def send_item(
        self,
        item_type: str,
        payload: Any,
        *,
        category: str,
        headers: dict[str, Any] | None = None,
        drops: list[tuple[str, int]] | None = None,
    ) -> bool:
        """Queue an envelope item that is not an event (``sessions``, ``check_in``, ``log``,
        ...) with the events: same queue, rate limits (``category``), outbox and client reports
        (``drops``: what losing it counts, default one of ``category``). False when disabled."""
        if self.transport is None:
            return False
        from .transport.envelope import envelope_item

        item = envelope_item(item_type, payload, category, headers=headers, drops=drops)
        self.transport.send_event(item)
        return True

    def build_msg(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        date: Any = None,
        time_spent: Any = None,
        extra: Mapping[str, Any] | None = None,
        stack: Any = None,
        public_key: Any = None,
        tags: Mapping[str, Any] | None = None,
        fingerprint: Any = None,
        *,
        exc_info: Any = None,
        mechanism: dict[str, Any] | None = None,
        message: Any = None,
        params: Any = (),
        query: Any = None,
        engine: str | None = None,
        process: bool = True,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The event dict for ``event_type``, processed (unless ``process=False``: :meth:`capture`
        leaves the processors to the transport's encoder thread when it can), without sending it.

        What the event says comes, lowest first, from the client's options, the context (where
        integrations attach the request, user and transaction), the call's ``data`` and its
        keyword arguments (``level``, ``logger``, ``culprit``, ``user``, ``request``, ...).
        """
        kind = events.event_kind(event_type)
        ctx_data, crumbs = self._context.snapshot()
        if data:  # raven-python's data= keys (dotted interfaces, site, hand-built frames)
            from ._legacy_capture import normalize

            data = normalize(data, self.stacks)
        data = data or {}
        event = events.new_event(self._static, date)
        if kind == "exception":
            exc = events.to_exception(exc_info)
            if exc is None:
                raise ValueError(
                    "no exception to capture: pass exc_info or call from an except block"
                )
            events.add_exception(event, exc, self.stacks, mechanism)
        elif kind == "query":
            # a query's parameters are user data: sent only with send_default_pii (issue 17)
            sql_params = params if self.options.send_default_pii else ()
            events.add_message(event, query, sql_params, self.serializer, level="info")
            event["logger"] = "db"
            if engine:
                event["extra"] = {"engine": engine}
        else:
            events.add_message(event, message, params, self.serializer)
        if kind != "exception":
            events.add_stack(
                event, self.options.auto_log_stacks if stack is None else stack, self.stacks
            )
        events.apply_data(event, (ctx_data, data, kwargs))
        site = (
            {"site": self.options.site} if self.options.site else None
        )  # raven-python's ``site`` option
        events.merge_tags(
            event, site, self.options.tags, ctx_data.get("tags"), data.get("tags"), tags
        )
        events.merge_extra(
            event,
            self.serializer,
            self.options.extra,
            ctx_data.get("extra"),
            data.get("extra"),
            extra,
        )
        events.merge_contexts(
            event,
            self._static["contexts"],
            self.serializer,
            ctx_data.get("contexts"),
            data.get("contexts"),
        )
        flags = self._context.flags
        if flags and "flags" not in event["contexts"]:  # add_feature_flag's, oldest first
            event["contexts"]["flags"] = {
                "values": [{"flag": name, "result": result} for name, result in flags.items()]
            }
        if "trace" not in event["contexts"]:  # links the error into its trace
            event["contexts"]["trace"] = self.trace_context()
        for key in ("user", "request"):
            if key in event:
                event[key] = self.serializer(event[key])
        if fingerprint is not None:
            event["fingerprint"] = fingerprint
        if "fingerprint" in event:
            parts = event["fingerprint"]  # one bad part spoils only itself
            if not isinstance(parts, (list, tuple)):
                parts = [parts]
            event["fingerprint"] = [events.safe_text(part) for part in parts]
        if time_spent is not None:
            event.setdefault("extra", {})["time_spent"] = time_spent
        if "breadcrumbs" not in data:
            events.add_breadcrumbs(event, crumbs, self.serializer)
        return self._run_processors(event) if process else event

    def _run_processors(self, event: dict[str, Any]) -> dict[str, Any]:
        return run_processors(self.processors, event, self._warn_once)

    # -- helpers ---------------------------------------------------------------------------------
    def capture_exceptions(self, function_or_exceptions: Any = None, **kwargs: Any) -> Any:
        """Decorator or context manager: capture matching exceptions, then re-raise them."""
        from .wrappers import capture_exceptions

        return capture_exceptions(self, function_or_exceptions, kwargs)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until pending events (buffered logs and metrics too) are delivered; True when
        nothing is left pending."""
        self.flush_sessions()
        self.flush_telemetry()
        return self.transport.flush(timeout) if self.transport is not None else True

    def close(self, timeout: float | None = None) -> bool:
        """Flush and stop the transport; the client sends nothing afterwards."""
        hooks.uninstall(self)
        self.close_sessions()  # the application session ends (sent) with the client
        self.close_telemetry()  # buffered logs and metrics go to the transport first
        self._context.deactivate()
        return self.transport.close(timeout) if self.transport is not None else True


def _enable_debug_logging() -> None:
    raven_logger = logging.getLogger("raven")
    if raven_logger.level == logging.NOTSET or raven_logger.level > logging.DEBUG:
        raven_logger.setLevel(logging.DEBUG)
    if not raven_logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[raven] %(levelname)s %(name)s: %(message)s"))
        raven_logger.addHandler(handler)

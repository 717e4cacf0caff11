"""The Raven client: options -> event -> processors -> before_send -> ``send`` -> transport."""

from __future__ import annotations

import fnmatch
import functools
import importlib
import logging
import os
import random
import sys
from collections.abc import Callable, Mapping
from types import FrameType, TracebackType
from typing import Any, TypeVar

from . import events, hooks
from .__about__ import __version__
from .context import Context
from .dsn import Dsn
from .exceptions import ConfigurationError
from .options import ClientOptions
from .serializer import Serializer, safe_repr
from .stacks import StackBuilder
from .transport import ClientReports, Transport, transport_for

__all__ = ["Client"]

logger = logging.getLogger("raven.client")
F = TypeVar("F", bound=Callable[..., Any])

SDK_NAME = "raven.python"


class Client:
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
        self.logger = logger
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
        self.processors = [self._load_processor(p) for p in opts.processors]
        self.reports = ClientReports()
        self._token = os.urandom(16).hex()  # marks exceptions this client already captured
        self._warned: set[str] = set()  # misbehaving callbacks are reported once, not per event
        # enable_breadcrumbs=False: no crumbs at all, even from hooks another client installed
        self._context = Context(
            self,
            max_breadcrumbs=opts.max_breadcrumbs if opts.enable_breadcrumbs else 0,
            before_breadcrumb=opts.before_breadcrumb,
        )
        self._ignore = self._compile_ignores(opts.ignore_exceptions)
        self._static = self._static_event_fields()
        self.transport: Transport | None = None
        if self.dsn is not None:
            transport_cls = transport_for(self.dsn, opts.transport)
            self.transport = transport_cls(self.dsn, opts, self.reports)
        else:
            logger.debug("raven is disabled: no DSN given and SENTRY_DSN is not set")
        if self.is_enabled():  # overridable: raven-python's test clients enable themselves
            self._context.activate()  # breadcrumbs recorded anywhere reach this client
            hooks.install(self)  # a disabled client touches nothing global

    # -- configuration --------------------------------------------------------------------------
    @classmethod
    def register_scheme(cls, scheme: str, transport_cls: type[Transport]) -> None:
        """Make ``scheme://`` DSNs use ``transport_cls`` (raven-python's API)."""
        from .transport import register_transport

        register_transport(scheme, transport_cls)

    def _load_processor(self, spec: Any) -> Any:
        try:
            if isinstance(spec, str):
                module, _, name = spec.rpartition(".")
                spec = getattr(importlib.import_module(module), name)
            processor = spec(self) if isinstance(spec, type) else spec
        except Exception as exc:
            raise ConfigurationError(f"option 'processors': cannot load {spec!r}: {exc}") from None
        if not callable(getattr(processor, "process", None)):
            raise ConfigurationError(
                "option 'processors' must hold Processor classes, instances or dotted paths "
                f"(something with a process(data) method), got {spec!r}"
            )
        return processor

    @staticmethod
    def _compile_ignores(patterns: tuple[Any, ...]) -> Callable[[type[BaseException]], bool]:
        exact = {p for p in patterns if isinstance(p, str) and "*" not in p}
        wild = [p for p in patterns if isinstance(p, str) and "*" in p]
        classes = tuple(p for p in patterns if isinstance(p, type))

        @functools.lru_cache(maxsize=512)
        def ignored(cls: type[BaseException]) -> bool:
            if classes and issubclass(cls, classes):
                return True
            for klass in cls.__mro__:
                names = (klass.__name__, f"{klass.__module__}.{klass.__qualname__}")
                if any(n in exact for n in names):
                    return True
                if any(fnmatch.fnmatchcase(n, p) for n in names for p in wild):
                    return True
            return False

        return ignored  # type: ignore[return-value]

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
        """The DSN without its secret, for browser SDKs (``scheme`` overrides the scheme)."""
        return self.dsn.public(scheme) if self.dsn else None

    def get_module_versions(self) -> dict[str, str]:
        """Installed distributions and their versions, as sent in ``modules``."""
        from .versioning import get_module_versions

        return get_module_versions()

    def should_capture(self, exc_info: Any) -> bool:
        """False when the exception's class (or a base class) matches ``ignore_exceptions``."""
        exc_type = exc_info[0] if isinstance(exc_info, tuple) else type(exc_info)
        return exc_type is None or not self._ignore(exc_type)

    # -- context helpers (raven-python names) -----------------------------------------------------
    def user_context(self, data: Mapping[str, Any] | None) -> None:
        """Set the user for what the current thread or task captures next (None forgets it)."""
        self._merge_context("user", data)

    def tags_context(self, data: Mapping[str, Any] | None) -> None:
        """Add tags to what the current thread or task captures next."""
        self._merge_context("tags", data)

    def extra_context(self, data: Mapping[str, Any] | None) -> None:
        """Add extra data to what the current thread or task captures next."""
        self._merge_context("extra", data)

    def http_context(self, data: Mapping[str, Any] | None) -> None:
        """Set (or lay over a lazily computed) request for what the current thread or task
        captures next (None forgets it)."""
        self._merge_context("request", data)

    def _merge_context(self, key: str, data: Mapping[str, Any] | None) -> None:
        # Helpers called on the app's path never raise: None clears the user or request (as
        # sentry-sdk's set_user(None)) and adds nothing to tags or extra; a value that is not a
        # mapping is ignored, with one warning.
        if data is None:
            if key in ("user", "request"):
                self.context.merge({key: None})
            return
        try:
            value = dict(data)
        except Exception:
            self._warn_once(
                f"{key}_context",
                "%s_context() expects a dict, got %s; ignored",
                key.replace("request", "http"),
                _describe(data),
            )
            return
        self.context.merge({key: value})

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
        """Record a breadcrumb into this client's context (``message`` first, as documented);
        ``hint`` is passed to ``before_breadcrumb``."""
        self.context.breadcrumbs.record(
            timestamp=timestamp,
            level=level,
            message=message,
            category=category,
            data=data,
            type=type,
            processor=processor,
            hint=hint,
        )

    # -- capture ---------------------------------------------------------------------------------
    def captureException(self, exc_info: Any = None, **kwargs: Any) -> str | None:
        """Capture an exception: ``None`` (the one being handled), True, a tuple or an instance."""
        exc = self._exception_of(exc_info)
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

    def _exception_of(self, exc_info: Any) -> BaseException | None:
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
            self._warn_once(
                "captureException",
                "captureException() cannot capture %s; nothing sent",
                _describe(exc_info),
            )
        return exc

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
            rate = self.options.sample_rate if sample_rate is None else float(sample_rate)
            category = "error" if events.event_kind(event_type) == "exception" else "default"
            if rate < 1.0 and random.random() >= rate:
                self.reports.record("sample_rate", category)
                return None
            event = self.build_msg(
                event_type,
                data=data,
                date=date,
                time_spent=time_spent,
                extra=extra,
                stack=stack,
                tags=tags,
                **kwargs,
            )
            if self.options.before_send is not None:
                hint = {"exc_info": kwargs.get("exc_info")}
                processed = self._before_send(event, hint)
                if processed is None:
                    self.reports.record("before_send", category)
                    return None
                event = processed
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

    def _before_send(self, event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
        """``before_send``'s answer as an event, or None to drop; what is not an event is
        warned about once and dropped (never a traceback from inside the client)."""
        before_send = self.options.before_send
        assert before_send is not None
        result = before_send(event, hint)
        if result is None:
            return None
        if not isinstance(result, Mapping):
            self._warn_once(
                "before_send",
                "before_send %s returned %s, not an event (a dict) or None; the event is dropped",
                _name_of(before_send),
                _describe(result),
            )
            return None
        result = dict(result)
        if not result.get("event_id"):  # a new dict built by the callback
            result["event_id"] = events.new_event({})["event_id"]
        return result

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        """One warning per misbehaving callback or helper and client, not one per event."""
        if key in self._warned:
            return
        self._warned.add(key)
        logger.warning(message, *args)

    def send(self, **data: Any) -> str | None:
        """Hand a finished event to the transport. Subclasses may override to collect events."""
        if self.transport is None:
            return None
        self.transport.send_event(data)
        return data.get("event_id")

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
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The event dict for ``event_type``, processed, without sending it.

        What the event says comes, lowest first, from the client's options, the context (where
        integrations attach the request, user and transaction), the call's ``data`` and its
        keyword arguments (``level``, ``logger``, ``culprit``, ``user``, ``request``, ...).
        """
        kind = events.event_kind(event_type)
        ctx_data, crumbs = self._context.snapshot()
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
        for processor in self.processors:
            try:
                result = processor.process(event)
            except Exception:
                logger.exception("processor %r failed", processor)
                continue
            if isinstance(result, Mapping):
                if result:  # as before: an empty result keeps the event
                    event = result if isinstance(result, dict) else dict(result)
            elif result is not None:  # keep the event as it was before this processor
                self._warn_once(
                    f"processor {id(processor)}",
                    "processor %r returned %s, not the event (a dict); its result is ignored",
                    processor,
                    _describe(result),
                )
        return event

    # -- helpers ---------------------------------------------------------------------------------
    def capture_exceptions(self, function_or_exceptions: Any = None, **kwargs: Any) -> Any:
        """Decorator or context manager: capture matching exceptions, then re-raise them."""
        if callable(function_or_exceptions) and not (
            isinstance(function_or_exceptions, type)
            and issubclass(function_or_exceptions, BaseException)
        ):
            return self._capture_wrapper(function_or_exceptions, (Exception,), kwargs)
        exceptions = function_or_exceptions or (Exception,)
        if isinstance(exceptions, type):
            exceptions = (exceptions,)
        return _CaptureExceptions(self, tuple(exceptions), kwargs)

    def _capture_wrapper(
        self, func: F, exceptions: tuple[type[BaseException], ...], kwargs: dict[str, Any]
    ) -> F:
        import inspect  # here, not at module level: it is slow to import

        if inspect.iscoroutinefunction(func):  # a sync wrapper would only see the coroutine object

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kw: Any) -> Any:
                try:
                    return await func(*args, **kw)
                except exceptions:
                    try:
                        self._capture_in_wrapper(kwargs)
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
                    self._capture_in_wrapper(kwargs)
                except RecursionError:
                    pass
                raise

        _WRAPPER_CODES.add(wrapper.__code__)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    def _capture_in_wrapper(self, kwargs: dict[str, Any]) -> None:
        """Capture for the ``capture_exceptions`` decorator, which re-raises afterwards.

        A RecursionError under a decorated recursive function passes through one wrapper per
        level, the innermost ones with no stack left to capture with: it is captured once, by
        the outermost wrapper of this client (with the whole stack to spare), not by each.
        """
        if isinstance(sys.exc_info()[1], RecursionError) and _outer_wrapper_of(self):
            return
        self.captureException(**kwargs)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until pending events are delivered; True when nothing is left pending."""
        return self.transport.flush(timeout) if self.transport is not None else True

    def close(self, timeout: float | None = None) -> bool:
        """Flush and stop the transport; the client sends nothing afterwards."""
        hooks.uninstall(self)
        self._context.deactivate()
        return self.transport.close(timeout) if self.transport is not None else True


class _CaptureExceptions:
    """``with client.capture_exceptions(...)`` and ``@client.capture_exceptions(...)``."""

    def __init__(
        self, client: Client, exceptions: tuple[type[BaseException], ...], kwargs: dict[str, Any]
    ) -> None:
        self.client, self.exceptions, self.kwargs = client, exceptions, kwargs

    def __call__(self, func: F) -> F:
        return self.client._capture_wrapper(func, self.exceptions, self.kwargs)

    def __enter__(self) -> _CaptureExceptions:
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
        if frame.f_code in _WRAPPER_CODES and frame.f_locals.get("self") is client:
            return True
        frame = frame.f_back
    return False


def _describe(value: Any) -> str:
    """A short, never-raising description of what a callback returned, for a warning."""
    return f"{type(value).__name__} {safe_repr(value, 80)}"


def _no_exception(exc_info: Any) -> bool:
    """True for what says "the exception being handled" (None, True, a sys.exc_info() tuple
    outside an except block): capturing nothing then is not the caller's mistake."""
    if exc_info is None or exc_info is True:
        return True
    return isinstance(exc_info, tuple) and all(part is None for part in exc_info)


def _name_of(func: Any) -> str:
    return str(getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or func)


def _enable_debug_logging() -> None:
    raven_logger = logging.getLogger("raven")
    if raven_logger.level == logging.NOTSET or raven_logger.level > logging.DEBUG:
        raven_logger.setLevel(logging.DEBUG)
    if not raven_logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[raven] %(levelname)s %(name)s: %(message)s"))
        raven_logger.addHandler(handler)

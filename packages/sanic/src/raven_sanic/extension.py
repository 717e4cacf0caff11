"""``Sentry(app)``: report the unhandled errors of a Sanic app.

Sanic serves many requests concurrently on one event loop, each HTTP connection in its own task.
Raven's context lives in ``contextvars``, so a fresh context set at the start of each request (the
``http.lifecycle.handle`` signal, before routing and any middleware) belongs to that request's task
alone. The request's data and route name are merged into it lazily there: computed only when an
event is captured, by whatever captures it during the request (this extension, a log record, the
app calling the client). The request's transaction (:mod:`raven_sanic.tracing`) starts there too
and ends with the response.

An exception is reported once Sanic has produced its error response and that response is a 5xx:
the app's own error handlers decide, and a handler that turns an error into a 4xx page handled
it. ``SanicException``\\ s below 500 (``NotFound``, ``BadRequest``, ...) are never reported.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from raven import Client
from raven.guard import capture_internal_errors
from raven.handlers.logging import SentryHandler
from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.http import Stage
from sanic.request import Request
from sanic.response import BaseHTTPResponse

from ._request import request_data, transaction_name
from ._touchup import register_touchup_sources
from .tracing import finish_transaction, start_transaction

__all__ = ["Sentry"]

_STATE_ATTR = "raven_sanic"
# The exception of the current request waiting for its response's status (one per task).
_pending: ContextVar[BaseException | None] = ContextVar("raven_sanic.pending", default=None)
_MECHANISM = {"type": "sanic", "handled": False}
_FIRST = 1_000_000  # a hook priority above any the app is likely to use


@dataclass
class _AppState:
    """What one app's hooks read; kept on ``app.ctx`` so several apps can share a process."""

    sentry: Sentry
    active: bool = True
    client: Client | None = None
    owns_client: bool = False
    log_handler: logging.Handler | None = None


class Sentry:
    """Report a Sanic app's unhandled errors (the ones Sanic answers with a 5xx).

    ``Sentry(app, dsn=...)`` or ``sentry = Sentry(dsn=...)`` then ``sentry.init_app(app)``.
    Without ``client``, a :class:`raven.Client` is built when the server starts, in each worker
    process, from ``dsn`` (else ``app.config.SENTRY_DSN``, else the ``SENTRY_DSN`` environment
    variable), ``app.config.SENTRY_CONFIG`` (a dict of client options) and ``client_options``;
    it is flushed and closed when the server stops. A given ``client`` is flushed, not closed.
    ``logging=True`` also sends log records at ``level`` or above as events while serving.
    """

    def __init__(
        self,
        app: Sanic[Any, Any] | None = None,
        client: Client | None = None,
        dsn: str | None = None,
        logging: bool = False,
        level: int = logging.ERROR,
        **client_options: Any,
    ) -> None:
        self._client = client
        self.dsn = dsn
        self.logging = logging
        self.level = level
        self.client_options = client_options
        self._last_client: Client | None = None
        if app is not None:
            self.init_app(app)

    # -- public API ---------------------------------------------------------------------------
    @property
    def client(self) -> Client | None:
        """The client given, else the one built when the (last) app's server started."""
        return self._client or self._last_client

    def client_for(self, app: Sanic[Any, Any]) -> Client | None:
        """The client reporting ``app``'s errors in this process (None until its server starts)."""
        state = _state(app)
        return state.client if state is not None and state.active else None

    def init_app(self, app: Sanic[Any, Any]) -> None:
        """Register the hooks on ``app`` (before it starts). Calling it again only reactivates."""
        state = _state(app)
        if state is not None:
            state.sentry = self
            state.active = True
            return
        state = _AppState(self)
        setattr(app.ctx, _STATE_ATTR, state)
        _install(app, state)
        with capture_internal_errors("sanic", "registering the source of Sanic's own methods"):
            register_touchup_sources()

    def uninstall(self, app: Sanic[Any, Any]) -> None:
        """Stop reporting ``app``'s errors: its hooks stay registered (Sanic cannot drop them
        once the app started) but do nothing until :meth:`init_app` is called again."""
        state = _state(app)
        if state is None:
            return
        state.active = False
        _remove_log_handler(state)
        client, owned = state.client, state.owns_client
        state.client, state.owns_client = None, False
        if client is not None and owned:
            with capture_internal_errors("sanic", "closing the client"):
                client.close()

    def captureException(self, exc_info: Any = None, **kwargs: Any) -> str | None:
        """``client.captureException`` with the current request's data (from the context)."""
        client = self.client
        return client.captureException(exc_info, **kwargs) if client is not None else None

    def captureMessage(self, message: str, **kwargs: Any) -> str | None:
        """``client.captureMessage`` with the current request's data (from the context)."""
        client = self.client
        return client.captureMessage(message, **kwargs) if client is not None else None

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event captured by the client in this scope."""
        client = self.client
        return client.last_event_id if client is not None else None

    # -- the client ---------------------------------------------------------------------------
    def _make_client(self, app: Sanic[Any, Any]) -> Client:
        config: Mapping[str, Any] = app.config.get("SENTRY_CONFIG") or {}
        options = {**config, **self.client_options}
        dsn = self.dsn or options.pop("dsn", None) or app.config.get("SENTRY_DSN")
        return Client(dsn, **options)


def _state(app: Sanic[Any, Any]) -> _AppState | None:
    state = getattr(app.ctx, _STATE_ATTR, None)
    return state if isinstance(state, _AppState) else None


def _install(app: Sanic[Any, Any], state: _AppState) -> None:
    """The hooks, registered once per app. Each reads ``state`` and does nothing when inactive."""

    async def raven_start(app: Sanic[Any, Any]) -> None:
        if not state.active:
            return
        sentry = state.sentry
        if sentry._client is not None:
            state.client, state.owns_client = sentry._client, False
        else:
            # A bad option raises ConfigurationError here: the server does not start.
            state.client, state.owns_client = sentry._make_client(app), True
            sentry._last_client = state.client
        state.client.use_request_sessions()  # release health: per request, not per worker
        if sentry.logging:
            with capture_internal_errors("sanic", "installing the logging handler"):
                _add_log_handler(state, sentry.level)

    async def raven_stop(app: Sanic[Any, Any]) -> None:
        client, owned = state.client, state.owns_client
        _remove_log_handler(state)
        if client is None:
            return
        if owned:
            state.client, state.owns_client = None, False
            if state.sentry._last_client is client:
                state.sentry._last_client = None
        with capture_internal_errors("sanic", "flushing on server stop"):
            # Waiting for delivery blocks: do it off the loop.
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, client.close if owned else client.flush)

    async def raven_request(request: Request) -> None:
        _pending.set(None)
        client = state.client
        if client is None or not state.active:
            return
        with capture_internal_errors("sanic", "starting the request's context"):
            client.context.clear()
            client.context.merge(
                {
                    "request": lambda: request_data(request, client),
                    "transaction": lambda: transaction_name(request),
                }
            )
            start_transaction(request, client)
            request.ctx.raven_session = client.start_request_session()  # release health

    async def raven_exception(request: Request, exception: BaseException) -> None:
        if state.client is None or not state.active or not _reportable(exception):
            return
        with capture_internal_errors("sanic", "handling the exception"):
            stream = getattr(request, "stream", None)
            if stream is not None and getattr(stream, "stage", Stage.HANDLER) is not Stage.HANDLER:
                # Part of the response is already out: no error response will follow.
                _capture(state, exception)
                finish_transaction(request, None)
            elif _pending.get() is None:
                _pending.set(exception)

    async def raven_response(request: Request, response: BaseHTTPResponse) -> None:
        exception = _pending.get()
        if exception is None:
            return
        _pending.set(None)
        with capture_internal_errors("sanic", "reading the response"):
            if state.client is not None and state.active and (response.status or 0) >= 500:
                _capture(state, exception)

    async def raven_request_end(request: Request, response: BaseHTTPResponse) -> None:
        # The connection's task lives on (keep-alive): drop this request's data now.
        client = state.client
        if client is not None:
            with capture_internal_errors("sanic", "ending the request's transaction and context"):
                try:
                    finish_transaction(request, response)
                    client.end_request_session(getattr(request.ctx, "raven_session", None))
                finally:
                    client.context.clear()

    # Sanic runs higher priorities first, except for "after" server events, which run in reverse:
    # the client exists before the app's own start listeners and is flushed after its stop ones.
    app.register_listener(raven_start, "before_server_start", priority=_FIRST)
    app.register_listener(raven_stop, "after_server_stop", priority=_FIRST)
    app.signal("http.lifecycle.handle", priority=_FIRST)(raven_request)
    app.signal("http.lifecycle.exception", priority=_FIRST)(raven_exception)
    app.signal("http.lifecycle.response", priority=_FIRST)(raven_response)
    app.signal("http.lifecycle.response", priority=-_FIRST)(raven_request_end)


def _reportable(exception: BaseException) -> bool:
    if isinstance(exception, SanicException):
        return (exception.status_code or 500) >= 500
    return isinstance(exception, Exception)


def _capture(state: _AppState, exception: BaseException) -> None:
    """Report the request's exception; its request data comes from the request's context."""
    client = state.client
    if client is None:
        return
    with capture_internal_errors("sanic", "capturing the exception"):
        client.captureException(
            (type(exception), exception, exception.__traceback__), mechanism=dict(_MECHANISM)
        )


class _SkipPending(logging.Filter):
    """Drop the record Sanic logs for an exception Raven is about to report itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        pending = _pending.get()
        if pending is None or not record.exc_info or record.exc_info[1] is not pending:
            return True
        return not record.name.startswith("sanic.")


def _add_log_handler(state: _AppState, level: int) -> None:
    if state.log_handler is not None or state.client is None:
        return
    handler = SentryHandler(state.client, level=level)
    handler.addFilter(_SkipPending())
    logging.getLogger().addHandler(handler)
    state.log_handler = handler


def _remove_log_handler(state: _AppState) -> None:
    handler, state.log_handler = state.log_handler, None
    if handler is not None:
        logging.getLogger().removeHandler(handler)

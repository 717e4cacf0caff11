"""``Sentry(app)``: the Flask extension that reports a request's unhandled exceptions."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import raven
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask.signals import (
    got_request_exception,
    request_finished,
    request_started,
    request_tearing_down,
)
from raven.exceptions import ConfigurationError
from raven.guard import capture_internal_errors
from raven.handlers.logging import SentryHandler
from werkzeug.exceptions import HTTPException

from ._scope import EVENT_KEY, HEADER, SCOPE_KEY, RequestWrapper, close_scope, open_scope
from .tracing import TemplateSpans, record_status

__all__ = ["Sentry"]

logger = logging.getLogger("raven.flask")


@dataclass
class _AppState:
    """What ``init_app`` installed on one app, so each app keeps its own settings."""

    client: Any
    owns_client: bool
    user_attrs: tuple[str, ...]
    handler: logging.Handler | None = None
    original_wsgi_app: Callable[..., Any] | None = None
    wsgi_wrapper: Callable[..., Any] | None = None
    signals: list[Any] = field(default_factory=list)


class Sentry:
    """Report a Flask app's unhandled exceptions, with the request and the Flask-Login user.

    ``Sentry(app)``, or ``sentry = Sentry()`` then ``sentry.init_app(app)`` in an app factory.
    One ``Sentry`` may serve several apps; each gets its own client, built from its own
    ``SENTRY_DSN`` / ``SENTRY_CONFIG``, unless ``client`` is given (then all apps share it).

    Arguments left ``None`` in :meth:`init_app` fall back to the ones given here. ``wrap_wsgi``
    wraps ``app.wsgi_app`` in :class:`raven.middleware.Sentry` to also catch what escapes Flask
    (a streamed response failing half way); ``None`` means on unless the app is in debug mode.
    """

    def __init__(
        self,
        app: Flask | None = None,
        client: Any = None,
        dsn: str | None = None,
        logging: bool = False,
        level: int = logging.NOTSET,
        wrap_wsgi: bool | None = None,
        register_signal: bool = True,
        client_cls: type[Any] | None = None,
    ) -> None:
        self.dsn = dsn
        self.logging = logging
        self.level = level
        self.wrap_wsgi = wrap_wsgi
        self.register_signal = register_signal
        self.client_cls: type[Any] = client_cls or raven.Client
        self._client = client
        self._apps: weakref.WeakKeyDictionary[Flask, _AppState] = weakref.WeakKeyDictionary()
        self._last_app: weakref.ref[Flask] | None = None
        self._last_event_id: str | None = None
        if app is not None:
            self.init_app(app)

    # -- installation ---------------------------------------------------------------------------
    def init_app(
        self,
        app: Flask,
        dsn: str | None = None,
        logging: bool | None = None,
        level: int | None = None,
    ) -> None:
        """Install on ``app``. A second call for the same app changes nothing."""
        if app in self._apps:
            logger.debug("raven-flask is already installed on %r", app)
            return
        other = app.extensions.get("sentry")
        if isinstance(other, Sentry) and other is not self:
            other.uninit_app(app)  # two extensions on one app would report everything twice
        user_attrs = app.config.get("SENTRY_USER_ATTRS") or ()
        if isinstance(user_attrs, str) or not all(isinstance(a, str) for a in user_attrs):
            raise ConfigurationError(
                f"SENTRY_USER_ATTRS must be a list of attribute names, got {user_attrs!r}"
            )
        client, owns_client = self._make_client(app, dsn if dsn is not None else self.dsn)
        state = _AppState(client=client, owns_client=owns_client, user_attrs=tuple(user_attrs))
        client.use_request_sessions()  # release health: per request, not per process

        # The request's scope, its transaction and the X-Sentry-ID header: the WSGI wrapper's
        # work, else Flask's signals' (see ``_scope``). The wrapper path costs no signal.
        wrap = self.wrap_wsgi if self.wrap_wsgi is not None else not app.debug
        connections: list[tuple[Any, Callable[..., Any]]] = []
        if not wrap:
            connections.append((request_started, self._on_request_started))
            connections.append((request_finished, self._on_request_finished))
            connections.append((request_tearing_down, self._on_request_tearing_down))
        if self.register_signal:
            connections.append((got_request_exception, self._on_exception))
        for signal, receiver in connections:
            signal.connect(receiver, sender=app, weak=False)
            state.signals.append((signal, receiver))
        if client.tracing_enabled:
            state.signals.extend(TemplateSpans(app, client).connect())

        if logging if logging is not None else self.logging:
            # Flask logs the exception it has just signalled; the client reports an exception
            # object once, so that log record adds no second event.
            handler = SentryHandler(client, level=level if level is not None else self.level)
            handler.addFilter(_OwnApp(app))
            app.logger.addHandler(handler)
            state.handler = handler

        if wrap:
            state.original_wsgi_app = app.wsgi_app
            state.wsgi_wrapper = RequestWrapper(app.wsgi_app, app, client, state.user_attrs)
            app.wsgi_app = state.wsgi_wrapper  # type: ignore[method-assign]

        self._apps[app] = state
        self._last_app = weakref.ref(app)
        app.extensions["sentry"] = self

    def uninit_app(self, app: Flask) -> None:
        """Undo :meth:`init_app`: disconnect, unwrap, detach the log handler, close our client."""
        state = self._apps.pop(app, None)
        if state is None:
            return
        for signal, receiver in state.signals:
            signal.disconnect(receiver, sender=app)
        if state.handler is not None:
            app.logger.removeHandler(state.handler)
        if state.wsgi_wrapper is not None and app.wsgi_app is state.wsgi_wrapper:
            app.wsgi_app = state.original_wsgi_app  # type: ignore[assignment,method-assign]
        if app.extensions.get("sentry") is self:
            del app.extensions["sentry"]
        if self._last_app is not None and self._last_app() is app:
            self._last_app = None
        if state.owns_client:
            state.client.close()

    def _make_client(self, app: Flask, dsn: str | None) -> tuple[Any, bool]:
        if self._client is not None:
            return self._client, False
        config = app.config.get("SENTRY_CONFIG") or {}
        if not isinstance(config, Mapping):
            raise ConfigurationError(
                f"SENTRY_CONFIG must be a dict of client options, got {config!r}"
            )
        options: dict[str, Any] = {
            "include_paths": [app.import_name],
            "dsn": app.config.get("SENTRY_DSN"),
        }
        options.update(config)
        if dsn is not None:
            options["dsn"] = dsn
        return self.client_cls(**options), True

    # -- state ----------------------------------------------------------------------------------
    def _state(self, app: Flask | None = None) -> _AppState | None:
        if app is None:
            if has_app_context():
                app = current_app._get_current_object()  # type: ignore[attr-defined]
            if app is None or app not in self._apps:
                app = self._last_app() if self._last_app is not None else None
        return self._apps.get(app) if app is not None else None

    @property
    def client(self) -> Any:
        """The client of the current app (else of the app installed last, else the one given)."""
        state = self._state()
        return state.client if state is not None else self._client

    @property
    def last_event_id(self) -> str | None:
        """The id of the event captured in this request; outside a request, the last one sent."""
        if has_request_context():
            event_id: str | None = request.environ.get(EVENT_KEY)
            return event_id
        return self._last_event_id

    @last_event_id.setter
    def last_event_id(self, value: str | None) -> None:
        """Remember ``value`` (also on ``g`` inside an app context)."""
        self._last_event_id = value
        if has_app_context():
            g.sentry_event_id = value

    # -- signal receivers -----------------------------------------------------------------------
    def _on_request_started(self, app: Flask, **_: Any) -> None:
        state = self._apps.get(app)
        if state is not None:
            open_scope(app, state.client, state.user_attrs, request.environ)

    @capture_internal_errors("flask", "capturing the request's exception")
    def _on_exception(self, app: Flask, exception: BaseException | None = None, **_: Any) -> None:
        state = self._apps.get(app)
        if state is None or exception is None:
            return
        if isinstance(exception, HTTPException) and (exception.code or 500) < 500:
            return
        self._remember(
            state.client.captureException(exception, mechanism={"type": "flask", "handled": False})
        )

    @capture_internal_errors("flask", "setting the X-Sentry-ID header")
    def _on_request_finished(self, app: Flask, response: Any = None, **_: Any) -> None:
        if response is None or app not in self._apps:
            return
        environ = request.environ
        event_id = environ.get(EVENT_KEY)
        if event_id:
            response.headers[HEADER] = event_id
        record_status(environ.get(SCOPE_KEY), response.status_code)

    def _on_request_tearing_down(
        self, app: Flask, exc: BaseException | None = None, **_: Any
    ) -> None:
        state = self._apps.get(app)
        if state is not None:
            close_scope(app, state.client, request.environ, failed=exc is not None)

    # -- capture helpers ------------------------------------------------------------------------
    def _remember(self, event_id: str | None) -> str | None:
        if event_id is not None:
            self.last_event_id = event_id
            if has_request_context():
                request.environ[EVENT_KEY] = event_id
        return event_id

    def captureException(self, exc_info: Any = None, **kwargs: Any) -> str | None:
        """``client.captureException`` of the current app's client; the request, user and
        transaction come from the request's context. The id goes to ``last_event_id``."""
        client = self.client
        return (
            self._remember(client.captureException(exc_info, **kwargs))
            if client is not None
            else None
        )

    def captureMessage(self, message: str, **kwargs: Any) -> str | None:
        """``client.captureMessage`` of the current app's client, like :meth:`captureException`."""
        client = self.client
        return (
            self._remember(client.captureMessage(message, **kwargs)) if client is not None else None
        )

    def user_context(self, data: Mapping[str, Any]) -> None:
        """Set the user for what the current request captures from now on."""
        client = self.client
        if client is not None:
            client.user_context(data)


class _OwnApp(logging.Filter):
    """Apps made by one factory share ``app.logger`` (it is named after the import name): keep
    the records logged while this app handles something, or outside any app."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self._app = weakref.ref(app)

    def filter(self, record: logging.LogRecord) -> bool:
        if not has_app_context():
            return True
        return current_app._get_current_object() is self._app()  # type: ignore[attr-defined]

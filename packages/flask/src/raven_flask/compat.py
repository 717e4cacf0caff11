"""raven-python 6.10's Flask extension (``raven.contrib.flask.Sentry``): raven_flask's
:class:`~raven_flask.Sentry` with raven-python's arguments and configuration.

- ``Sentry(app, client_cls=..., logging=True, logging_exclusions=..., level=...)`` and
  ``init_app(app, dsn, logging, level, logging_exclusions, wrap_wsgi, register_signal)``;
- ``logging=True`` sends the *root* logger's records (``raven.conf.setup_logging``, the
  excluded loggers stop propagating), then sends the ``logging_configured`` signal;
- the client's options come from ``SENTRY_CONFIG`` or ``RAVEN_CONFIG`` and every
  ``SENTRY_<OPTION>`` key, ``include_paths`` defaulting to the app's import name;
- ``tags_context`` / ``extra_context`` on the extension.
"""

from __future__ import annotations

import logging as logging_module
from collections.abc import Mapping
from typing import Any

import blinker
from flask import Flask
from raven.conf import EXCLUDE_LOGGER_DEFAULTS, convert_options, setup_logging
from raven.handlers.logging import SentryHandler

from .extension import Sentry as _Sentry

__all__ = ["Sentry", "logging_configured", "make_client"]

raven_signals = blinker.Namespace()
# Sent once ``logging=True`` has attached the handler: ``(sentry, sentry_handler=..., exclude=...)``
logging_configured = raven_signals.signal("logging_configured")


class Sentry(_Sentry):
    """raven-python's ``Sentry(app, ...)``: see the module's docstring."""

    def __init__(
        self,
        app: Flask | None = None,
        client: Any = None,
        client_cls: type[Any] | None = None,
        dsn: str | None = None,
        logging: bool = False,
        logging_exclusions: Any = None,
        level: int = 0,
        wrap_wsgi: bool | None = None,
        register_signal: bool = True,
    ) -> None:
        self.logging_exclusions = logging_exclusions
        self.root_logging = logging
        self._root_handlers: dict[int, logging_module.Handler] = {}
        super().__init__(
            None,
            client=client,
            dsn=dsn,
            logging=False,
            level=level,
            wrap_wsgi=wrap_wsgi,
            register_signal=register_signal,
            client_cls=client_cls,
        )
        if app is not None:
            self.init_app(app)

    def init_app(  # raven-python's arguments, after raven_flask's
        self,
        app: Flask,
        dsn: str | None = None,
        logging: bool | None = None,
        level: int | None = None,
        logging_exclusions: Any = None,
        wrap_wsgi: bool | None = None,
        register_signal: bool | None = None,
    ) -> None:
        """Install on ``app``; arguments given here replace the constructor's (as in raven-python)."""
        if app in self._apps:
            return
        if level is not None:
            self.level = level
        if wrap_wsgi is not None:
            self.wrap_wsgi = wrap_wsgi
        if register_signal is not None:
            self.register_signal = register_signal
        if logging is not None:
            self.root_logging = logging
        if logging_exclusions is not None:
            self.logging_exclusions = logging_exclusions
        super().init_app(app, dsn=dsn, logging=False, level=self.level)
        if self.root_logging:
            handler = SentryHandler(self._apps[app].client, level=self.level)
            exclude = (
                EXCLUDE_LOGGER_DEFAULTS
                if self.logging_exclusions is None
                else tuple(self.logging_exclusions)
            )
            if setup_logging(handler, exclude=exclude):
                self._root_handlers[id(app)] = handler
            if app.logger.propagate is False:
                app.logger.addHandler(handler)
            logging_configured.send(self, sentry_handler=handler, exclude=exclude)

    def uninit_app(self, app: Flask) -> None:
        """Undo :meth:`init_app`, the root logger's handler included."""
        handler = self._root_handlers.pop(id(app), None)
        if handler is not None:
            logging_module.getLogger().removeHandler(handler)
            app.logger.removeHandler(handler)
        super().uninit_app(app)

    def _make_client(self, app: Flask, dsn: str | None) -> tuple[Any, bool]:
        if self._client is not None:
            return self._client, False
        options = convert_options(app.config)
        include = set(options.get("include_paths") or ()) | {app.import_name}
        options["include_paths"] = sorted(include)
        if app.config.get("RAVEN_IGNORE_EXCEPTIONS"):  # raven-python's older key
            options.setdefault("ignore_exceptions", app.config["RAVEN_IGNORE_EXCEPTIONS"])
        if dsn is not None:
            options["dsn"] = dsn
        return self.client_cls(**options), True

    def tags_context(self, data: Mapping[str, Any]) -> None:
        """Add tags to what the current request captures from now on."""
        client = self.client
        if client is not None:
            client.tags_context(data)

    def extra_context(self, data: Mapping[str, Any]) -> None:
        """Add extra data to what the current request captures from now on."""
        client = self.client
        if client is not None:
            client.extra_context(data)


def make_client(client_cls: type[Any], app: Flask, dsn: str | None = None) -> Any:
    """raven-python's ``make_client``: a ``client_cls`` configured from ``app.config`` as
    :class:`Sentry` configures its own (for app factories that build the client first)."""
    client, _ = Sentry(client_cls=client_cls)._make_client(app, dsn)
    return client

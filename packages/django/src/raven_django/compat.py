"""raven-python 6.10's Django API: ``SentryDjangoHandler``, the ``SENTRY_CONFIG`` and
``SENTRY_<OPTION>`` settings, ``DISABLE_SENTRY_INSTRUMENTATION``.

Kept apart from the rest of raven_django: the app, the signals and the client do the work; this
module only maps raven-python's names onto them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from django.utils.deprecation import MiddlewareMixin
from raven.conf import convert_options

__all__ = [
    "SentryDjangoHandler",
    "SentryMiddleware",
    "instrumentation_enabled",
    "legacy_options",
]

logger = logging.getLogger("raven.django")


def instrumentation_enabled() -> bool:
    """False when ``DISABLE_SENTRY_INSTRUMENTATION`` is set: the app then connects no signal
    receivers (the client, the logging handler and the middleware still work)."""
    from django.conf import settings

    return not getattr(settings, "DISABLE_SENTRY_INSTRUMENTATION", False)


def legacy_options(settings: Any, config: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """raven-python's ``SENTRY_CONFIG`` (when ``RAVEN_CONFIG`` is not set), with each
    ``SENTRY_<OPTION>`` setting (``SENTRY_TRANSPORT``, ``SENTRY_RELEASE``, ...) that the config
    does not give already (``SENTRY_DSN`` is read by :func:`raven_django.conf.read_settings`)."""
    if config is not None and not isinstance(config, Mapping):
        return config  # read_settings names the wrong type
    return convert_options(settings, config_keys=("RAVEN_CONFIG", "SENTRY_CONFIG"))


class SentryDjangoHandler:
    """raven-python's handler object: ``install()`` connects Raven's Django receivers (what the
    app's ``ready()`` does), ``uninstall()`` disconnects them, ``exception_handler`` reports the
    exception being handled, ``install_celery()`` reports failing Celery tasks."""

    def __init__(self, client: Any = None) -> None:
        if client is None:
            from .models import client as proxy

            client = proxy
        self.client = client
        self.celery_handler: Any = None

    def install(self) -> None:
        """Connect the receivers (idempotent), and Celery's when Celery is installed."""
        from . import signals

        signals.install()
        try:
            import celery  # noqa: F401
        except ImportError:
            return
        try:
            self.install_celery()
        except ImportError:
            logger.debug("raven-celery is not installed: Celery tasks are not reported")

    def uninstall(self) -> None:
        """Disconnect what :meth:`install` connected."""
        from . import signals

        signals.uninstall()
        if self.celery_handler is not None:
            self.celery_handler.uninstall()
            self.celery_handler = None

    def install_celery(self) -> None:
        """Report failing Celery tasks (``SENTRY_CELERY_IGNORE_EXPECTED`` honoured)."""
        from django.conf import settings
        from raven_celery import register_signal

        ignore = bool(getattr(settings, "SENTRY_CELERY_IGNORE_EXPECTED", False))
        self.celery_handler = register_signal(self.client, ignore_expected=ignore)

    def exception_handler(self, request: Any = None, **kwargs: Any) -> None:
        """``got_request_exception`` receiver: report the exception being handled."""
        from raven.guard import capture_internal_errors

        with capture_internal_errors("django", "reporting a request exception"):
            self.client.captureException(exc_info=sys.exc_info(), request=request)

    def before_request(self, *args: Any, **kwargs: Any) -> None:
        """Kept for code that calls it: Raven opens each request's scope itself."""


class SentryMiddleware(MiddlewareMixin):
    """raven-python's ``SentryMiddleware`` (and ``SentryLogMiddleware``) kept for ``MIDDLEWARE``
    settings that name it: it does nothing, each request's scope is opened by Raven's receivers
    (sync and async capable)."""

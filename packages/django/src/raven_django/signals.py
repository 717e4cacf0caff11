"""The signal receivers ``AppConfig.ready()`` connects, and their undo.

- ``got_request_exception``: an unhandled error in a view, middleware or template (sync or
  async) is captured with the request and user; its id lands in ``request.sentry["id"]``.
- ``request_started`` / ``request_finished``: each request starts and ends with an empty context,
  so nothing (tags, user, breadcrumbs) leaks from one request's events into another's through a
  reused WSGI thread. Under ASGI each request runs in a task of its own; Django 5 sends
  ``request_started`` from a separate task there (``asend`` gathers its receivers), so that reset
  cannot reach the request's context, but ``request_finished`` runs through ``sync_to_async``,
  which carries the reset back into the request's task.
- ``setting_changed``: a change of ``RAVEN_CONFIG``/``SENTRY_DSN``/``SENTRY_CLIENT`` rebuilds the client.
- ``connection_created``: SQL query breadcrumbs (see ``_sql``).
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from django.core.signals import got_request_exception, request_finished, request_started
from django.test.signals import setting_changed
from raven.breadcrumbs import ignore_logger

from . import _sql, conf
from ._request import remember_event
from .client import current_request_source

__all__ = ["install", "installed", "uninstall"]

logger = logging.getLogger("raven.django")

_lock = threading.Lock()
_installed = False
_MECHANISM = {"type": "django", "handled": False}


def install() -> None:
    """Connect Raven's receivers (idempotent: a second call changes nothing)."""
    global _installed
    with _lock:
        if _installed:
            return
        got_request_exception.connect(_on_request_exception, dispatch_uid="raven_django.exception")
        request_started.connect(_on_request_started, dispatch_uid="raven_django.request_started")
        request_finished.connect(_on_request_finished, dispatch_uid="raven_django.request_finished")
        setting_changed.connect(conf.on_setting_changed, dispatch_uid="raven_django.setting_changed")
        _sql.install()
        # Queries are recorded by the execute wrapper; Django's SQL debug log would repeat them.
        ignore_logger("django.db.backends")
        _installed = True


def uninstall() -> None:
    """Disconnect everything :func:`install` connected."""
    global _installed
    with _lock:
        if not _installed:
            return
        got_request_exception.disconnect(dispatch_uid="raven_django.exception")
        request_started.disconnect(dispatch_uid="raven_django.request_started")
        request_finished.disconnect(dispatch_uid="raven_django.request_finished")
        setting_changed.disconnect(dispatch_uid="raven_django.setting_changed")
        _sql.uninstall()
        _installed = False


def installed() -> bool:
    return _installed


def _on_request_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
    try:
        exc = sys.exc_info()[1]
        client = conf.client_or_none()
        if exc is None or client is None or not client.is_enabled():
            return
        event_id = client.captureException(exc, request=request, mechanism=dict(_MECHANISM))
        if event_id and request is not None:
            remember_event(request, client, event_id)
    except Exception:
        logger.exception("reporting a Django request error failed")


def _on_request_started(sender: Any, environ: Any = None, scope: Any = None, **kwargs: Any) -> None:
    try:
        current_request_source.set(environ if environ is not None else scope)
        client = conf.client_or_none()
        if client is not None:
            client.context.clear()
    except Exception:
        logger.exception("resetting the Raven context at request start failed")


def _on_request_finished(sender: Any, **kwargs: Any) -> None:
    try:
        current_request_source.set(None)
        client = conf.client_or_none()
        if client is not None:
            client.context.clear()
    except Exception:
        logger.exception("resetting the Raven context at request end failed")

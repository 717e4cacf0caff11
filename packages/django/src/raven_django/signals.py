"""What ``AppConfig.ready()`` installs, and its undo.

- the ``"django.get_response"`` hook (see ``_scope``): every request runs in a fresh scope of the
  client's context holding its request, user and transaction, so whatever is captured during
  the request carries them and nothing set during a request (tags, user, breadcrumbs) leaks
  into another's events;
- ``got_request_exception``: an unhandled error in a view, middleware or template (sync or
  async) is captured; its id lands in ``request.sentry["id"]``;
- ``setting_changed``: a change of ``RAVEN_CONFIG``/``SENTRY_DSN``/``SENTRY_CLIENT`` rebuilds the client;
- ``connection_created``: SQL query breadcrumbs and spans (see ``_sql``);
- template and cache spans while a transaction records (the ``"django.template.render"`` and
  ``"django.cache"`` hooks, see ``tracing`` and ``_cache``);
- representations of QuerySets and lazy objects that never evaluate them (see ``_repr``).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from django.core.signals import got_request_exception
from django.test.signals import setting_changed
from raven import hooks
from raven.breadcrumbs import ignore_logger
from raven.guard import capture_internal_errors

from . import _cache, _repr, _scope, _sql, conf, tracing
from ._request import remember_event

__all__ = ["install", "installed", "uninstall"]

_lock = threading.Lock()
_installed = False
_MECHANISM = {"type": "django", "handled": False}


class _Integration:
    """Holds the process-wide ``get_response`` hook for as long as the receivers are connected."""

    def __repr__(self) -> str:
        return "<raven_django integration>"


_HOLDER = _Integration()


def install() -> None:
    """Connect Raven's receivers and wrap ``get_response`` (idempotent: a second call changes nothing)."""
    global _installed
    with _lock:
        if _installed:
            return
        hooks.acquire(_scope.HOOK, _HOLDER)
        hooks.acquire(tracing.TEMPLATES_HOOK, _HOLDER)
        hooks.acquire(_cache.HOOK, _HOLDER)
        got_request_exception.connect(_on_request_exception, dispatch_uid="raven_django.exception")
        setting_changed.connect(
            conf.on_setting_changed, dispatch_uid="raven_django.setting_changed"
        )
        _sql.install()
        _repr.install()
        # Queries are recorded by the execute wrapper; Django's SQL debug log would repeat them.
        ignore_logger("django.db.backends")
        _installed = True


def uninstall() -> None:
    """Disconnect everything :func:`install` connected and unwrap ``get_response``."""
    global _installed
    with _lock:
        if not _installed:
            return
        hooks.release(_scope.HOOK, _HOLDER)
        hooks.release(tracing.TEMPLATES_HOOK, _HOLDER)
        hooks.release(_cache.HOOK, _HOLDER)
        got_request_exception.disconnect(dispatch_uid="raven_django.exception")
        setting_changed.disconnect(dispatch_uid="raven_django.setting_changed")
        _sql.uninstall()
        _repr.uninstall()
        _installed = False


def installed() -> bool:
    """True between :func:`install` and :func:`uninstall`."""
    return _installed


@capture_internal_errors("django", "reporting a request's error")
def _on_request_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
    exc = sys.exc_info()[1]
    client = conf.client_or_none()
    if exc is None or client is None or not client.is_enabled():
        return
    # The request, user and transaction come from the request's scope (see ``_scope``).
    event_id = client.captureException(exc, mechanism=dict(_MECHANISM))
    if event_id and request is not None:
        remember_event(request, client, event_id)

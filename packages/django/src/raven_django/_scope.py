"""Each request Django handles runs in a fresh scope of the client's context, holding its request.

``BaseHandler.get_response`` (WSGI, the test client) and ``get_response_async`` (ASGI) are
given the ``HttpRequest``. Wrapped, they open a scope and merge the request, user and
transaction as lazy values (built by the client's ``get_data_from_request``), and close the
scope when the response is returned. So every event captured while Django handles the request
(the unhandled error, a record logged through ``SentryHandler``, a capture in the view) carries
the same request, user and transaction, and nothing set during a request outlives it.

``request_started`` cannot do this: Django sends it before the ``HttpRequest`` exists and, on
Django 5 under ASGI, from a task of its own. ``get_response_async`` runs in the request's own
task, and Django runs sync views and middleware through ``sync_to_async``, which copies that
task's context into the thread.

A process-wide hook of ``raven.hooks`` (``"django.get_response"``), acquired by
:func:`raven_django.signals.install` and released by its ``uninstall``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from django.http import HttpRequest
from raven import hooks
from raven.context import Context
from raven.guard import capture_internal_errors

from . import conf

__all__ = ["HOOK", "current_request"]

HOOK = "django.get_response"

# The request being handled, for what the context cannot hold: the ``site`` tag's lookup.
current_request: ContextVar[HttpRequest | None] = ContextVar(
    "raven_django.current_request", default=None
)

_Scope = tuple[Context, Token[HttpRequest | None]]
_originals: dict[str, Callable[..., Any]] = {}


def _open(request: HttpRequest) -> _Scope | None:
    with capture_internal_errors("django", "opening the request's scope"):
        client = conf.client_or_none()
        if client is None or not client.is_enabled():
            return None
        lazy = dict(
            client.get_data_from_request(request)
        )  # a subclass's override may fail: before entering
        context = client.context
        context.__enter__()
        context.merge(lazy)
        return context, current_request.set(request)
    return None


def _close(scope: _Scope | None) -> None:
    if scope is None:
        return
    with capture_internal_errors("django", "closing the request's scope"):
        context, token = scope
        current_request.reset(token)
        context.__exit__(None, None, None)


def _install() -> None:
    from django.core.handlers.base import BaseHandler

    get_response = _originals["sync"] = BaseHandler.get_response
    get_response_async = _originals["async"] = BaseHandler.get_response_async

    @functools.wraps(get_response)
    def raven_get_response(self: BaseHandler, request: HttpRequest) -> Any:
        scope = _open(request) if _originals.get("sync") is get_response else None
        try:
            return get_response(self, request)
        finally:
            _close(scope)

    @functools.wraps(get_response_async)
    async def raven_get_response_async(self: BaseHandler, request: HttpRequest) -> Any:
        scope = _open(request) if _originals.get("async") is get_response_async else None
        try:
            return await get_response_async(self, request)
        finally:
            _close(scope)

    BaseHandler.get_response = raven_get_response  # type: ignore[method-assign]
    BaseHandler.get_response_async = raven_get_response_async  # type: ignore[method-assign]


def _uninstall() -> None:
    from django.core.handlers.base import BaseHandler

    # Restore only what is still ours: a wrapper put over ours since stays in place, and ours
    # under it does nothing once it is no longer the installed one (it checks ``_originals``).
    if getattr(BaseHandler.get_response, "__wrapped__", None) is _originals.get("sync"):
        BaseHandler.get_response = _originals["sync"]  # type: ignore[method-assign]
    if getattr(BaseHandler.get_response_async, "__wrapped__", None) is _originals.get("async"):
        BaseHandler.get_response_async = _originals["async"]  # type: ignore[method-assign]
    _originals.clear()


hooks.register(HOOK, _install, _uninstall)

"""Each request Django handles runs in a fresh scope of the client's context, holding its request.

``BaseHandler.get_response`` (WSGI, the test client) and ``get_response_async`` (ASGI) are
given the ``HttpRequest``. Wrapped, they open a scope and merge the request, user and
transaction as lazy values (built by the client's ``get_data_from_request``), and close the
scope when the response is returned. So every event captured while Django handles the request
(the unhandled error, a record logged through ``SentryHandler``, a capture in the view) carries
the same request, user and transaction, and nothing set during a request outlives it. The
scope also holds the request's transaction (see ``tracing``), current for the whole request.

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

from . import conf, tracing

__all__ = ["HOOK", "current_request"]

HOOK = "django.get_response"

# The request being handled, for what the context cannot hold: the ``site`` tag's lookup.
current_request: ContextVar[HttpRequest | None] = ContextVar(
    "raven_django.current_request", default=None
)

# (context, request token, the request's transaction or None, the client, its session or None)
_Scope = tuple[Context, Token[HttpRequest | None], Any, Any, Any]
_originals: dict[str, Callable[..., Any]] = {}


def _open(request: HttpRequest) -> _Scope | None:
    with capture_internal_errors("django", "opening the request's scope"):
        client = conf.client_or_none()
        if client is None or not client.is_enabled():
            return None
        lazy = dict(
            client.get_data_from_request(request)
        )  # a subclass's override may fail: before entering
        outer = client.current_span()  # gone once the scope is entered: see tracing
        context = client.context
        context.__enter__()
        context.merge(lazy, activate=False)  # activated as it was entered
        token = current_request.set(request)
        session = client.start_request_session()  # release health: one session per request
        return context, token, _start_transaction(client, request, outer), client, session
    return None


@capture_internal_errors("django", "starting the request's transaction")
def _start_transaction(client: Any, request: HttpRequest, outer: Any) -> Any:
    return tracing.start_request_transaction(client, request, outer)


def _close(scope: _Scope | None, request: HttpRequest, response: Any) -> None:
    if scope is None:
        return
    context, token, transaction, client, session = scope
    client.end_request_session(session)
    if transaction is not None:
        with capture_internal_errors("django", "finishing the request's transaction"):
            tracing.finish_request_transaction(client, transaction, request, response)
    with capture_internal_errors("django", "closing the request's scope"):
        current_request.reset(token)
        context.__exit__(None, None, None)


def _install() -> None:
    from django.core.handlers.base import BaseHandler

    get_response = _originals["sync"] = BaseHandler.get_response
    get_response_async = _originals["async"] = BaseHandler.get_response_async

    @functools.wraps(get_response)
    def raven_get_response(self: BaseHandler, request: HttpRequest) -> Any:
        scope = _open(request) if _originals.get("sync") is get_response else None
        response = None
        try:
            response = get_response(self, request)
            return response
        finally:
            _close(scope, request, response)

    @functools.wraps(get_response_async)
    async def raven_get_response_async(self: BaseHandler, request: HttpRequest) -> Any:
        scope = _open(request) if _originals.get("async") is get_response_async else None
        response = None
        try:
            response = await get_response_async(self, request)
            return response
        finally:
            _close(scope, request, response)

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

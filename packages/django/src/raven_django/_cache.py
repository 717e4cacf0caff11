"""Cache spans: each call of a Django cache's ``get``/``get_many`` (``cache.get``), ``set``/
``set_many``/``add`` (``cache.put``) and ``delete``/``delete_many`` (``cache.remove``) made while a
span records, described by its keys, with ``cache.hit`` for reads.

Django makes one cache object per alias and thread (``caches[alias]``, through
``CacheHandler.create_connection``). A process-wide hook of ``raven.hooks`` (``"django.cache"``,
held while the app is installed) wraps the methods of each new one, and of those already made
in the installing thread, on the instance; after the hook is released the wrappers turn inert.
Calls the cache makes to itself (``get_many`` reading key by key, ``get_or_set``) nest under
the outer span instead of adding their own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from raven import hooks
from raven.guard import capture_internal_errors

from . import conf

__all__ = ["HOOK"]

HOOK = "django.cache"

_OPS = {
    "get": "cache.get",
    "get_many": "cache.get",
    "set": "cache.put",
    "set_many": "cache.put",
    "add": "cache.put",
    "delete": "cache.remove",
    "delete_many": "cache.remove",
}
_MARK = "_raven_cache_op"
_originals: dict[str, Callable[..., Any]] = {}
_state = {"enabled": False}


def _keys(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    if method in ("get_many", "delete_many"):
        keys = args[0] if args else kwargs.get("keys", ())
    elif method == "set_many":
        keys = args[0] if args else kwargs.get("data", {})
    else:
        keys = (args[0],) if args else (kwargs["key"],) if "key" in kwargs else ()
    return [str(key) for key in keys]


@capture_internal_errors("django", "starting a cache span")
def _start(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    client = conf.client_or_none()
    current = client.current_span() if client is not None else None
    if current is None or (current.op or "").startswith("cache."):
        return None
    keys = _keys(method, args, kwargs)
    span = client.start_span(  # type: ignore[union-attr]
        op=_OPS[method], description=", ".join(keys), origin="auto.cache.django"
    )
    if not span.sampled:
        return None
    span.set_data("cache.key", keys)
    return span


@capture_internal_errors("django", "finishing a cache span")
def _finish(
    span: Any, method: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    if method == "get":
        default = args[1] if len(args) > 1 else kwargs.get("default")
        span.set_data("cache.hit", value is not None and value is not default)
    elif method == "get_many":
        span.set_data("cache.hit", bool(value))
    span.finish()


def _traced(method: str, bound: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(bound)
    def traced(*args: Any, **kwargs: Any) -> Any:
        span = _start(method, args, kwargs) if _state["enabled"] else None
        if span is None:
            return bound(*args, **kwargs)
        try:
            value = bound(*args, **kwargs)
        except BaseException:
            span.set_status("internal_error")
            span.finish()
            raise
        _finish(span, method, value, args, kwargs)
        return value

    setattr(traced, _MARK, _OPS[method])
    return traced


def wrap(cache: Any) -> Any:
    """Trace ``cache``'s methods (once: a wrapped cache is left as it is)."""
    for method in _OPS:
        bound = getattr(cache, method, None)
        if bound is None or getattr(bound, _MARK, None):
            continue
        setattr(cache, method, _traced(method, bound))
    return cache


def _install() -> None:
    from django.core.cache import CacheHandler, caches

    create = _originals["create"] = CacheHandler.create_connection

    @functools.wraps(create)
    def raven_create_connection(self: CacheHandler, alias: str) -> Any:
        cache = create(self, alias)
        if _originals.get("create") is create:
            with capture_internal_errors("django", "tracing a cache"):
                wrap(cache)
        return cache

    CacheHandler.create_connection = raven_create_connection  # type: ignore[method-assign]
    _state["enabled"] = True
    for cache in caches.all(initialized_only=True):
        wrap(cache)


def _uninstall() -> None:
    from django.core.cache import CacheHandler

    _state["enabled"] = False
    if getattr(CacheHandler.create_connection, "__wrapped__", None) is _originals.get("create"):
        CacheHandler.create_connection = _originals["create"]  # type: ignore[method-assign]
    _originals.clear()


hooks.register(HOOK, _install, _uninstall)

"""SQL query breadcrumbs (and, while a span records, ``db`` spans: see ``tracing``) through
Django's ``execute_wrapper`` API, for every database alias.

One wrapper object is put first in each connection's ``execute_wrappers`` when the connection is
set up (``connection_created``), so it also times the application's own wrappers, and a
``with connection.execute_wrapper(...)`` block of the application still pops its own wrapper.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created
from raven.guard import capture_internal_errors

from . import conf
from ._db import in_raven_queries
from .tracing import copy_params, finish_query_span, start_query_span

__all__ = ["QueryBreadcrumbs", "install", "installed", "uninstall"]


class QueryBreadcrumbs:
    """An execute wrapper recording ``query`` breadcrumbs: SQL, alias, duration (and parameters
    with ``send_default_pii``)."""

    enabled = False

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: Any,
        params: Any,
        many: bool,
        context: Mapping[str, Any],
    ) -> Any:
        if not self.enabled or in_raven_queries.get():
            return execute(sql, params, many, context)
        span = _query_span(sql, params, many, context)
        start = time.perf_counter()
        failed = True
        try:
            result = execute(sql, params, many, context)
            failed = False
            return result
        finally:
            with capture_internal_errors("django", "recording a query breadcrumb"):
                if span is not None:
                    finish_query_span(span, failed)
                self.record(sql, params, many, context, time.perf_counter() - start, failed)

    def record(
        self,
        sql: Any,
        params: Any,
        many: bool,
        context: Mapping[str, Any],
        seconds: float,
        failed: bool,
    ) -> None:
        client = conf.client_or_none()
        if (
            client is None
            or not client.is_enabled()
            or not getattr(client, "install_sql_hook", True)
        ):
            return
        connection = context.get("connection")
        data: dict[str, Any] = {"duration_ms": round(seconds * 1000, 3)}
        if connection is not None:
            data["db.alias"] = connection.alias
            data["db.vendor"] = connection.vendor
        if many:
            data["executemany"] = True
        if client.options.send_default_pii and params is not None and not many:
            data["params"] = copy_params(params)
        client.captureBreadcrumb(
            message=str(sql),
            category="query",
            type="query",
            level="error" if failed else "info",
            data=data,
        )


@capture_internal_errors("django", "starting a query span")
def _query_span(sql: Any, params: Any, many: bool, context: Mapping[str, Any]) -> Any:
    client = conf.client_or_none()
    if client is None:
        return None
    return start_query_span(client, sql, params, many, context.get("connection"))


_wrapper = QueryBreadcrumbs()


def _attach(connection: Any) -> None:
    wrappers = connection.execute_wrappers
    if _wrapper not in wrappers:
        wrappers.insert(0, _wrapper)


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    _attach(connection)


def install() -> None:
    """Record query breadcrumbs on every connection from now on (idempotent)."""
    _wrapper.enabled = True
    connection_created.connect(_on_connection_created, dispatch_uid="raven_django.sql")
    for connection in connections.all(initialized_only=True):
        _attach(connection)


def uninstall() -> None:
    """Stop recording. Connections of other threads keep the (now inert) wrapper until they close."""
    _wrapper.enabled = False
    connection_created.disconnect(dispatch_uid="raven_django.sql")
    for connection in connections.all(initialized_only=True):
        if _wrapper in connection.execute_wrappers:
            connection.execute_wrappers.remove(_wrapper)


def installed() -> bool:
    """True between :func:`install` and :func:`uninstall`."""
    return _wrapper.enabled

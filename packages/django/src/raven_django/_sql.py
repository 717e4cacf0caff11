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
from raven.breadcrumbs import BreadcrumbRecorder
from raven.guard import capture_internal_errors

from . import conf
from ._db import in_raven_queries
from .tracing import copy_params, finish_query_span, start_query_span

__all__ = ["QueryBreadcrumbs", "install", "installed", "uninstall"]


class QueryBreadcrumbs:
    """An execute wrapper recording ``query`` breadcrumbs: SQL, alias, duration (and parameters
    with ``send_default_pii``).

    It runs around every query of the app: one client lookup, no guard entered unless something
    fails, and the crumb built in its final shape (the ``db`` span, while one records, gives its timestamp).
    """

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
        client = conf.client_or_none()
        if client is None or not getattr(client, "install_sql_hook", True):
            return execute(sql, params, many, context)
        # The guards are entered only on failure (re-raised inside one, the error is logged and
        # swallowed there): entering them around every query costs the app's requests.
        try:
            span = start_query_span(client, sql, params, many, context.get("connection"))
        except Exception:
            span = None
            with _STARTING:
                raise
        start = time.perf_counter()
        failed = True
        try:
            result = execute(sql, params, many, context)
            failed = False
            return result
        finally:
            try:
                seconds = time.perf_counter() - start
                if span is not None:
                    finish_query_span(span, failed)
                    now = span.timestamp
                else:
                    now = time.time()
                self.record(client, sql, params, many, context, seconds, failed, now)
            except Exception:
                with _RECORDING:
                    raise

    def record(
        self,
        client: Any,
        sql: Any,
        params: Any,
        many: bool,
        context: Mapping[str, Any],
        seconds: float,
        failed: bool,
        timestamp: float,
    ) -> None:
        """Record the breadcrumb of one query that took ``seconds`` and ended at ``timestamp``."""
        if not client.is_enabled():
            return
        connection = context.get("connection")
        data: dict[str, Any] = {"duration_ms": round(seconds * 1000, 3)}
        if connection is not None:
            data["db.alias"] = connection.alias
            data["db.vendor"] = connection.vendor
        if many:
            data["executemany"] = True
        elif params is not None and client.options.send_default_pii:
            data["params"] = copy_params(params)
        message = sql if sql.__class__ is str else str(sql)
        level = "error" if failed else "info"
        scope = client.context
        if scope.before_breadcrumb is None and type(client).captureBreadcrumb is _CAPTURE:
            # What captureBreadcrumb would record, without its keyword and shape checks.
            scope.record_breadcrumb(
                {
                    "timestamp": timestamp,
                    "type": "query",
                    "level": level,
                    "message": message,
                    "category": "query",
                    "data": data,
                }
            )
            return
        client.captureBreadcrumb(
            message=message,
            timestamp=timestamp,
            category="query",
            type="query",
            level=level,
            data=data,
        )


# Shared guards (they keep no state per use): no object made per query, entered on failure.
_STARTING = capture_internal_errors("django", "starting a query span")
_RECORDING = capture_internal_errors("django", "recording a query breadcrumb")
_CAPTURE = BreadcrumbRecorder.captureBreadcrumb


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

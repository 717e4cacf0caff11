"""Breadcrumbs: log records and SQL queries of the request, in order, and only when enabled."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connections
from raven_django import _sql

pytestmark = pytest.mark.django_db(databases="__all__")


def test_log_records_become_breadcrumbs(web: Any, received: Any) -> None:
    """An info record logged by the view is a breadcrumb of the error event."""
    web.get("/log-then-boom/")
    (event,) = received(1)
    crumbs = [
        c
        for c in event["breadcrumbs"]["values"]
        if c.get("category") == "tests.django.project.views"
    ]
    assert [(c["message"], c["level"], c["type"]) for c in crumbs] == [
        ("loading widget 7", "info", "log")
    ]


def test_install_sql_hook_false_records_no_queries(
    settings: Any, sentry: Any, web: Any, received: Any
) -> None:
    """RAVEN_CONFIG["install_sql_hook"] = False turns query breadcrumbs off."""
    settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, "install_sql_hook": False}
    web.get("/query-boom/")
    (event,) = received(1)
    assert not [
        c for c in event.get("breadcrumbs", {}).get("values", []) if c.get("category") == "query"
    ]


def test_failed_query_is_an_error_breadcrumb(sentry: Any, received: Any) -> None:
    """A query that raises is recorded with level error."""
    with pytest.raises(Exception, match="no such table"), connections["default"].cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    sentry.captureMessage("after a failed query")
    (event,) = received(1)
    (crumb,) = [c for c in event["breadcrumbs"]["values"] if c.get("category") == "query"]
    assert (crumb["message"], crumb["level"]) == ("SELECT * FROM no_such_table", "error")


def test_application_execute_wrapper_around_a_new_connection(sentry: Any) -> None:
    """A connection opened inside the application's own execute_wrapper block keeps Raven's wrapper
    first, so the block removes its own wrapper and not Raven's."""
    calls: list[str] = []

    def own_wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        calls.append(sql)
        return execute(sql, params, many, context)

    connection = connections.create_connection("other")
    try:
        with connection.execute_wrapper(own_wrapper), connection.cursor() as cursor:
            cursor.execute("SELECT 2")
        assert calls == ["SELECT 2"]
        assert connection.execute_wrappers == [_sql._wrapper]
    finally:
        connection.close()

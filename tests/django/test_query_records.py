"""What the SQL execute wrapper records, with tracing on: the query's breadcrumb and its db
span describe the same query, and ``before_breadcrumb`` still sees every query crumb."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connections
from raven_django import get_client

from tests.receiver import Receiver

pytestmark = pytest.mark.django_db(databases="__all__")


def test_a_traced_querys_breadcrumb_ends_with_its_span(
    settings: Any, sentry: Any, receiver: Receiver, received: Any
) -> None:
    """Under a transaction, each query's breadcrumb carries the end of its db span as its
    timestamp, with the span's statement, and the error captured inside links to that trace."""
    settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, "traces_sample_rate": 1.0}
    client = get_client()
    with client.start_transaction(name="batch", op="task") as tx:
        with connections["default"].cursor() as cursor:
            for value in (1, 2):
                cursor.execute("SELECT %s + 1", [value])
        client.captureMessage("after two queries")
    (event,) = received(1)
    crumbs = [c for c in event["breadcrumbs"]["values"] if c.get("category") == "query"]
    (transaction,) = receiver.wait_for_transactions(1)
    spans = [s for s in transaction["spans"] if s["op"] == "db"]
    assert (
        [c["message"] for c in crumbs]
        == [s["description"] for s in spans]
        == [
            "SELECT %s + 1",
            "SELECT %s + 1",
        ]
    )
    assert [c["timestamp"] for c in crumbs] == pytest.approx([s["timestamp"] for s in spans])
    assert all(c["data"]["duration_ms"] >= 0 and c["data"]["db.vendor"] == "sqlite" for c in crumbs)
    assert event["contexts"]["trace"]["trace_id"] == tx.trace_id


def test_before_breadcrumb_sees_and_changes_query_crumbs(
    settings: Any, sentry: Any, received: Any
) -> None:
    """A ``before_breadcrumb`` callback receives each query crumb and what it returns is sent."""
    seen: list[str] = []

    def rename(crumb: dict[str, Any], hint: Any) -> dict[str, Any] | None:
        if crumb.get("category") != "query":
            return crumb
        seen.append(crumb["message"])
        return {**crumb, "message": crumb["message"].lower()}

    settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, "before_breadcrumb": rename}
    client = get_client()
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 41 + 1")
    client.captureMessage("after a query")
    (event,) = received(1)
    crumbs = [c for c in event["breadcrumbs"]["values"] if c.get("category") == "query"]
    assert seen == ["SELECT 41 + 1"]
    assert [(c["message"], c["level"], c["type"]) for c in crumbs] == [
        ("select 41 + 1", "info", "query")
    ]

"""raven-tornado against a real Bugsink: a Tornado server process, real HTTP requests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.bugsink import Project
from tests.e2e.proxy import RecordingProxy
from tests.e2e.servers import app_env, serving
from tests.relay import validate_event

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
# Imported (not run as __main__) so frames name the module as an app's would.
RUN = "import asyncio, sys; from tests.e2e.apps import tornado_shop; asyncio.run(tornado_shop.main(int(sys.argv[1])))"


@pytest.fixture
def shop(project: Project, tmp_path: Path) -> Iterator[str]:
    """The Tornado shop in its own process, sending with AsyncSentryClient on its IOLoop."""
    with serving(
        lambda port: [sys.executable, "-c", RUN, str(port)],
        app_env(project.dsn),
        tmp_path / "tornado.log",
    ) as base:
        yield base


@pytest.fixture
def traced_shop(project: Project, proxy: RecordingProxy, tmp_path: Path) -> Iterator[str]:
    """The Tornado shop tracing every request, sending through the recording proxy."""
    with serving(
        lambda port: [sys.executable, "-c", RUN, str(port)],
        app_env(proxy.dsn_for(project.dsn), E2E_TRACES="1.0"),
        tmp_path / "tornado.log",
    ) as base:
        yield base


def test_handler_error_becomes_an_issue_with_request_and_user(shop: str, project: Project) -> None:
    """A coroutine handler failing after an await is stored with stack, locals, request, user and breadcrumbs."""
    response = requests.get(
        f"{shop}/orders/42?coupon=SPRING",
        headers={"X-User": "alice", "User-Agent": "e2e-browser/1.0"},
        timeout=10,
    )
    assert response.status_code == 500
    (event,) = project.wait_for_events(1)
    data = event["data"]
    validate_event(data)

    (issue,) = project.issues()
    assert (issue["calculated_type"], issue["calculated_value"]) == (
        "LookupError",
        "order 42 out of stock in north",
    )
    frame = data["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert (
        frame["function"] in ("get", "OrderHandler.get")
        and frame["module"] == "tests.e2e.apps.tornado_shop"
    )
    assert frame["context_line"].strip().startswith("raise LookupError(")
    assert frame["vars"]["order_id"] == "42"
    assert frame["vars"]["stock"] == {"order": 42, "warehouse": "north"}

    req = data["request"]
    assert req["url"] == f"{shop}/orders/42"
    assert req["method"] == "GET"
    assert req["query_string"] == "coupon=SPRING"
    assert req["headers"]["User-Agent"] == "e2e-browser/1.0"
    assert data["user"]["id"] == "alice"
    assert any(
        c.get("message") == "checking stock for order 42" for c in data["breadcrumbs"]["values"]
    )
    assert (data["release"], data["environment"]) == ("tornado-shop@1.9", "e2e")


def test_repeated_errors_group_and_clean_requests_send_nothing(shop: str, project: Project) -> None:
    """The same failure on four orders is one issue of four events; 200s and 404s add nothing."""
    assert requests.get(f"{shop}/ok", timeout=10).status_code == 200
    assert requests.get(f"{shop}/no-such-page", timeout=10).status_code == 404
    for order_id in range(1, 5):
        assert requests.get(f"{shop}/orders/{order_id}", timeout=10).status_code == 500
    events = project.wait_for_events(4)
    assert len(events) == 4
    (issue,) = project.issues()
    assert issue["digested_event_count"] == 4


def test_traced_requests_send_transactions_and_errors_join_the_callers_trace(
    traced_shop: str, project: Project, proxy: RecordingProxy
) -> None:
    """With tracing on, the stored error of the failing request carries the caller's trace and its
    transaction's span, and the transactions sent are accepted. Bugsink stores no transactions:
    its answer limits the ``transaction`` category for a day, so a process that sends its next
    one after that answer holds it back (counted), and how many arrive depends on timing."""
    headers = {"sentry-trace": f"{TRACE}-{PARENT}-1"}
    assert requests.get(f"{traced_shop}/ok", headers=headers, timeout=10).status_code == 200
    assert requests.get(f"{traced_shop}/orders/7", headers=headers, timeout=10).status_code == 500

    (event,) = project.wait_for_events(1)
    validate_event(event["data"])
    trace = event["data"]["contexts"]["trace"]
    assert (trace["trace_id"], trace["parent_span_id"]) == (TRACE, PARENT)
    assert trace["span_id"] != PARENT
    assert event["data"]["transaction"] == "tests.e2e.apps.tornado_shop.OrderHandler.get"

    proxy.assert_transactions_accepted_under_bugsinks_limit()

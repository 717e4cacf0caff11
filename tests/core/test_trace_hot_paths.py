"""What the per-call paths of a traced request send: an outgoing call's trace headers and
breadcrumb, and a breadcrumb recorded with only some of its fields."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from tests.core.conftest import Harness
from tests.core.test_tracing import EchoServer


@pytest.fixture
def server() -> Iterator[EchoServer]:
    echo = EchoServer()
    yield echo
    echo.httpd.shutdown()
    echo.httpd.server_close()


def test_every_call_of_a_transaction_sends_the_baggage_it_first_sent(
    sentry: Harness, server: EchoServer
) -> None:
    """The dynamic sampling context is frozen with the first outgoing call: a call made after
    the transaction is renamed carries the same ``baggage``, which is the envelope's ``trace``."""
    client = sentry.client(traces_sample_rate=1.0)
    with client.start_transaction(name="first name", op="task") as tx:
        requests.get(f"{server.url}/one", timeout=5)
        tx.set_name("second name", "route")
        requests.get(f"{server.url}/two", timeout=5)
    sentry.receiver.wait_for_transactions(1)
    first, second = (headers["baggage"] for headers in server.headers)
    assert first == second
    assert "sentry-transaction=first%20name" in first
    request = next(r for r in sentry.receiver.requests if r.item_types == ["transaction"])
    entries = dict(entry.split("=", 1) for entry in first.split(","))
    assert request.envelope_headers["trace"]["transaction"] == "first name"
    assert request.envelope_headers["trace"]["trace_id"] == entries["sentry-trace_id"]


def test_an_http_breadcrumb_arrives_whole(sentry: Harness, server: EchoServer) -> None:
    """An outgoing call's breadcrumb has its type, category, level info, the time of the answer
    and the call's data, and no message."""
    client = sentry.client()
    before = time.time()
    requests.get(f"{server.url}/ping", timeout=5)
    after = time.time()
    client.captureMessage("after a call")
    (crumb,) = [c for c in sentry.event()["breadcrumbs"]["values"] if c["type"] == "http"]
    assert before <= crumb.pop("timestamp") <= after
    assert crumb == {
        "type": "http",
        "category": "httplib",
        "level": "info",
        "data": {"method": "GET", "url": f"{server.url}/ping", "status_code": 200},
    }


def test_a_breadcrumb_with_only_a_category_gets_defaults(sentry: Harness) -> None:
    """``captureBreadcrumb`` with no message, level, type or time records an ``info``,
    ``default`` crumb stamped now."""
    client = sentry.client()
    before = time.time()
    client.captureBreadcrumb(category="cache", data={"hit": False})
    client.captureMessage("after a crumb")
    (crumb,) = [c for c in sentry.event()["breadcrumbs"]["values"] if c.get("category") == "cache"]
    assert before <= crumb.pop("timestamp") <= time.time()
    assert crumb == {
        "type": "default",
        "level": "info",
        "category": "cache",
        "data": {"hit": False},
    }

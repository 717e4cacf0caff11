"""Metrics (issue 14) as they arrive at a real loopback server: ``client.metrics.count``,
``gauge`` and ``distribution``, batched, trace-linked, scrubbed, filtered and rate limited."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import raven
from raven.exceptions import ConfigurationError
from raven.receiver import Receiver, parse_envelope

from tests.core.test_logs import attrs


@pytest.fixture
def make_client(receiver: Receiver) -> Iterator[Callable[..., raven.Client]]:
    """Clients delivering to the receiver through the background sender, closed at teardown."""
    clients: list[raven.Client] = []

    def make(**options: Any) -> raven.Client:
        client = raven.Client(receiver.dsn, **{"install_sys_hook": False, **options})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close(timeout=5)


def metric_items(receiver: Receiver) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(item headers, payload) of every ``trace_metric`` item that arrived."""
    found = []
    for request in list(receiver.requests):
        if "trace_metric" in request.item_types:
            _headers, items = parse_envelope(request.body)
            found += [(h, json.loads(p)) for h, p in items if h["type"] == "trace_metric"]
    return found


def test_each_kind_of_metric_arrives_with_its_value_unit_and_attributes(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """A counter, a gauge and a distribution arrive in one ``trace_metric`` item with their
    type, value, unit, attributes, the scope's trace and the client's defaults."""
    client = make_client(release="shop@2.1", environment="prod", server_name="web-1")
    client.metrics.count("orders.paid", attributes={"shop": "main", "vip": True})
    client.metrics.count("items.sold", 3)
    client.metrics.gauge("queue.depth", 42, unit="item")
    client.metrics.distribution("checkout.duration", 187.5, unit="millisecond")
    client.flush(5)
    paid, sold, depth, duration = receiver.wait_for_metrics(4)
    ((headers, payload),) = metric_items(receiver)
    assert headers["item_count"] == 4
    assert headers["content_type"] == "application/vnd.sentry.items.trace-metric+json"
    assert len(payload["items"]) == 4
    assert (paid["type"], paid["name"], paid["value"]) == ("counter", "orders.paid", 1)
    assert (sold["type"], sold["value"]) == ("counter", 3)
    assert (depth["type"], depth["value"], depth["unit"]) == ("gauge", 42, "item")
    assert (duration["type"], duration["value"]) == ("distribution", 187.5)
    assert duration["unit"] == "millisecond" and "unit" not in paid
    a = attrs(paid)
    assert a["shop"] == "main" and a["vip"] is True
    assert a["sentry.release"] == "shop@2.1" and a["sentry.environment"] == "prod"
    assert a["server.address"] == "web-1" and a["sentry.sdk.name"] == "raven.python"
    assert len({m["trace_id"] for m in receiver.metrics}) == 1
    assert all("span_id" not in m for m in receiver.metrics)


def test_metrics_inside_a_transaction_carry_its_trace_and_span(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """A metric recorded in a span carries the transaction's trace id and that span's id."""
    client = make_client(traces_sample_rate=1.0)
    with client.start_transaction(name="checkout", op="task") as tx:
        with client.start_span(op="db") as span:
            client.metrics.distribution("db.rows", 12)
    client.flush(5)
    (metric,) = receiver.wait_for_metrics(1)
    assert metric["trace_id"] == tx.trace_id and metric["span_id"] == span.span_id


def test_enable_metrics_off_and_a_disabled_client_send_nothing(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """``enable_metrics=False`` turns the calls into no-ops; so does a client without a DSN."""
    client = make_client(enable_metrics=False)
    client.metrics.count("orders")
    client.captureMessage("proves the flush ran")
    client.flush(5)
    receiver.wait_for(1)
    raven.Client(install_sys_hook=False).metrics.count("orders")
    assert not receiver.metrics and not metric_items(receiver)


def test_attributes_are_scrubbed_and_the_user_attached(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """A password attribute arrives masked; the user's id arrives, the email only with
    ``send_default_pii``."""
    client = make_client()
    client.user_context({"id": 9, "email": "ada@example.com"})
    client.metrics.count("logins", attributes={"password": "hunter2", "method": "form"})
    client.flush(5)
    (metric,) = receiver.wait_for_metrics(1)
    a = attrs(metric)
    assert a["password"] == "********" and a["method"] == "form"
    assert a["user.id"] == "9" and "user.email" not in a


def test_before_send_metric_changes_and_drops_and_drops_are_counted(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """``before_send_metric`` renames one metric and drops another (counted as
    ``before_send``/``trace_metric``)."""

    def before_send_metric(metric: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
        if metric["name"] == "noise":
            return None
        metric["name"] = "app." + metric["name"]
        metric["attributes"]["region"] = "eu"
        return metric

    client = make_client(before_send_metric=before_send_metric)
    client.metrics.count("orders")
    client.metrics.gauge("noise", 1)
    client.flush(5)
    (metric,) = receiver.wait_for_metrics(1)
    assert metric["name"] == "app.orders" and attrs(metric)["region"] == "eu"
    client.captureMessage("carries the report")
    client.flush(5)
    receiver.wait_until(lambda r: ("before_send", "trace_metric") in r.discarded())
    assert receiver.discarded()[("before_send", "trace_metric")] == 1


def test_invalid_metrics_are_dropped_counted_and_warned_about_once(
    make_client: Callable[..., raven.Client],
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A value that is not a finite number, or a name that is not a string, never raises into
    the app: the metric is dropped, counted (``invalid``) and warned about once per name."""
    client = make_client()
    with caplog.at_level(logging.WARNING, logger="raven.metrics"):
        client.metrics.gauge("temperature", "hot")  # type: ignore[arg-type]
        client.metrics.gauge("temperature", "hot")  # type: ignore[arg-type]
        client.metrics.distribution("latency", float("nan"))
        client.metrics.count(None)  # type: ignore[arg-type]
        client.metrics.count("ok", True)  # a bool is no number here
    client.metrics.count("ok")
    client.captureMessage("carries the report")
    client.flush(5)
    (metric,) = receiver.wait_for_metrics(1)
    assert metric["name"] == "ok"
    receiver.wait_until(lambda r: ("invalid", "trace_metric") in r.discarded())
    assert receiver.discarded()[("invalid", "trace_metric")] == 5
    assert len([r for r in caplog.records if r.name == "raven.metrics"]) == 4


def test_metric_rate_limits_are_honoured_while_errors_flow(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """After the server limits ``trace_metric``, metrics are counted (``ratelimit_backoff``)
    and not sent, while errors are delivered."""
    client = make_client()
    receiver.respond_with(429, {"X-Sentry-Rate-Limits": "60:trace_metric:key"})
    client.metrics.count("limited")
    client.flush(5)
    receiver.respond_with(200)
    for _ in range(120):
        client.metrics.count("dropped")
    client.captureMessage("errors still flow")
    assert client.flush(5)
    (event,) = receiver.wait_for(1)
    receiver.wait_until(lambda r: ("ratelimit_backoff", "trace_metric") in r.discarded())
    assert receiver.discarded()[("ratelimit_backoff", "trace_metric")] == 120
    assert not receiver.metrics


def test_many_metrics_are_sent_in_items_of_at_most_100(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """250 metrics: three ``trace_metric`` items (100, 100, 50), every metric once."""
    client = make_client()
    for i in range(250):
        client.metrics.distribution("work", i)
    client.flush(5)
    metrics = receiver.wait_for_metrics(250)
    assert sorted(m["value"] for m in metrics) == list(range(250))
    assert sorted(h["item_count"] for h, _p in metric_items(receiver)) == [50, 100, 100]


def test_before_send_metric_must_be_callable() -> None:
    """A callback that is not callable fails at construction, naming the option."""
    with pytest.raises(ConfigurationError, match="before_send_metric"):
        raven.Client(before_send_metric=42)

"""Tracing in raven-core: transactions and spans as they arrive at a real loopback server,
sampling, trace headers in and out, outgoing HTTP spans, filtering and rate limits."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import raven
import requests
from raven.exceptions import ConfigurationError

from tests.core.conftest import Harness

TRACE = "771a43a4192642f0b136d5159a501700"
PARENT = "b0e6f15b45c36b12"


class EchoServer:
    """A loopback HTTP server that keeps the headers of every request it answers."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                status = 404 if self.path.startswith("/missing") else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def traced(sentry: Harness, **options: Any) -> raven.Client:
    return sentry.client(traces_sample_rate=1.0, **options)


def test_transaction_with_nested_spans_arrives_as_one_trace(sentry: Harness) -> None:
    client = traced(sentry, release="app@1.0", environment="staging", tags={"team": "core"})
    with client.start_transaction(name="checkout", op="task") as tx:
        with client.start_span(op="db.query", description="SELECT 1") as db:
            db.set_data("db.system", "sqlite")
            with client.start_span(op="serialize") as inner:
                inner.set_tag("format", "json")
        tx.set_tag("customer", "vip")
    (event,) = sentry.receiver.wait_for_transactions(1)
    request = sentry.receiver.requests[-1]
    assert request.item_types == ["transaction"]
    assert event["type"] == "transaction"
    assert event["transaction"] == "checkout"
    assert event["transaction_info"] == {"source": "custom"}
    assert event["release"] == "app@1.0"
    assert event["tags"] == {"team": "core", "customer": "vip"}
    trace = event["contexts"]["trace"]
    assert trace["op"] == "task" and trace["status"] == "ok"
    assert trace["trace_id"] == tx.trace_id and trace["span_id"] == tx.span_id
    assert event["start_timestamp"] <= event["timestamp"]
    spans = {span["op"]: span for span in event["spans"]}
    assert spans["db.query"]["parent_span_id"] == tx.span_id
    assert spans["db.query"]["description"] == "SELECT 1"
    assert spans["db.query"]["data"] == {"db.system": "sqlite"}
    assert spans["serialize"]["parent_span_id"] == spans["db.query"]["span_id"]
    assert spans["serialize"]["tags"] == {"format": "json"}
    assert {span["trace_id"] for span in event["spans"]} == {tx.trace_id}
    dsc = request.envelope_headers["trace"]
    assert dsc["trace_id"] == tx.trace_id
    assert dsc["public_key"] == "public"
    assert dsc["sampled"] == "true" and dsc["sample_rate"] == "1"
    assert dsc["release"] == "app@1.0" and dsc["environment"] == "staging"
    assert dsc["transaction"] == "checkout"
    assert 0 <= float(dsc["sample_rand"]) < 1
    sentry.validate(sentry.receiver.transactions)  # Relay's normalizer accepts it


def test_tracing_off_sends_no_transaction_but_errors_carry_the_incoming_trace(
    sentry: Harness,
) -> None:
    client = sentry.client()
    assert not client.tracing_enabled
    with client.context:
        tx = client.start_transaction(
            name="GET /", op="http.server", headers={"sentry-trace": f"{TRACE}-{PARENT}-1"}
        )
        with tx:
            with client.start_span(op="db") as span:
                span.set_data("ignored", True)
            assert client.current_span() is None
            client.captureMessage("inside")
    client.flush()
    (event,) = sentry.events(1)
    assert event["contexts"]["trace"]["trace_id"] == TRACE
    assert event["contexts"]["trace"]["parent_span_id"] == PARENT
    assert sentry.receiver.transactions == []
    assert all(r.item_types == ["event"] for r in sentry.receiver.requests)


def test_errors_without_any_trace_share_one_made_up_trace_per_scope(sentry: Harness) -> None:
    client = sentry.client()
    with client.context:
        client.captureMessage("one")
        client.captureMessage("two")
    with client.context:
        client.captureMessage("three")
    one, two, three = sentry.events(3)
    ids = [e["contexts"]["trace"]["trace_id"] for e in (one, two, three)]
    assert ids[0] == ids[1] != ids[2]
    assert all(re.fullmatch("[0-9a-f]{32}", i) for i in ids)
    assert re.fullmatch("[0-9a-f]{16}", one["contexts"]["trace"]["span_id"])


def test_an_error_inside_a_span_carries_that_spans_ids(sentry: Harness) -> None:
    client = traced(sentry)
    with client.start_transaction(name="job") as tx:
        with client.start_span(op="step") as span:
            try:
                raise ValueError("boom")
            except ValueError:
                client.captureException()
    (error,) = sentry.events(1)
    assert error["contexts"]["trace"] == {
        "trace_id": tx.trace_id,
        "span_id": span.span_id,
        "parent_span_id": tx.span_id,
    }


def test_a_span_whose_block_raises_is_marked_internal_error(sentry: Harness) -> None:
    client = traced(sentry)
    with pytest.raises(KeyError):
        with client.start_transaction(name="job"):
            with client.start_span(op="step"):
                raise KeyError("x")
    (event,) = sentry.receiver.wait_for_transactions(1)
    assert event["spans"][0]["status"] == "internal_error"
    assert event["contexts"]["trace"]["status"] == "internal_error"


@pytest.mark.parametrize(
    ("header", "rate", "expected"),
    [
        (f"{TRACE}-{PARENT}-1", 0.0, True),  # the caller kept the trace: so do we
        (f"{TRACE}-{PARENT}-0", 1.0, False),  # the caller dropped it: so do we
        (f"{TRACE}-{PARENT}", 1.0, True),  # no decision: our own rate decides
        (f"{TRACE}-{PARENT}", 0.0, False),
    ],
)
def test_sampling_follows_the_parents_decision(
    sentry: Harness, header: str, rate: float, expected: bool
) -> None:
    client = sentry.client(traces_sample_rate=rate)
    with client.context:
        with client.start_transaction(name="t", headers={"sentry-trace": header}) as tx:
            assert tx.sampled is expected
            assert tx.trace_id == TRACE and tx.parent_span_id == PARENT
            outgoing = client.trace_headers()
    client.captureMessage("carries the client report")
    sentry.events(1)
    assert len(sentry.receiver.transactions) == (1 if expected else 0)
    assert outgoing["sentry-trace"] == f"{TRACE}-{tx.span_id}-{'1' if expected else '0'}"
    expected_drops = {} if expected else {("sample_rate", "transaction"): 1}
    assert sentry.receiver.discarded() == expected_drops


@pytest.mark.parametrize(("sample_rand", "sampled"), [("0.25", True), ("0.75", False)])
def test_the_propagated_random_value_makes_every_service_decide_alike(
    sentry: Harness, sample_rand: str, sampled: bool
) -> None:
    client = sentry.client(traces_sample_rate=0.5)
    headers = {
        "sentry-trace": f"{TRACE}-{PARENT}",
        "baggage": f"other=1,sentry-trace_id={TRACE},sentry-sample_rand={sample_rand},"
        "sentry-sample_rate=0.5,sentry-public_key=upstream",
    }
    with client.context:
        for _ in range(20):  # the same decision every time, whatever random() says
            tx = client.start_transaction(name="t", headers=headers)
            assert tx.sampled is sampled
        with tx:
            baggage = client.trace_headers()["baggage"]
    # the caller's sampling context is frozen: passed on as it came, other vendors' entries kept
    assert baggage.startswith("other=1,")
    assert (
        "sentry-public_key=upstream" in baggage and f"sentry-sample_rand={sample_rand}" in baggage
    )


def test_a_parent_decision_without_a_random_value_gets_a_consistent_one(sentry: Harness) -> None:
    client = sentry.client(traces_sample_rate=0.5)
    for flag, inside in (("1", lambda r: r < 0.5), ("0", lambda r: r >= 0.5)):
        headers = {
            "sentry-trace": f"{TRACE}-{PARENT}-{flag}",
            "baggage": f"sentry-trace_id={TRACE},sentry-sample_rate=0.5",
        }
        for _ in range(50):
            with client.context:
                tx = client.start_transaction(name="t", headers=headers)
                assert inside(tx.sample_rand)


def test_traces_sampler_gets_the_sampling_context(sentry: Harness) -> None:
    seen: list[dict[str, Any]] = []

    def sampler(context: dict[str, Any]) -> Any:
        seen.append(context)
        return context["transaction_context"]["name"] != "/health"

    client = sentry.client(traces_sampler=sampler)
    with client.context:
        client.start_transaction(
            name="/health", op="http.server", custom_sampling_context={"path": "/health"}
        ).finish()
        client.start_transaction(
            name="/orders", headers={"sentry-trace": f"{TRACE}-{PARENT}-0"}
        ).finish()
    client.flush()
    assert [t["transaction"] for t in sentry.receiver.transactions] == ["/orders"]
    assert seen[0]["path"] == "/health" and seen[0]["transaction_context"]["op"] == "http.server"
    assert seen[1]["parent_sampled"] is False  # the sampler may overrule the parent
    assert sentry.receiver.transactions[0]["contexts"]["trace"]["trace_id"] == TRACE


def test_a_sampler_returning_nonsense_samples_out_with_a_warning(
    sentry: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    client = sentry.client(traces_sampler=lambda context: "yes")
    tx = client.start_transaction(name="t")
    assert tx.sampled is False
    assert "traces_sampler" in caplog.text and "'yes'" in caplog.text


@pytest.mark.raven_errors_expected
def test_a_sampler_that_raises_never_reaches_the_app(sentry: Harness) -> None:
    client = sentry.client(traces_sampler=lambda context: 1 / 0)
    with client.start_transaction(name="t") as tx:
        pass
    assert tx.sampled is False


def test_a_w3c_traceparent_is_continued_and_produced(sentry: Harness) -> None:
    client = traced(sentry)
    with client.context:
        with client.start_transaction(
            name="t", headers={"traceparent": f"00-{TRACE}-{PARENT}-01"}
        ) as tx:
            headers = client.trace_headers()
    assert tx.trace_id == TRACE and tx.parent_span_id == PARENT and tx.sampled
    assert headers["traceparent"] == f"00-{TRACE}-{tx.span_id}-01"
    assert headers["sentry-trace"] == f"{TRACE}-{tx.span_id}-1"


def test_continue_trace_accepts_a_wsgi_environ_and_returns_the_transaction(sentry: Harness) -> None:
    client = traced(sentry)
    environ = {"wsgi.version": (1, 0), "HTTP_SENTRY_TRACE": f"{TRACE}-{PARENT}-1"}
    with client.context:
        tx = client.continue_trace(environ, op="http.server", name="/x", source="url")
        assert tx.trace_id == TRACE and tx.parent_sampled is True and tx.timestamp is None
        with client.start_transaction(tx):
            pass
    (event,) = sentry.receiver.wait_for_transactions(1)
    assert event["transaction_info"] == {"source": "url"}
    assert event["contexts"]["trace"]["parent_span_id"] == PARENT


def test_malformed_trace_headers_start_a_new_trace(sentry: Harness) -> None:
    client = traced(sentry)
    for header in ("nonsense", f"{TRACE}", "0" * 32 + "-" + PARENT, f"{TRACE}-{PARENT}-7"):
        with client.context:
            tx = client.start_transaction(name="t", headers={"sentry-trace": header})
            assert tx.trace_id != TRACE and tx.parent_span_id is None


def test_trace_decorator_for_sync_and_async_functions(sentry: Harness) -> None:
    client = traced(sentry)

    @client.trace
    def plain() -> int:
        return 1

    @client.trace(op="cache.get")
    async def coroutine() -> int:
        return 2

    assert plain() == 1  # no transaction: nothing recorded, still works
    with client.start_transaction(name="t"):
        assert plain() + asyncio.run(coroutine()) == 3
    (event,) = sentry.receiver.wait_for_transactions(1)
    spans = sorted((s["op"], s["description"]) for s in event["spans"])
    assert spans == [
        ("cache.get", "test_trace_decorator_for_sync_and_async_functions.<locals>.coroutine"),
        ("function", "test_trace_decorator_for_sync_and_async_functions.<locals>.plain"),
    ]


def test_threads_and_tasks_never_see_each_others_spans(sentry: Harness) -> None:
    client = traced(sentry)

    async def request(n: int) -> None:
        with client.start_transaction(name=f"task-{n}"):
            for i in range(3):
                with client.start_span(op=f"step-{n}-{i}"):
                    await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(request(n) for n in range(50)))

    asyncio.run(main())
    events = sentry.receiver.wait_for_transactions(50)
    for event in events:
        n = event["transaction"].split("-")[1]
        assert sorted(s["op"] for s in event["spans"]) == [f"step-{n}-{i}" for i in range(3)]
        assert {s["parent_span_id"] for s in event["spans"]} == {
            event["contexts"]["trace"]["span_id"]
        }


def test_outgoing_http_gets_a_span_and_the_trace_headers(sentry: Harness, echo: EchoServer) -> None:
    client = traced(sentry, send_default_pii=False)
    with client.start_transaction(name="caller") as tx:
        requests.get(f"{echo.url}/api?token=secret", timeout=5)
        requests.get(f"{echo.url}/missing", timeout=5)
    (event,) = sentry.receiver.wait_for_transactions(1)
    first, second = event["spans"]
    assert first["op"] == "http.client" and first["description"] == f"GET {echo.url}/api"
    assert first["data"]["http.response.status_code"] == 200 and first["status"] == "ok"
    assert "secret" not in str(event)
    assert second["status"] == "not_found"
    sent = echo.headers[0]
    assert sent["sentry-trace"] == f"{tx.trace_id}-{first['span_id']}-1"
    assert sent["traceparent"] == f"00-{tx.trace_id}-{first['span_id']}-01"
    assert f"sentry-trace_id={tx.trace_id}" in sent["baggage"]
    # Raven's own deliveries are neither traced nor given trace headers
    assert all("sentry-trace" not in r.headers for r in sentry.receiver.requests)


def test_trace_propagation_targets_limit_where_headers_go(
    sentry: Harness, echo: EchoServer
) -> None:
    client = traced(sentry, trace_propagation_targets=[r"^https://api\.example\.com"])
    with client.start_transaction(name="caller"):
        requests.get(f"{echo.url}/api", timeout=5)
    (event,) = sentry.receiver.wait_for_transactions(1)
    assert len(event["spans"]) == 1  # still measured
    assert "sentry-trace" not in echo.headers[0] and "baggage" not in echo.headers[0]


def test_before_send_transaction_changes_or_drops_and_drops_are_counted(sentry: Harness) -> None:
    def before(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
        if event["transaction"] == "drop me":
            return None
        event["tags"] = {"seen": "yes"}
        return event

    client = traced(sentry, before_send_transaction=before)
    with client.start_transaction(name="drop me"):
        with client.start_span(op="a"):
            pass
    with client.start_transaction(name="keep me"):
        pass
    client.captureMessage("carries the report")
    (kept,) = sentry.receiver.wait_for_transactions(1)
    assert kept["tags"] == {"seen": "yes"}
    sentry.receiver.wait_until(lambda r: r.discarded())
    assert sentry.receiver.discarded() == {
        ("before_send", "transaction"): 1,
        ("before_send", "span"): 2,
    }


def test_noise_is_left_untraced_without_a_sampler(sentry: Harness) -> None:
    client = traced(sentry, ignore_transactions=["^/health"], trace_ignore_status_codes=[404])
    with client.start_transaction(name="/healthz", source="route"):
        pass
    with client.start_transaction(name="/missing") as tx:
        tx.set_http_status(404)
    with client.start_transaction(name="/orders") as tx:
        tx.set_http_status(200)
    client.flush()
    assert [t["transaction"] for t in sentry.receiver.transactions] == ["/orders"]


def test_thousands_of_spans_are_capped_and_the_rest_counted(sentry: Harness) -> None:
    client = traced(sentry, max_spans=100)
    with client.start_transaction(name="big"):
        for _ in range(250):
            with client.start_span(op="loop"):
                pass
    client.captureMessage("carries the report")
    (event,) = sentry.receiver.wait_for_transactions(1)
    assert len(event["spans"]) == 100
    sentry.receiver.wait_until(lambda r: r.discarded())
    assert sentry.receiver.discarded() == {("buffer_overflow", "span"): 150}


def test_a_transaction_rate_limit_stops_transactions_but_not_errors(sentry: Harness) -> None:
    client = traced(sentry)
    sentry.receiver.respond_with(429, {"X-Sentry-Rate-Limits": "60:transaction:key"})
    with client.start_transaction(name="first"):
        pass
    sentry.receiver.respond_with(200)
    with client.start_transaction(name="second"):
        with client.start_span(op="a"):
            pass
    client.captureMessage("still sent")
    (error,) = sentry.events(1)
    assert "still sent" in str(error)
    assert sentry.receiver.transactions == []  # the first was answered 429, the second held back
    assert [r.status for r in sentry.receiver.requests] == [429, 200]
    client.close()
    assert sentry.receiver.discarded().get(("ratelimit_backoff", "transaction")) == 1
    assert sentry.receiver.discarded().get(("ratelimit_backoff", "span")) == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"traces_sample_rate": 1.5}, "'traces_sample_rate' must be a number between 0 and 1"),
        ({"traces_sample_rate": "often"}, "'traces_sample_rate' must be a number"),
        ({"traces_sampler": 0.5}, "'traces_sampler' must be callable"),
        ({"trace_propagation_targets": ["(unclosed"]}, "'trace_propagation_targets'"),
        ({"trace_ignore_status_codes": ["404"]}, "'trace_ignore_status_codes' must hold"),
        ({"max_spans": 0}, "'max_spans' must be a positive integer"),
        ({"before_send_transaction": "drop"}, "'before_send_transaction' must be callable"),
    ],
)
def test_bad_tracing_options_fail_fast(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        raven.Client("http://public@127.0.0.1:1/1", **options)


def test_envelope_items_share_the_queue_limits_and_client_reports(sentry: Harness) -> None:
    """The path sessions, check-ins, logs and metrics take (``Client.send_item``)."""
    client = sentry.client()
    payload = {"check_in_id": "a" * 32, "monitor_slug": "nightly", "status": "ok"}
    assert client.send_item("check_in", payload, category="monitor")
    sentry.receiver.wait_until(lambda r: any("check_in" in q.item_types for q in r.requests))
    (request,) = [q for q in sentry.receiver.requests if "check_in" in q.item_types]
    assert b'"monitor_slug":"nightly"' in request.body
    assert "event_id" not in request.envelope_headers
    sentry.receiver.respond_with(429, {"X-Sentry-Rate-Limits": "60:log_item:key"})
    client.send_item("log", {"items": [{}] * 3}, category="log_item", drops=[("log_item", 3)])
    sentry.receiver.respond_with(200)
    client.send_item("log", {"items": [{}] * 5}, category="log_item", drops=[("log_item", 5)])
    client.captureMessage("errors still flow, and carry the report")
    sentry.events(1)
    assert sentry.receiver.discarded() == {("ratelimit_backoff", "log_item"): 5}
    assert not raven.Client(install_sys_hook=False).send_item(
        "check_in", payload, category="monitor"
    )


def test_span_ids_that_look_like_card_numbers_are_sent_as_they_are(sentry: Harness) -> None:
    client = traced(sentry)
    card_like = "4111111111111111"  # passes Luhn, as about 5 random span ids in 100,000 do
    with client.context:
        with client.start_transaction(name="t", headers={"sentry-trace": f"{TRACE}-{card_like}-1"}):
            client.captureMessage("x")
    (event,) = sentry.events(1)
    (transaction,) = sentry.receiver.wait_for_transactions(1)
    assert event["contexts"]["trace"]["parent_span_id"] == card_like
    assert transaction["contexts"]["trace"]["parent_span_id"] == card_like


def test_transactions_are_scrubbed_and_carry_the_user_the_app_set(sentry: Harness) -> None:
    client = traced(sentry)
    with client.context:
        client.user_context({"id": "42"})
        with client.start_transaction(name="login"):
            with client.start_span(op="auth") as span:
                span.set_data("password", "hunter2")
                span.set_data("db.statement", "UPDATE users SET password='hunter3'")
    (event,) = sentry.receiver.wait_for_transactions(1)
    assert "hunter2" not in str(event) and "hunter3" not in str(event)
    assert event["user"] == {"id": "42"}

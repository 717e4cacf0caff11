"""Delivery: the background sender, rate limits, size limits, client reports, flush and close."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import pytest
import raven
from raven.processors import Processor
from raven.receiver import Receiver, parse_envelope

from tests.relay import validate_event


def make_client(receiver: Receiver, **options: object) -> raven.Client:
    options.setdefault("install_sys_hook", False)
    return raven.Client(receiver.dsn, **options)


def capture_error(client: raven.Client, message: str = "boom") -> str | None:
    try:
        raise ValueError(message)
    except ValueError:
        return client.captureException()


def test_events_arrive_as_gzip_envelopes_with_id_sent_at_and_dsn(receiver: Receiver) -> None:
    """The default transport posts a gzip envelope whose header carries event_id, sent_at and dsn."""
    client = make_client(receiver)
    event_id = capture_error(client)
    assert client.flush(5)
    (event,) = receiver.wait_for(1)
    validate_event(event)
    (request,) = receiver.requests
    assert request.path == "/api/1/envelope/"
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["content-type"] == "application/x-sentry-envelope"
    assert request.headers["x-sentry-auth"].startswith(
        "Sentry sentry_version=7, sentry_client=raven-python/"
    )
    assert request.envelope_headers["event_id"] == event_id == event["event_id"]
    assert request.envelope_headers["dsn"] == receiver.dsn
    assert request.envelope_headers["sent_at"].endswith("Z")
    assert request.item_types == ["event"]


def test_errors_and_large_bodies_are_compressed_small_transactions_are_not(
    receiver: Receiver,
) -> None:
    """Errors go gzip-compressed; a transaction, log batch or report under 32 KiB goes as it is
    (compressing each would hand the GIL over once more per request); a larger one compressed."""
    client = make_client(receiver, traces_sample_rate=1.0)
    with client.start_transaction(name="small", op="task"):
        with client.start_span(op="db", description="SELECT 1"):
            pass
    with client.start_transaction(name="large", op="task"):
        for i in range(300):
            with client.start_span(op="db", description=f"SELECT {i} FROM orders WHERE id = %s"):
                pass
    capture_error(client)
    assert client.flush(5)
    receiver.wait_for_transactions(2)
    receiver.wait_for(1)
    encodings = {}
    for request in receiver.requests:
        for headers, payload in parse_envelope(request.body)[1]:
            if headers["type"] in ("event", "transaction"):
                name = json.loads(payload).get("transaction") or headers["type"]
                encodings[name] = (request.headers.get("content-encoding"), request.wire_bytes)
    assert encodings["event"][0] == "gzip"
    assert encodings["small"][0] is None
    assert encodings["large"][0] == "gzip"
    assert encodings["large"][1] < 32 * 1024  # what arrived is the compressed body


class MarksTheRuntimeInPlace(Processor):
    """A raven-python style processor that edits a nested part of the event in place."""

    def process(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        runtime = data.get("contexts", {}).get("runtime")
        if isinstance(runtime, dict):
            runtime["name"] = f"{runtime.get('name')}+"
        return data


@pytest.mark.parametrize("profiled", [False, True])
def test_a_processor_editing_a_transaction_in_place_changes_only_that_transaction(
    receiver: Receiver, profiled: bool
) -> None:
    """Transactions are queued as built and copied on the encoder: a processor that edits the
    runtime context in place edits that transaction's copy, never the client's fixed contexts
    that the next transaction starts from (a profiled one too: its profile goes beside the copy)."""
    options = {"profiles_sample_rate": 1.0} if profiled else {}
    client = make_client(
        receiver, traces_sample_rate=1.0, processors=[MarksTheRuntimeInPlace], **options
    )
    for name in ("first", "second", "third"):
        with client.start_transaction(name=name, op="task") as transaction:
            deadline = time.monotonic() + 10
            while profiled and len(transaction.profile.ticks) < 3:  # enough samples to be sent
                assert time.monotonic() < deadline, "the profile took no samples"
    assert client.flush(5)
    transactions = receiver.wait_for_transactions(3)
    assert {t["contexts"]["runtime"]["name"] for t in transactions} == {"CPython+"}
    assert all(("profile" in t["contexts"]) is profiled for t in transactions)


def test_store_protocol_sends_gzip_json_to_the_store_endpoint(receiver: Receiver) -> None:
    """transport_protocol="store" posts gzip (not zlib labelled deflate) JSON to /store/."""
    client = make_client(receiver, transport_protocol="store")
    capture_error(client)
    assert client.flush(5)
    (event,) = receiver.wait_for(1)
    validate_event(event)
    (request,) = receiver.requests
    assert request.path == "/api/1/store/"
    assert request.headers["content-encoding"] == "gzip"


def test_capture_returns_while_the_server_hangs(receiver: Receiver) -> None:
    """With the server hanging, 200 captures all return before the server has answered anything."""
    receiver.pause()
    client = make_client(receiver)
    ids = [capture_error(client, f"hang {i}") for i in range(200)]
    assert all(ids)
    assert receiver.requests == []  # nothing answered yet: no capture waited for the network
    assert client.flush(0.2) is False  # flush is truthful: events are still pending
    receiver.resume()
    assert client.flush(10) is True
    events = receiver.wait_for(200)
    assert {e["event_id"] for e in events} == set(ids)


def test_queue_overflow_is_dropped_counted_and_warned_once(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """A full queue drops at once, counts queue_overflow, and warns once, not per event."""
    receiver.pause()
    client = make_client(receiver, queue_size=5, max_requests_in_flight=1)
    with caplog.at_level(logging.WARNING, logger="raven"):
        for i in range(50):
            capture_error(client, f"overflow {i}")
    overflow = client.reports.totals.get(("queue_overflow", "error"), 0)
    assert overflow >= 50 - 5 - 1 - 1  # queue + one in flight + one being encoded
    warnings = [r for r in caplog.records if "queue is full" in r.getMessage()]
    assert len(warnings) == 1
    receiver.resume()
    assert client.flush(10)
    receiver.wait_until(
        lambda r: (
            sum(q for (reason, _), q in r.discarded().items() if reason == "queue_overflow")
            == overflow
        )
    )
    assert len(receiver.events) + overflow == 50


@pytest.mark.parametrize(
    ("status", "headers", "limited", "free"),
    [
        (429, {"Retry-After": "60"}, ["error", "default"], []),
        (429, {}, ["error", "default"], []),
        (200, {"X-Sentry-Rate-Limits": "60:error:key"}, ["error"], ["default"]),
        (200, {"X-Sentry-Rate-Limits": "60::organization"}, ["error", "default"], []),
        (
            429,
            {
                "X-Sentry-Rate-Limits": "60:transaction:key, 2700:default;error;security:organization"
            },
            ["error", "default"],
            [],
        ),
        (200, {"X-Sentry-Rate-Limits": "60:unknown_thing:key"}, [], ["error", "default"]),
        (
            200,
            {"X-Sentry-Rate-Limits": "60: default ; error :key:reason"},
            ["error", "default"],
            [],
        ),
    ],
)
def test_rate_limit_headers_stop_limited_categories_before_any_network_io(
    receiver: Receiver, status: int, headers: dict[str, str], limited: list[str], free: list[str]
) -> None:
    """Limited categories are dropped before any request and counted; other categories still go."""
    client = make_client(receiver)
    receiver.respond_with(status, headers)
    capture_error(client, "first")
    assert client.flush(5)
    receiver.respond_with(200)
    before = len(receiver.requests)
    for _ in range(3):
        capture_error(client, "limited?")
        client.captureMessage("a message")
    assert client.flush(5)
    sent_categories = {"error" if "exception" in e else "default" for e in receiver.events[1:] if e}
    for category in limited:
        assert category not in sent_categories
        assert client.reports.totals.get(("ratelimit_backoff", category)) == 3
    for category in free:
        assert category in sent_categories
    expected_requests = 3 * len(free) + (1 if limited else 0)  # a lone client report may follow
    assert len(receiver.requests) - before <= expected_requests


def test_rate_limit_ends_when_its_window_ends(receiver: Receiver) -> None:
    """After the Retry-After window, the category is sent again."""
    client = make_client(receiver)
    receiver.respond_with(429, {"X-Sentry-Rate-Limits": "0.3:error:key"})
    capture_error(client)
    assert client.flush(5)
    receiver.respond_with(200)
    limits = client.transport.rate_limits  # type: ignore[union-attr]
    assert limits.is_limited("error")
    capture_error(client, "during")  # dropped
    threading.Event().wait(limits.retry_after("error") + 0.05)
    assert not limits.is_limited("error")
    event_id = capture_error(client, "after")
    assert client.flush(5)
    assert [e["event_id"] for e in receiver.events] == [event_id]
    assert client.reports.totals[("ratelimit_backoff", "error")] == 1


@pytest.mark.raven_errors_expected
def test_429_records_nothing_and_4xx_records_send_error(receiver: Receiver) -> None:
    """A 429 is counted by the server, not by us; a 400 is a send_error in the next report."""
    client = make_client(receiver)
    receiver.respond_with(429, {"Retry-After": "0"})
    capture_error(client, "limited")
    assert client.flush(5)
    assert client.reports.totals == {}
    receiver.respond_with(400, {"X-Sentry-Error": "bad event"})
    capture_error(client, "refused")
    receiver.wait_until(lambda r: len(r.requests) == 2)
    receiver.respond_with(200)
    capture_error(client, "ok")
    assert client.flush(5)
    (event,) = receiver.wait_for(1)
    assert event["exception"]["values"][0]["value"] == "ok"
    assert receiver.discarded() == {("send_error", "error"): 1}


def test_oversized_event_is_shrunk_to_fit(receiver: Receiver) -> None:
    """An event over max_event_bytes loses frame vars first and still arrives, under the limit."""
    client = make_client(receiver, max_event_bytes=20_000, string_max_length=5000)

    def deep(n: int, payload: str) -> None:
        if n:
            deep(n - 1, payload)
        raise ValueError("big")

    try:
        deep(20, "x" * 4000)
    except ValueError:
        client.captureException()
    assert client.flush(5)
    (event,) = receiver.wait_for(1)
    validate_event(event)
    assert len(receiver.requests[0].body) <= 20_000 + 500  # the envelope adds its headers
    frames = event["exception"]["values"][0]["stacktrace"]["frames"]
    assert all("vars" not in f for f in frames)


def test_event_that_cannot_fit_is_dropped_as_too_large(receiver: Receiver) -> None:
    """An event that stays too big after every shrinking step is dropped and counted too_large."""
    client = make_client(receiver, max_event_bytes=300)
    capture_error(client)
    assert client.flush(5)  # sends the pending client report
    receiver.wait_until(lambda r: r.discarded().get(("too_large", "error")) == 1)
    assert all("exception" not in e for e in receiver.events)


def test_sampled_and_before_send_drops_are_reported(receiver: Receiver) -> None:
    """sample_rate and before_send drops reach the server as client reports."""
    client = make_client(receiver, sample_rate=0.0)
    assert capture_error(client) is None
    dropper = make_client(receiver, before_send=lambda event, hint: None)
    assert dropper.captureMessage("dropped") is None
    assert client.flush(5) and dropper.flush(5)
    receiver.wait_until(
        lambda r: r.discarded() == {("sample_rate", "error"): 1, ("before_send", "default"): 1}
    )
    assert receiver.events == []


def test_server_errors_back_off_and_keep_the_event(receiver: Receiver) -> None:
    """A 503 keeps the event for retry; it arrives once the server is healthy again."""
    client = make_client(receiver)
    receiver.respond_with(503)
    event_id = capture_error(client)
    receiver.wait_until(lambda r: len(r.requests) >= 1)
    receiver.respond_with(200)
    assert client.flush(10)
    (event,) = receiver.wait_for(1)
    assert event["event_id"] == event_id
    assert client.reports.totals == {}


def test_server_down_then_up_loses_nothing(receiver: Receiver) -> None:
    """Connection refused, then the server comes back: every event arrives exactly once."""
    receiver.stop()
    client = make_client(receiver)
    ids = [capture_error(client, f"down {i}") for i in range(20)]
    assert client.flush(0.3) is False
    receiver.start()
    assert client.flush(15)
    events = receiver.wait_for(20)
    assert sorted(e["event_id"] for e in events) == sorted(ids)


def test_close_with_server_down_counts_network_error(receiver: Receiver) -> None:
    """Events that cannot be delivered before close are counted as network_error, not lost silently."""
    receiver.stop()
    client = make_client(receiver)
    for i in range(3):
        capture_error(client, f"lost {i}")
    assert client.close(0.3) is False
    assert client.reports.totals == {("network_error", "error"): 3}


def test_sync_transport_honours_rate_limits(receiver: Receiver) -> None:
    """sync+http sends in the caller's thread and still drops rate-limited categories."""
    client = raven.Client("sync+" + receiver.dsn, install_sys_hook=False)
    receiver.respond_with(429, {"X-Sentry-Rate-Limits": "60:error:key"})
    capture_error(client)
    assert len(receiver.requests) == 1  # delivered before capture returned
    capture_error(client)
    assert len(receiver.requests) == 1
    assert client.reports.totals == {("ratelimit_backoff", "error"): 1}


def test_debug_logs_every_send_and_drop(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """debug=True makes each send, answer and drop visible on the raven logger."""
    client = make_client(receiver, debug=True, sample_rate=0.5)
    with caplog.at_level(logging.DEBUG, logger="raven"):
        for i in range(20):
            client.captureMessage(f"m{i}")
        assert client.flush(5)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "sending event" in text and "delivered (200)" in text and "sample_rate" in text
    logging.getLogger("raven").setLevel(logging.NOTSET)

"""Tracing with SentryMixin on a real Tornado server: a transaction per request, as it arrives at
the receiver."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import raven
import tornado.web
from raven_tornado import AsyncSentryClient, SentryMixin
from tornado.web import HTTPError, RequestHandler

from tests.receiver import Receiver
from tests.relay import validate_event
from tests.tornado.apps import exception_of
from tests.tornado.conftest import CLIENT_OPTIONS, Server, flush

Serve = Callable[..., Awaitable[Server]]
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


class SpansHandler(SentryMixin, RequestHandler):
    """Two nested spans around an await, then a 200."""

    async def get(self) -> None:
        client = self.application.sentry_client  # type: ignore[attr-defined]
        with client.start_span(op="db.query", description="SELECT 1") as query:
            query.set_data("db.system", "sqlite")
            await asyncio.sleep(0)
            with client.start_span(op="serialize", description="rows"):
                await asyncio.sleep(0)
        self.write("ok")


class FailingHandler(SentryMixin, RequestHandler):
    """Fails inside a span."""

    async def get(self) -> None:
        client = self.application.sentry_client  # type: ignore[attr-defined]
        with client.start_span(op="work", description="doomed"):
            await asyncio.sleep(0)
        raise RuntimeError("failed in a traced request")


class MissingHandler(SentryMixin, RequestHandler):
    def get(self) -> None:
        raise HTTPError(404)


class LockedHandler(SentryMixin, RequestHandler):
    """Refuses every request in its own prepare()."""

    def prepare(self) -> None:
        super().prepare()
        raise HTTPError(401)

    def get(self) -> None:
        self.write("never")


class ExplicitFinishHandler(SentryMixin, RequestHandler):
    """Finishes the response itself with a status of its own."""

    def post(self) -> None:
        self.set_status(201)
        self.finish({"created": True})


class TraceHeadersHandler(SentryMixin, RequestHandler):
    """Answers with the headers an outgoing call made now would carry."""

    def get(self) -> None:
        client = self.application.sentry_client  # type: ignore[attr-defined]
        self.write(client.trace_headers())


def make_app(client: raven.Client) -> tornado.web.Application:
    app = tornado.web.Application(
        [
            (r"/spans", SpansHandler),
            (r"/fail", FailingHandler),
            (r"/missing", MissingHandler),
            (r"/locked", LockedHandler),
            (r"/create", ExplicitFinishHandler),
            (r"/headers", TraceHeadersHandler),
        ]
    )
    app.sentry_client = client  # type: ignore[attr-defined]
    return app


async def transactions(
    receiver: Receiver, client: raven.Client, count: int
) -> list[dict[str, Any]]:
    """The transactions that arrived once ``count`` did, each validated by Relay."""
    assert await flush(client)
    arrived = await asyncio.to_thread(receiver.wait_for_transactions, count)
    for transaction in arrived:
        validate_event(transaction)
    return arrived


async def test_request_is_one_transaction_with_its_spans(
    serve: Serve, traced_client: raven.Client, receiver: Receiver
) -> None:
    """A request arrives as one http.server transaction named by its handler method, status ok,
    with the handler's spans nested under it."""
    server = await serve(make_app(traced_client))
    assert (await server.fetch("/spans")).code == 200

    (tx,) = await transactions(receiver, traced_client, 1)
    assert tx["type"] == "transaction"
    assert tx["transaction"] == "tests.tornado.test_tracing.SpansHandler.get"
    assert tx["transaction_info"] == {"source": "component"}
    trace = tx["contexts"]["trace"]
    assert (trace["op"], trace["status"], trace["origin"]) == (
        "http.server",
        "ok",
        "auto.http.tornado",
    )
    assert trace["data"]["http.response.status_code"] == 200
    assert "parent_span_id" not in trace
    assert tx["request"]["url"] == server.url("/spans")
    spans = {span["op"]: span for span in tx["spans"]}
    assert spans.keys() == {"db.query", "serialize"}
    assert spans["db.query"]["parent_span_id"] == trace["span_id"]
    assert spans["db.query"]["data"] == {"db.system": "sqlite"}
    assert spans["serialize"]["parent_span_id"] == spans["db.query"]["span_id"]
    assert {span["trace_id"] for span in tx["spans"]} == {trace["trace_id"]}
    assert tx["start_timestamp"] <= spans["db.query"]["start_timestamp"]
    assert spans["db.query"]["timestamp"] <= tx["timestamp"]
    assert receiver.events == []


@pytest.mark.parametrize(
    "headers",
    [
        {
            "sentry-trace": f"{TRACE}-{PARENT}-1",
            "baggage": f"sentry-trace_id={TRACE},sentry-sample_rate=1",
        },
        {"traceparent": f"00-{TRACE}-{PARENT}-01"},
    ],
    ids=["sentry-trace", "traceparent"],
)
async def test_incoming_trace_is_continued(
    serve: Serve, traced_client: raven.Client, receiver: Receiver, headers: dict[str, str]
) -> None:
    """The caller's sentry-trace (or W3C traceparent) header: the transaction joins its trace,
    child of the caller's span."""
    server = await serve(make_app(traced_client))
    assert (await server.fetch("/spans", headers=headers)).code == 200

    (tx,) = await transactions(receiver, traced_client, 1)
    trace = tx["contexts"]["trace"]
    assert (trace["trace_id"], trace["parent_span_id"]) == (TRACE, PARENT)
    assert {span["trace_id"] for span in tx["spans"]} == {TRACE}


async def test_outgoing_headers_continue_the_request_transaction(
    serve: Serve, traced_client: raven.Client, receiver: Receiver
) -> None:
    """A call made from the handler carries the request's trace, with the transaction as parent."""
    server = await serve(make_app(traced_client))
    response = await server.fetch("/headers", headers={"sentry-trace": f"{TRACE}-{PARENT}-1"})
    outgoing = json.loads(response.body)

    (tx,) = await transactions(receiver, traced_client, 1)
    trace = tx["contexts"]["trace"]
    assert outgoing["sentry-trace"] == f"{TRACE}-{trace['span_id']}-1"
    assert f"sentry-trace_id={TRACE}" in outgoing["baggage"]


async def test_error_in_request_links_to_its_transaction(
    serve: Serve, traced_client: raven.Client, receiver: Receiver
) -> None:
    """An unhandled error: the transaction's status is internal_error (500) and the error event
    carries the transaction's trace and span ids."""
    server = await serve(make_app(traced_client))
    response = await server.fetch("/fail", headers={"sentry-trace": f"{TRACE}-{PARENT}-1"})
    assert response.code == 500

    (tx,) = await transactions(receiver, traced_client, 1)
    (error,) = await asyncio.to_thread(receiver.wait_for, 1)
    validate_event(error)
    trace = tx["contexts"]["trace"]
    assert trace["status"] == "internal_error"
    assert trace["data"]["http.response.status_code"] == 500
    assert exception_of(error)["value"] == "failed in a traced request"
    assert error["contexts"]["trace"]["trace_id"] == TRACE
    assert error["contexts"]["trace"]["span_id"] == trace["span_id"]
    assert error["transaction"] == tx["transaction"]
    (span,) = tx["spans"]
    assert span["description"] == "doomed" and span.get("status", "ok") == "ok"


@pytest.mark.parametrize(
    ("path", "method", "body", "code", "status"),
    [
        ("/missing", "GET", None, 404, "not_found"),
        ("/locked", "GET", None, 401, "unauthenticated"),
        ("/create", "POST", b"{}", 201, "ok"),
    ],
)
async def test_status_comes_from_the_response(
    serve: Serve,
    traced_client: raven.Client,
    receiver: Receiver,
    path: str,
    method: str,
    body: bytes | None,
    code: int,
    status: str,
) -> None:
    """An HTTPError(404) ends the transaction as not_found, one raised by the handler's own
    prepare() as unauthenticated, a handler's own finish() with 201 as ok; none is an error event."""
    server = await serve(make_app(traced_client))
    assert (await server.fetch(path, method=method, body=body)).code == code

    (tx,) = await transactions(receiver, traced_client, 1)
    trace = tx["contexts"]["trace"]
    assert (trace["status"], trace["data"]["http.response.status_code"]) == (status, code)
    assert receiver.events == []


async def test_traces_sampler_sees_the_tornado_request(serve: Serve, receiver: Receiver) -> None:
    """traces_sampler receives the transaction's name and the Tornado request; its False keeps the
    request untraced (and says so to the calls it makes), and only the sampled transaction arrives."""
    seen: list[tuple[str, str]] = []

    def sampler(context: dict[str, Any]) -> bool:
        request = context["tornado_request"]
        seen.append((context["transaction_context"]["name"], request.path))
        return request.path == "/spans"

    client = AsyncSentryClient(receiver.dsn, traces_sampler=sampler, **CLIENT_OPTIONS)
    try:
        server = await serve(make_app(client))
        untraced = json.loads((await server.fetch("/headers")).body)
        assert (await server.fetch("/spans")).code == 200
        (tx,) = await transactions(receiver, client, 1)
    finally:
        client.close(timeout=5)
    assert tx["transaction"].endswith("SpansHandler.get")
    assert untraced["sentry-trace"].endswith("-0")  # the decision travels on: not sampled
    assert seen == [
        ("tests.tornado.test_tracing.TraceHeadersHandler.get", "/headers"),
        ("tests.tornado.test_tracing.SpansHandler.get", "/spans"),
    ]


async def test_tracing_off_sends_no_transaction_but_errors_carry_the_incoming_trace(
    serve: Serve, receiver: Receiver
) -> None:
    """Without traces_sample_rate nothing but the error arrives, and it carries the caller's trace."""
    client = AsyncSentryClient(receiver.dsn, **CLIENT_OPTIONS)
    try:
        server = await serve(make_app(client))
        assert (await server.fetch("/spans")).code == 200
        response = await server.fetch("/fail", headers={"sentry-trace": f"{TRACE}-{PARENT}-1"})
        assert response.code == 500
        assert await flush(client)
        (error,) = await asyncio.to_thread(receiver.wait_for, 1)
    finally:
        client.close(timeout=5)
    validate_event(error)
    assert error["contexts"]["trace"]["trace_id"] == TRACE
    assert error["contexts"]["trace"]["parent_span_id"] == PARENT
    assert receiver.transactions == []


class TelemetryHandler(SentryMixin, RequestHandler):
    """A structured log (through logging) and a metric, inside the request."""

    async def get(self) -> None:
        client = self.application.sentry_client  # type: ignore[attr-defined]
        logger = logging.getLogger("shop.orders")
        logger.setLevel(logging.INFO)  # the root logger's WARNING would filter it out
        logger.info("order %s paid", 7)
        await asyncio.sleep(0)
        client.metrics.count("orders.paid", 1)
        self.write("ok")


async def test_logs_and_metrics_of_a_request_carry_its_trace(
    serve: Serve, receiver: Receiver
) -> None:
    client = raven.Client(receiver.dsn, traces_sample_rate=1.0, enable_logs=True, **CLIENT_OPTIONS)
    try:
        app = tornado.web.Application([(r"/pay", TelemetryHandler)])
        app.sentry_client = client  # type: ignore[attr-defined]
        server = await serve(app)
        assert (await server.fetch("/pay")).code == 200
        (tx,) = await transactions(receiver, client, 1)
        logs = await asyncio.to_thread(receiver.wait_for_logs, 1)
        (log,) = [entry for entry in logs if entry["body"] == "order 7 paid"]
        (metric,) = await asyncio.to_thread(receiver.wait_for_metrics, 1)
    finally:
        client.close(timeout=5)
    trace = tx["contexts"]["trace"]
    assert log["trace_id"] == metric["trace_id"] == trace["trace_id"]
    assert log["span_id"] == metric["span_id"] == trace["span_id"]

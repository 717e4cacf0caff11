"""Tracing with raven-sanic on a real Sanic server: a transaction per request, as it arrives at the
receiver."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import raven
from raven_sanic import Sentry
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse, json, text

from sanic import Sanic
from tests.receiver import Receiver
from tests.sanic.conftest import asgi_lifespan, exception_of, http, validated

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def traced_app(make_app: Callable[..., Sanic], receiver: Receiver, **options: Any) -> Sanic:
    """An app with a few routes and a Sentry extension tracing every request (unless ``options``
    say otherwise)."""
    app = make_app()
    options.setdefault("traces_sample_rate", 1.0)
    sentry = Sentry(app, dsn=receiver.dsn, **options)

    def client() -> raven.Client:
        assert sentry.client is not None
        return sentry.client

    @app.get("/spans/<n:int>")
    async def spans(request: Request, n: int) -> HTTPResponse:
        with client().start_span(op="db.query", description="SELECT 1") as query:
            query.set_data("db.system", "sqlite")
            await asyncio.sleep(0)
            with client().start_span(op="serialize", description="rows"):
                await asyncio.sleep(0)
        return text("ok")

    @app.get("/fail")
    async def fail(request: Request) -> HTTPResponse:
        with client().start_span(op="work", description="doomed"):
            await asyncio.sleep(0)
        raise RuntimeError("failed in a traced request")

    @app.get("/teapot")
    async def teapot(request: Request) -> HTTPResponse:
        raise SanicException("short and stout", status_code=418)

    @app.post("/create")
    async def create(request: Request) -> HTTPResponse:
        return json({"created": True}, status=201)

    @app.get("/headers")
    async def headers(request: Request) -> HTTPResponse:
        return json(client().trace_headers())

    @app.get("/stream")
    async def stream(request: Request) -> None:
        response = await request.respond(content_type="text/plain")
        await response.send("partial ")
        raise ConnectionResetError("upstream went away")

    return app


def transactions(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    """The transactions once ``count`` arrived, each validated by Relay."""
    return validated(receiver.wait_for_transactions(count))


async def test_request_is_one_transaction_with_its_spans(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """A request arrives as one http.server transaction named by its route (source route),
    status ok, with the handler's spans nested under it."""
    app = traced_app(make_app, receiver)
    async with http(app) as client:
        assert (await client.get("/spans/7")).status_code == 200

    (tx,) = transactions(receiver, 1)
    assert tx["transaction"] == f"{app.name}.spans"
    assert tx["transaction_info"] == {"source": "route"}
    trace = tx["contexts"]["trace"]
    assert (trace["op"], trace["status"], trace["origin"]) == (
        "http.server",
        "ok",
        "auto.http.sanic",
    )
    assert trace["data"]["http.response.status_code"] == 200
    assert "parent_span_id" not in trace
    assert tx["request"]["url"].endswith("/spans/7")
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
    receiver: Receiver, make_app: Callable[..., Sanic], headers: dict[str, str]
) -> None:
    """The caller's sentry-trace (or W3C traceparent) header: the transaction joins its trace,
    child of the caller's span."""
    app = traced_app(make_app, receiver)
    async with http(app) as client:
        assert (await client.get("/spans/1", headers=headers)).status_code == 200

    (tx,) = transactions(receiver, 1)
    trace = tx["contexts"]["trace"]
    assert (trace["trace_id"], trace["parent_span_id"]) == (TRACE, PARENT)
    assert {span["trace_id"] for span in tx["spans"]} == {TRACE}


async def test_outgoing_headers_continue_the_request_transaction(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """A call made from the handler carries the request's trace, with the transaction as parent."""
    app = traced_app(make_app, receiver)
    async with http(app) as client:
        response = await client.get("/headers", headers={"sentry-trace": f"{TRACE}-{PARENT}-1"})
    outgoing = response.json()

    (tx,) = transactions(receiver, 1)
    assert outgoing["sentry-trace"] == f"{TRACE}-{tx['contexts']['trace']['span_id']}-1"
    assert f"sentry-trace_id={TRACE}" in outgoing["baggage"]


async def test_requests_on_one_connection_are_separate_traces(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """Keep-alive requests share the connection's task: the second neither continues the first's
    trace nor carries its spans."""
    app = traced_app(make_app, receiver)
    async with http(app) as client:
        first = await client.get("/spans/1", headers={"sentry-trace": f"{TRACE}-{PARENT}-1"})
        second = await client.get("/spans/2")
        assert first.status_code == second.status_code == 200

    txs = transactions(receiver, 2)
    (traced,) = [tx for tx in txs if tx["request"]["url"].endswith("/spans/1")]
    (fresh,) = [tx for tx in txs if tx["request"]["url"].endswith("/spans/2")]
    assert traced["contexts"]["trace"]["trace_id"] == TRACE
    assert fresh["contexts"]["trace"]["trace_id"] != TRACE
    assert "parent_span_id" not in fresh["contexts"]["trace"]
    assert len(fresh["spans"]) == 2


async def test_error_in_request_links_to_its_transaction(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """An unhandled error: the transaction's status is internal_error (500) and the error event
    carries the transaction's trace and span ids and its name."""
    app = traced_app(make_app, receiver)
    async with http(app) as client:
        response = await client.get("/fail", headers={"sentry-trace": f"{TRACE}-{PARENT}-1"})
        assert response.status_code == 500

    (tx,) = transactions(receiver, 1)
    (error,) = validated(receiver.wait_for(1))
    trace = tx["contexts"]["trace"]
    assert trace["status"] == "internal_error"
    assert trace["data"]["http.response.status_code"] == 500
    assert exception_of(error)["value"] == "failed in a traced request"
    assert error["contexts"]["trace"]["trace_id"] == TRACE
    assert error["contexts"]["trace"]["span_id"] == trace["span_id"]
    assert error["transaction"] == tx["transaction"] == f"{app.name}.fail"
    (span,) = tx["spans"]
    assert span["description"] == "doomed"


@pytest.mark.parametrize(
    ("method", "path", "code", "status", "name"),
    [
        ("GET", "/no-such-page", 404, "not_found", "/no-such-page"),
        ("GET", "/teapot", 418, "invalid_argument", "teapot"),
        ("POST", "/create", 201, "ok", "create"),
    ],
)
async def test_status_comes_from_the_response(
    receiver: Receiver,
    make_app: Callable[..., Sanic],
    method: str,
    path: str,
    code: int,
    status: str,
    name: str,
) -> None:
    """The response's status is the transaction's; a request no route matched is named by its
    URL (source url); none of these is an error event."""
    app = traced_app(make_app, receiver)
    async with http(app) as client:
        assert (await client.request(method, path)).status_code == code

    (tx,) = transactions(receiver, 1)
    trace = tx["contexts"]["trace"]
    assert (trace["status"], trace["data"]["http.response.status_code"]) == (status, code)
    if name.startswith("/"):
        assert (tx["transaction"], tx["transaction_info"]["source"]) == (name, "url")
    else:
        assert (tx["transaction"], tx["transaction_info"]["source"]) == (
            f"{app.name}.{name}",
            "route",
        )
    assert receiver.events == []


async def test_error_after_a_streamed_response_started_ends_the_transaction(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """A streaming route failing once its headers are out (no response signal follows): its
    transaction still arrives, internal_error, beside the error."""
    app = traced_app(make_app, receiver)
    async with http(app) as client, client.stream("GET", "/stream") as response:
        assert response.status_code == 200
        try:
            await response.aread()
        except Exception:  # the body ends early: that is how Sanic fails a started stream
            pass

    (tx,) = transactions(receiver, 1)
    (error,) = validated(receiver.wait_for(1))
    assert tx["transaction"] == f"{app.name}.stream"
    assert tx["contexts"]["trace"]["status"] == "internal_error"
    assert error["contexts"]["trace"]["span_id"] == tx["contexts"]["trace"]["span_id"]


async def test_traces_sampler_sees_the_sanic_request(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """traces_sampler receives the request's path as the name and the Sanic request; its False
    keeps a request untraced (and says so to the calls it makes)."""
    seen: list[tuple[str, str]] = []

    def sampler(context: dict[str, Any]) -> bool:
        request = context["sanic_request"]
        seen.append((context["transaction_context"]["name"], request.method))
        return request.path.startswith("/spans/")

    app = traced_app(make_app, receiver, traces_sample_rate=None, traces_sampler=sampler)
    async with http(app) as client:
        untraced = (await client.get("/headers")).json()
        assert (await client.get("/spans/3")).status_code == 200

    (tx,) = transactions(receiver, 1)
    assert tx["transaction"] == f"{app.name}.spans"
    assert seen == [("/headers", "GET"), ("/spans/3", "GET")]
    assert untraced["sentry-trace"].endswith("-0")  # the decision travels on: not sampled


async def test_tracing_off_sends_no_transaction_but_errors_carry_the_incoming_trace(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """Without traces_sample_rate nothing but the error arrives, and it carries the caller's trace."""
    app = traced_app(make_app, receiver, traces_sample_rate=None)
    async with http(app) as client:
        assert (await client.get("/spans/1")).status_code == 200
        response = await client.get("/fail", headers={"sentry-trace": f"{TRACE}-{PARENT}-1"})
        assert response.status_code == 500

    (error,) = validated(receiver.wait_for(1))
    assert error["contexts"]["trace"]["trace_id"] == TRACE
    assert error["contexts"]["trace"]["parent_span_id"] == PARENT
    assert receiver.transactions == []


async def test_asgi_mode_traces_requests(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """Served as an ASGI app, each request is a transaction too, continuing the caller's trace."""
    app = traced_app(make_app, receiver)
    async with asgi_lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
            headers = {"sentry-trace": f"{TRACE}-{PARENT}-1"}
            assert (await client.get("/spans/5", headers=headers)).status_code == 200
            assert (await client.get("/fail")).status_code == 500

    txs = transactions(receiver, 2)
    by_name = {tx["transaction"]: tx["contexts"]["trace"] for tx in txs}
    spans, fail = by_name[f"{app.name}.spans"], by_name[f"{app.name}.fail"]
    assert (spans["trace_id"], spans["parent_span_id"], spans["status"]) == (TRACE, PARENT, "ok")
    assert fail["trace_id"] != TRACE and fail["status"] == "internal_error"
    (error,) = validated(receiver.wait_for(1))
    assert error["contexts"]["trace"]["span_id"] == fail["span_id"]


async def test_uninstalled_app_sends_no_transaction(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """init_app twice traces a request once; after uninstall requests are not traced."""
    app = make_app()
    sentry = Sentry(app, dsn=receiver.dsn, traces_sample_rate=1.0)
    sentry.init_app(app)

    @app.get("/ok")
    async def ok(request: Request) -> HTTPResponse:
        return text("fine")

    async with http(app) as client:
        assert (await client.get("/ok")).status_code == 200
        transactions(receiver, 1)
        sentry.uninstall(app)
        assert (await client.get("/ok")).status_code == 200

    assert [tx["transaction"] for tx in validated(receiver.transactions)] == [f"{app.name}.ok"]


async def test_logs_and_metrics_of_a_request_carry_its_trace(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    app = make_app()
    sentry = Sentry(app, dsn=receiver.dsn, traces_sample_rate=1.0, enable_logs=True)
    logger = logging.getLogger("shop.orders")
    logger.setLevel(logging.INFO)  # the root logger's WARNING would filter the record out

    @app.get("/pay")
    async def pay(request: Request) -> HTTPResponse:
        assert sentry.client is not None
        logger.info("order %s paid", 7)
        await asyncio.sleep(0)
        sentry.client.metrics.count("orders.paid", 1)
        return text("ok")

    async with http(app) as client:
        assert (await client.get("/pay")).status_code == 200
    (tx,) = transactions(receiver, 1)
    (log,) = [entry for entry in receiver.wait_for_logs(1) if entry["body"] == "order 7 paid"]
    (metric,) = receiver.wait_for_metrics(1)
    trace = tx["contexts"]["trace"]
    assert log["trace_id"] == metric["trace_id"] == trace["trace_id"]
    assert log["span_id"] == metric["span_id"] == trace["span_id"]

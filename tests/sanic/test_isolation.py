"""Many requests in flight on one event loop: each event carries only its own request's context,
and a slow Sentry server never slows the app's responses."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

import httpx
import raven
from raven_sanic import Sentry
from sanic.request import Request
from sanic.response import HTTPResponse

from sanic import Sanic
from tests.receiver import Receiver
from tests.sanic.conftest import app_with_routes, exception_of, serve, validated

IN_FLIGHT = 500


async def test_concurrent_requests_keep_their_own_context(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """500 requests wait until all 500 are in flight, then sleep and fail: every event has its own
    user, tags, extra and breadcrumb, and nothing of any other request."""
    app = make_app()
    sentry = Sentry(app, dsn=receiver.dsn)
    arrived = 0
    all_in_flight = asyncio.Event()

    @app.get("/work/<n:int>")
    async def work(request: Request, n: int) -> HTTPResponse:
        nonlocal arrived
        client = sentry.client
        assert client is not None
        client.user_context({"id": f"user-{n}"})
        client.tags_context({"request_no": str(n)})
        raven.breadcrumbs.record(message=f"crumb-{n}", category="isolation")
        arrived += 1
        if arrived == IN_FLIGHT:
            all_in_flight.set()
        await asyncio.wait_for(all_in_flight.wait(), timeout=60)
        await asyncio.sleep(random.uniform(0, 0.05))  # resume in a shuffled order
        client.extra_context({"after_sleep": n})
        raise ValueError(f"boom-{n}")

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with (
        serve(app, backlog=2048) as url,
        httpx.AsyncClient(base_url=url, limits=limits, timeout=90) as client,
    ):
        responses = await asyncio.gather(*(client.get(f"/work/{n}") for n in range(IN_FLIGHT)))
        events = await asyncio.to_thread(receiver.wait_for, IN_FLIGHT, 60)

    assert all_in_flight.is_set()
    assert {r.status_code for r in responses} == {500}
    assert len(events) == IN_FLIGHT
    seen = set()
    for event in validated(events):
        n = int(exception_of(event)["value"].removeprefix("boom-"))
        seen.add(n)
        assert event["user"] == {"id": f"user-{n}"}
        assert event["tags"]["request_no"] == str(n)
        assert event["extra"]["after_sleep"] == n
        crumbs = [
            c["message"] for c in event["breadcrumbs"]["values"] if c.get("category") == "isolation"
        ]
        assert crumbs == [f"crumb-{n}"]
        assert event["request"]["url"].endswith(f"/work/{n}")
        assert event["transaction"] == f"{app.name}.work"
    assert seen == set(range(IN_FLIGHT))


def incoming_trace(n: int) -> tuple[str, str] | None:
    """The caller's (trace id, span id) for request ``n``; every third request starts its own trace."""
    return None if n % 3 == 0 else (f"a{n:031x}", f"b{n:015x}")


async def test_concurrent_requests_keep_their_own_transaction(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """500 traced requests, all in flight together, each open spans named after their number
    around awaits (odd ones then fail): every transaction has its own trace, exactly its own
    three spans, its own status, and each error carries its own transaction's ids."""
    app = make_app()
    sentry = Sentry(app, dsn=receiver.dsn, traces_sample_rate=1.0)
    arrived = 0
    all_in_flight = asyncio.Event()

    @app.get("/traced/<n:int>")
    async def traced(request: Request, n: int) -> HTTPResponse:
        nonlocal arrived
        client = sentry.client
        assert client is not None
        with client.start_span(op="step", description=f"outer-{n}") as outer:
            outer.set_data("n", n)
            arrived += 1
            if arrived == IN_FLIGHT:
                all_in_flight.set()
            await asyncio.wait_for(all_in_flight.wait(), timeout=60)
            await asyncio.sleep(random.uniform(0, 0.02))  # resume in a shuffled order
            with client.start_span(op="step", description=f"inner-{n}"):
                await asyncio.sleep(random.uniform(0, 0.01))
        with client.start_span(op="step", description=f"after-{n}"):
            await asyncio.sleep(0)
        if n % 2:
            raise ValueError(f"boom-{n}")
        return HTTPResponse(str(n))

    def headers(n: int) -> dict[str, str]:
        incoming = incoming_trace(n)
        return {} if incoming is None else {"sentry-trace": f"{incoming[0]}-{incoming[1]}-1"}

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with (
        serve(app, backlog=2048) as url,
        httpx.AsyncClient(base_url=url, limits=limits, timeout=90) as client,
    ):
        responses = await asyncio.gather(
            *(client.get(f"/traced/{n}", headers=headers(n)) for n in range(IN_FLIGHT))
        )
        transactions = await asyncio.to_thread(receiver.wait_for_transactions, IN_FLIGHT, 60)
        errors = await asyncio.to_thread(receiver.wait_for, IN_FLIGHT // 2, 60)

    assert all_in_flight.is_set()
    assert [r.status_code for r in responses] == [500 if n % 2 else 200 for n in range(IN_FLIGHT)]
    assert (len(transactions), len(errors)) == (IN_FLIGHT, IN_FLIGHT // 2)
    by_n: dict[int, dict[str, Any]] = {}
    for tx in validated(transactions):
        n = int(tx["request"]["url"].rsplit("/", 1)[1])
        by_n[n] = tx
        trace = tx["contexts"]["trace"]
        assert tx["transaction"] == f"{app.name}.traced"
        assert trace["status"] == ("internal_error" if n % 2 else "ok")
        incoming = incoming_trace(n)
        if incoming is not None:
            assert (trace["trace_id"], trace["parent_span_id"]) == incoming
        else:
            assert "parent_span_id" not in trace
        spans = {span["description"]: span for span in tx["spans"]}
        assert spans.keys() == {f"outer-{n}", f"inner-{n}", f"after-{n}"}
        assert {span["trace_id"] for span in spans.values()} == {trace["trace_id"]}
        assert spans[f"outer-{n}"]["parent_span_id"] == trace["span_id"]
        assert spans[f"outer-{n}"]["data"] == {"n": n}
        assert spans[f"inner-{n}"]["parent_span_id"] == spans[f"outer-{n}"]["span_id"]
        assert spans[f"after-{n}"]["parent_span_id"] == trace["span_id"]
    assert sorted(by_n) == list(range(IN_FLIGHT))
    assert len({tx["contexts"]["trace"]["trace_id"] for tx in transactions}) == IN_FLIGHT

    for error in validated(errors):
        n = int(exception_of(error)["value"].removeprefix("boom-"))
        own = by_n[n]["contexts"]["trace"]
        assert error["contexts"]["trace"]["trace_id"] == own["trace_id"]
        assert error["contexts"]["trace"]["span_id"] == own["span_id"]


async def test_slow_sentry_server_does_not_slow_responses(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """With a receiver that takes 3 s to answer, failing routes still answer at once."""
    delay = 3.0
    receiver.respond_with(delay=delay)
    app = app_with_routes(make_app)
    Sentry(app, dsn=receiver.dsn)

    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        started = time.monotonic()
        statuses = [(await client.get("/fail")).status_code for _ in range(4)]
        statuses.append((await client.get("/ok")).status_code)
        elapsed = time.monotonic() - started
        delivered_meanwhile = len(receiver.events)
        events = await asyncio.to_thread(receiver.wait_for, 4, 20)

    assert statuses == [500, 500, 500, 500, 200]
    assert elapsed < delay / 2, f"responses took {elapsed:.2f}s"
    assert delivered_meanwhile == 0
    assert len(validated(events)) == 4

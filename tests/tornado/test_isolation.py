"""Hundreds of requests in flight at once on one event loop: each event carries only its own context."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import raven
from raven_tornado import AsyncSentryClient

from tests.receiver import Receiver
from tests.relay import validate_event
from tests.tornado.apps import Barrier, exception_of, make_app
from tests.tornado.conftest import CLIENT_OPTIONS, Server, flush

Serve = Callable[..., Awaitable[Server]]
CONCURRENT = 500


@pytest.fixture(params=["plain", "async"])
async def make_client(
    request: pytest.FixtureRequest, receiver: Receiver
) -> AsyncIterator[Callable[..., raven.Client]]:
    """``make_client(**options)``: a plain, then an async client whose events keep their span ids."""
    cls = raven.Client if request.param == "plain" else AsyncSentryClient
    made: list[raven.Client] = []

    def make(**options: Any) -> raven.Client:
        made.append(cls(receiver.dsn, **CLIENT_OPTIONS, **options))
        return made[-1]

    yield make
    for client in made:
        await flush(client)
        client.close(timeout=5)


async def test_concurrent_requests_keep_their_own_context(
    serve: Serve, make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """500 requests, all in flight together, each set a user, tags, extra and a breadcrumb, await,
    then raise: every event carries exactly its own values and nobody else's."""
    client = make_client()
    barrier = Barrier(CONCURRENT)
    server = await serve(make_app(client, barrier=barrier), max_clients=CONCURRENT)

    responses = await asyncio.gather(*(server.fetch(f"/isolated/{n}") for n in range(CONCURRENT)))

    assert [r.code for r in responses] == [500] * CONCURRENT
    assert barrier.most_in_flight == CONCURRENT  # all of them were suspended at the same moment
    assert await flush(client, timeout=60)
    events = await asyncio.to_thread(receiver.wait_for, CONCURRENT, 60)
    assert len(events) == CONCURRENT

    seen = set()
    for event in events:
        validate_event(event)
        match = re.fullmatch(r"request (\d+) failed", exception_of(event)["value"])
        assert match, exception_of(event)["value"]
        n = match.group(1)
        seen.add(n)
        assert event["user"] == {
            "id": f"user-{n}",
            "username": f"name-{n}",
            "is_authenticated": False,  # the mixin's (anonymous request), under the context's
        }
        assert event["tags"]["request_n"] == n
        assert event["tags"]["after_sleep"] == n
        assert event["extra"]["n"] == n
        assert event["request"]["url"] == server.url(f"/isolated/{n}")
        crumbs = [c for c in event["breadcrumbs"]["values"] if c.get("category") == "isolation"]
        assert [(c["message"], c["data"]) for c in crumbs] == [(f"crumb-{n}", {"n": n})]
        # Nothing of any other request anywhere in the event.
        others = set(re.findall(r"(?:user|name|crumb|request)[- ](\d+)", json.dumps(event)))
        assert others == {n}, f"event of request {n} mentions {others - {n}}"
    assert seen == {str(n) for n in range(CONCURRENT)}


def incoming_trace(n: int) -> tuple[str, str] | None:
    """The caller's (trace id, span id) for request ``n``; every third request starts its own trace."""
    return None if n % 3 == 0 else (f"a{n:031x}", f"b{n:015x}")


async def test_concurrent_requests_keep_their_own_transaction(
    serve: Serve, make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """500 traced requests, all in flight together, each open spans named after their number
    around awaits (odd ones then fail): every transaction has its own trace, exactly its own
    three spans, its own status, and each error carries its own transaction's ids."""
    traced = make_client(traces_sample_rate=1.0)
    barrier = Barrier(CONCURRENT)
    server = await serve(make_app(traced, barrier=barrier), max_clients=CONCURRENT)

    def headers(n: int) -> dict[str, str]:
        incoming = incoming_trace(n)
        return {} if incoming is None else {"sentry-trace": f"{incoming[0]}-{incoming[1]}-1"}

    responses = await asyncio.gather(
        *(server.fetch(f"/traced/{n}", headers=headers(n)) for n in range(CONCURRENT))
    )

    assert [r.code for r in responses] == [500 if n % 2 else 200 for n in range(CONCURRENT)]
    assert barrier.most_in_flight == CONCURRENT
    assert await flush(traced, timeout=60)
    transactions = await asyncio.to_thread(receiver.wait_for_transactions, CONCURRENT, 60)
    errors = await asyncio.to_thread(receiver.wait_for, CONCURRENT // 2, 60)
    assert (len(transactions), len(errors)) == (CONCURRENT, CONCURRENT // 2)

    by_n: dict[int, dict[str, object]] = {}
    for tx in transactions:
        validate_event(tx)
        n = int(tx["request"]["url"].rsplit("/", 1)[1])
        by_n[n] = tx
        trace = tx["contexts"]["trace"]
        assert tx["transaction"] == "tests.tornado.apps.TracedIsolatedHandler.get"
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
        assert spans[f"outer-{n}"]["data"] == {"n": str(n)}
        assert spans[f"inner-{n}"]["parent_span_id"] == spans[f"outer-{n}"]["span_id"]
        assert spans[f"after-{n}"]["parent_span_id"] == trace["span_id"]
    assert sorted(by_n) == list(range(CONCURRENT))
    assert len({tx["contexts"]["trace"]["trace_id"] for tx in transactions}) == CONCURRENT

    for error in errors:
        validate_event(error)
        n = int(re.fullmatch(r"request (\d+) failed", exception_of(error)["value"]).group(1))
        own = by_n[n]["contexts"]["trace"]  # type: ignore[index]
        assert error["contexts"]["trace"]["trace_id"] == own["trace_id"]
        assert error["contexts"]["trace"]["span_id"] == own["span_id"]

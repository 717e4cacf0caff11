"""Hundreds of requests in flight at once on one event loop: each event carries only its own context."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable

import raven

from tests.receiver import Receiver
from tests.relay import validate_event
from tests.tornado.apps import Barrier, exception_of, make_app
from tests.tornado.conftest import Server, flush

Serve = Callable[..., Awaitable[Server]]
CONCURRENT = 500


async def test_concurrent_requests_keep_their_own_context(
    serve: Serve, any_client: raven.Client, receiver: Receiver
) -> None:
    """500 requests, all in flight together, each set a user, tags, extra and a breadcrumb, await,
    then raise: every event carries exactly its own values and nobody else's."""
    barrier = Barrier(CONCURRENT)
    server = await serve(make_app(any_client, barrier=barrier), max_clients=CONCURRENT)

    responses = await asyncio.gather(*(server.fetch(f"/isolated/{n}") for n in range(CONCURRENT)))

    assert [r.code for r in responses] == [500] * CONCURRENT
    assert barrier.most_in_flight == CONCURRENT  # all of them were suspended at the same moment
    assert await flush(any_client, timeout=60)
    events = await asyncio.to_thread(receiver.wait_for, CONCURRENT, 60)
    assert len(events) == CONCURRENT

    seen = set()
    for event in events:
        validate_event(event)
        match = re.fullmatch(r"request (\d+) failed", exception_of(event)["value"])
        assert match, exception_of(event)["value"]
        n = match.group(1)
        seen.add(n)
        assert event["user"] == {"id": f"user-{n}", "username": f"name-{n}"}
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

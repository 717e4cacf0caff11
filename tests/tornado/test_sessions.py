"""Release health with Tornado: each request through SentryMixin is one session."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import raven
from raven_tornado import AsyncSentryClient

from tests.receiver import Receiver
from tests.sessions import totals
from tests.tornado.apps import make_app
from tests.tornado.conftest import CLIENT_OPTIONS, Server, flush

Serve = Callable[..., Awaitable[Server]]
RELEASE = "tornado-app@5"


async def test_requests_are_counted_by_outcome(serve: Serve, receiver: Receiver) -> None:
    """On a real Tornado server, with both clients: clean requests exit, one capturing a
    handled error is errored, one answered 500 crashed; a 404 is no error."""
    for cls in (raven.Client, AsyncSentryClient):
        client = cls(receiver.dsn, release=RELEASE, **CLIENT_OPTIONS)
        server = await serve(make_app(client))
        statuses = []
        for path in ("/context", "/context", "/http/404", "/capture/none", "/boom"):
            statuses.append((await server.fetch(path)).code)
        assert statuses == [200, 200, 404, 200, 500]
        assert await flush(client)
        client.close(timeout=5)
    await asyncio.to_thread(receiver.wait_for, 4)
    assert totals(list(receiver.session_aggregates), RELEASE) == {
        "exited": 6,
        "errored": 2,
        "crashed": 2,
        "abnormal": 0,
    }

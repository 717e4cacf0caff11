"""Release health with Sanic: each request on a real server is one session, also over one
keep-alive connection."""

from __future__ import annotations

from collections.abc import Callable

from raven_sanic import Sentry
from sanic.request import Request
from sanic.response import HTTPResponse, text

from sanic import Sanic
from tests.receiver import Receiver
from tests.sanic.conftest import app_with_routes, http
from tests.sessions import totals

RELEASE = "sanic-app@7"


async def test_requests_are_counted_by_outcome(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """Over one keep-alive connection: three clean requests exit, one capturing a handled
    error is errored, two answered 500 crashed; the server's stop sends the aggregates."""
    app = app_with_routes(make_app)
    sentry = Sentry(app, dsn=receiver.dsn, release=RELEASE, install_sys_hook=False)

    @app.get("/handled")
    async def handled(request: Request) -> HTTPResponse:
        try:
            raise KeyError("sku-17")
        except KeyError:
            sentry.captureException()
        return text("recovered")

    async with http(app) as client:
        statuses = [
            (await client.get(path)).status_code
            for path in ("/ok", "/fail", "/ok", "/handled", "/fail", "/ok")
        ]
    assert statuses == [200, 500, 200, 200, 500, 200]
    receiver.wait_until(lambda r: r.session_aggregates)
    assert totals(list(receiver.session_aggregates), RELEASE) == {
        "exited": 3,
        "errored": 1,
        "crashed": 2,
        "abnormal": 0,
    }


async def test_a_worker_without_requests_sends_no_session(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """A server started and stopped without a request sends no session: the worker is counted
    per request, not as a process."""
    app = app_with_routes(make_app)
    sentry = Sentry(app, dsn=receiver.dsn, release=RELEASE, install_sys_hook=False)
    async with http(app):
        pass
    assert sentry.client is None  # closed with the server: what it had is sent
    assert receiver.sessions == [] and receiver.session_aggregates == []

"""Release health with Flask: every request is one session, counted by how it ended."""

from __future__ import annotations

from collections.abc import Callable

from raven_flask import Sentry

from flask import Flask
from tests.flask.apps import settle
from tests.receiver import Receiver
from tests.sessions import totals

RELEASE = "shop@2.1.0"


def test_a_thousand_requests_sum_to_a_thousand_sessions(
    receiver: Receiver, make_app: Callable[..., Flask], install: Callable[..., Sentry]
) -> None:
    """1,000 requests of which 10 fail with a 500 and 5 capture a handled error arrive as
    aggregates summing to exactly 1,000: 985 exited, 5 errored, 10 crashed."""
    app = make_app(SENTRY_CONFIG={"release": RELEASE, "environment": "test"})
    sentry = install(app)  # the app's /handled view captures a KeyError and answers 200
    http = app.test_client()
    statuses: dict[int, int] = {}
    for number in range(1000):
        path = "/boom" if number % 100 == 7 else "/handled" if number % 200 == 3 else "/"
        response = http.get(path)
        response.close()  # what a WSGI server does: the request's scope (and session) ends
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    assert statuses == {200: 990, 500: 10}
    events = settle(receiver, sentry.client)
    assert len(events) == 15
    sentry.client.flush()
    assert totals(list(receiver.session_aggregates), RELEASE) == {
        "exited": 985,
        "errored": 5,
        "crashed": 10,
        "abnormal": 0,
    }
    assert all(p["attrs"]["environment"] == "test" for p in receiver.session_aggregates)
    assert receiver.sessions == []  # the server is counted per request, not as one process

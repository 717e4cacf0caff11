"""Release health with Flask: every request is one session, counted by how it ended."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests
from raven_flask import Sentry

from flask import Flask
from tests.flask.apps import serve, settle
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


def test_concurrent_requests_on_a_real_server(
    receiver: Receiver, make_app: Callable[..., Flask], install: Callable[..., Sentry]
) -> None:
    """200 requests from 8 threads to werkzeug's threaded server (each request on a thread of
    its own), 8 failing and 4 capturing a handled error: 188 exited, 4 errored, 8 crashed."""
    app = make_app(SENTRY_CONFIG={"release": RELEASE})
    sentry = install(app)
    paths = ["/boom" if n % 25 == 0 else "/handled" if n % 50 == 7 else "/" for n in range(200)]
    with serve(app) as base, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda p: requests.get(base + p, timeout=30).status_code, paths))
    assert statuses.count(500) == 8 and statuses.count(200) == 192
    settle(receiver, sentry.client)
    sentry.client.flush()
    assert totals(list(receiver.session_aggregates), RELEASE) == {
        "exited": 188,
        "errored": 4,
        "crashed": 8,
        "abnormal": 0,
    }

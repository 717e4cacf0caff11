"""The extension under a real threaded WSGI server (werkzeug's), driven by real HTTP requests."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests
from raven_flask import Sentry

from flask import Flask
from tests.flask.apps import create_app, serve, settle
from tests.receiver import Receiver

MakeApp = Callable[..., Flask]
Install = Callable[..., Sentry]


def test_raising_view_over_http(receiver: Receiver, make_app: MakeApp, install: Install) -> None:
    """A failing request over HTTP is reported with its real URL, client address and user."""
    app = make_app()
    sentry = install(app)
    with serve(app) as base:
        response = requests.post(
            f"{base}/boom?ref=mail", data={"q": "shoes"}, headers={"X-User": "9"}, timeout=10
        )
    assert response.status_code == 500
    (event,) = settle(receiver, sentry.client)
    assert response.headers["X-Sentry-ID"] == event["event_id"]
    assert event["request"]["url"] == f"{base}/boom"
    assert event["request"]["query_string"] == "ref=mail"
    assert event["request"]["data"] == {"q": "shoes"}
    assert (
        "REMOTE_ADDR" not in event["request"]["env"]
    )  # the client's address needs send_default_pii
    assert event["user"] == {"id": "9"}
    assert event["transaction"] == "boom"


def test_client_address_and_username_over_http_with_pii(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """With send_default_pii the peer's address is in the request env, and the user has username,
    email and IP address (the first X-Forwarded-For entry when a proxy gave one)."""
    app = make_app(SENTRY_CONFIG={"send_default_pii": True})
    sentry = install(app)
    with serve(app) as base:
        direct = requests.get(f"{base}/boom", headers={"X-User": "9"}, timeout=10)
        proxied = requests.get(
            f"{base}/shop/checkout",
            timeout=10,
            headers={"X-User": "10", "X-Forwarded-For": "203.0.113.7, 10.0.0.1"},
        )
    assert (direct.status_code, proxied.status_code) == (500, 500)
    by_id = {e["event_id"]: e for e in settle(receiver, sentry.client)}
    event = by_id[direct.headers["X-Sentry-ID"]]
    assert event["request"]["env"]["REMOTE_ADDR"] == "127.0.0.1"
    assert event["user"] == {
        "id": "9",
        "username": "user-9",
        "email": "user-9@example.com",
        "ip_address": "127.0.0.1",
    }
    event = by_id[proxied.headers["X-Sentry-ID"]]
    assert event["request"]["env"]["REMOTE_ADDR"] == "127.0.0.1"
    assert event["user"]["ip_address"] == "203.0.113.7"


def test_not_found_and_handled_errors_over_http(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """404s, 403s and a blueprint's handled error are not reported; its 500 page is, once."""
    app = make_app()
    sentry = install(app)
    with serve(app) as base:
        assert requests.get(f"{base}/nowhere", timeout=10).status_code == 404
        assert requests.get(f"{base}/abort/403", timeout=10).status_code == 403
        assert requests.get(f"{base}/shop/out-of-stock", timeout=10).status_code == 409
        assert requests.get(f"{base}/", timeout=10).status_code == 200
        failed = requests.get(f"{base}/shop/checkout", timeout=10)
    (event,) = settle(receiver, sentry.client)
    assert failed.status_code == 500
    assert failed.text == f"shop error, reference {event['event_id']}"
    assert event["transaction"] == "shop.checkout"


def test_two_apps_two_servers_two_dsns(receiver: Receiver, second_receiver: Receiver) -> None:
    """An app factory's two apps, each on its own server, report only to their own DSN."""
    sentry = Sentry()
    apps = [create_app({"SENTRY_DSN": r.dsn}) for r in (receiver, second_receiver)]
    for app in apps:
        sentry.init_app(app)
    try:
        with serve(apps[0]) as first, serve(apps[1]) as second:
            one = requests.get(f"{first}/boom", timeout=10)
            two = requests.get(f"{second}/shop/checkout", timeout=10)
        clients = []
        for app in apps:
            with app.app_context():
                clients.append(sentry.client)
        (first_event,) = settle(receiver, clients[0])
        (second_event,) = settle(second_receiver, clients[1])
        assert first_event["event_id"] == one.headers["X-Sentry-ID"]
        assert first_event["request"]["url"] == f"{first}/boom"
        assert second_event["event_id"] == two.headers["X-Sentry-ID"]
        assert second_event["request"]["url"] == f"{second}/shop/checkout"
    finally:
        for app in apps:
            sentry.uninit_app(app)


def test_concurrent_requests_each_get_their_own_user(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """100 requests in flight at once, each with its own user: every event names only its own."""
    count = 100
    app = make_app()
    app.extensions["test.barrier"] = threading.Barrier(count)
    sentry = install(app)

    def call(user: int) -> tuple[int, requests.Response]:
        return user, requests.get(
            f"{base}/concurrent/{user}", headers={"X-User": str(user)}, timeout=60
        )

    with serve(app) as base, ThreadPoolExecutor(count) as pool:
        answers = dict(pool.map(call, range(count)))
    assert {r.status_code for r in answers.values()} == {500}
    events = settle(receiver, sentry.client)
    assert len(events) == count
    by_id = {e["event_id"]: e for e in events}
    for user, response in answers.items():
        event = by_id[response.headers["X-Sentry-ID"]]
        assert event["user"] == {"id": str(user)}
        assert event["tags"] == {"request_user": str(user)}
        assert event["exception"]["values"][-1]["value"] == f"failure for {user}"
        assert event["request"]["url"] == f"{base}/concurrent/{user}"
        assert event["request"]["headers"]["X-User"] == str(user)


def test_streamed_response_failing_over_http(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """A response that fails while the server streams it is reported by the WSGI wrapper."""
    app = make_app()
    sentry = install(app)
    with serve(app) as base:
        parts = urlsplit(base)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        conn.request("GET", "/stream")
        response = conn.getresponse()
        assert response.status == 200
        try:
            response.read()
        except http.client.IncompleteRead:
            pass  # the server may cut the chunked body short: the app failed half way
        conn.close()
    (event,) = settle(receiver, sentry.client)
    exception = event["exception"]["values"][-1]
    assert (exception["type"], exception["value"]) == ("OSError", "the stream broke")
    assert exception["mechanism"]["type"] == "wsgi"
    assert event["request"]["url"] == f"{base}/stream"

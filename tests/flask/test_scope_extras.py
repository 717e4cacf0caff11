"""Feature flags and attachments set in one Flask request never reach another request's error
(Flask's test client, two requests at the same time)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from raven_flask import Sentry

from flask import Flask, request
from tests.flask.apps import settle
from tests.receiver import Receiver

MakeApp = Callable[..., Flask]
Install = Callable[..., Sentry]


def _app(make_app: MakeApp, install: Install) -> tuple[Flask, Sentry, threading.Barrier]:
    app = make_app(login=False)
    sentry = install(app)
    barrier = threading.Barrier(2)

    @app.route("/work/<name>")
    def work(name: str) -> str:
        sentry.client.add_feature_flag(f"flag-{name}", True)
        sentry.client.add_attachment(f"log of {name}".encode(), filename=f"{name}.log")
        if request.args.get("together"):
            barrier.wait(timeout=10)  # both requests have set theirs before either fails
        if request.args.get("fail"):
            raise RuntimeError(name)
        return "ok"

    return app, sentry, barrier


def _flags(event: dict[str, Any]) -> list[str]:
    return [v["flag"] for v in event["contexts"].get("flags", {}).get("values", [])]


def test_a_request_starts_with_no_flags_or_attachments(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """A request that succeeded leaves nothing behind: the next request's error carries only
    its own flag and attachment."""
    app, sentry, _ = _app(make_app, install)
    http = app.test_client()
    assert http.get("/work/first").status_code == 200
    assert http.get("/work/second?fail=1").status_code == 500
    (event,) = settle(receiver, sentry.client)
    assert _flags(event) == ["flag-second"]
    attachments = [a for a in receiver.attachments if a["event_id"] == event["event_id"]]
    assert [(a["headers"]["filename"], a["payload"]) for a in attachments] == [
        ("second.log", b"log of second")
    ]


def test_two_concurrent_requests_keep_their_own(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """Two requests in flight at once each fail with only their own flag and attachment."""
    app, sentry, _ = _app(make_app, install)
    statuses: dict[str, int] = {}

    def call(name: str) -> None:
        statuses[name] = app.test_client().get(f"/work/{name}?fail=1&together=1").status_code

    threads = [threading.Thread(target=call, args=(name,)) for name in ("alpha", "beta")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == {"alpha": 500, "beta": 500}
    events = settle(receiver, sentry.client)
    assert len(events) == 2
    for event in events:
        name = event["exception"]["values"][-1]["value"]
        assert _flags(event) == [f"flag-{name}"]
        attachments = [a for a in receiver.attachments if a["event_id"] == event["event_id"]]
        assert [a["payload"] for a in attachments] == [f"log of {name}".encode()]
    assert receiver.discarded() == {}

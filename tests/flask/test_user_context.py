"""The Flask-Login user on events, and per-request context that ends with the request."""

from __future__ import annotations

from collections.abc import Callable

from raven_flask import Sentry

from flask import Flask
from tests.flask.apps import settle
from tests.receiver import Receiver

MakeApp = Callable[..., Flask]
Install = Callable[..., Sentry]


def test_logged_in_user_id_only_by_default(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """An authenticated Flask-Login user is sent by id; username and email need send_default_pii."""
    app = make_app()
    sentry = install(app)
    app.test_client().get("/boom", headers={"X-User": "42"})
    (event,) = settle(receiver, sentry.client)
    assert event["user"] == {"id": "42"}


def test_user_pii_and_extra_attributes(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """With send_default_pii the username, email and IP address are added; SENTRY_USER_ATTRS adds more."""
    app = make_app(
        SENTRY_CONFIG={"send_default_pii": True}, SENTRY_USER_ATTRS=["plan", "no_such_attr"]
    )
    sentry = install(app)
    app.test_client().get("/boom", headers={"X-User": "42"})
    (event,) = settle(receiver, sentry.client)
    assert event["user"] == {
        "id": "42",
        "username": "user-42",
        "email": "user-42@example.com",
        "plan": "gold",
        "ip_address": "127.0.0.1",
    }


def test_anonymous_visitor_ip_address_only_with_pii(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """With send_default_pii an anonymous visitor's event carries the client IP address, nothing more."""
    app = make_app(SENTRY_CONFIG={"send_default_pii": True})
    sentry = install(app)
    app.test_client().get("/boom", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    (event,) = settle(receiver, sentry.client)
    assert event["user"] == {"ip_address": "203.0.113.9"}


def test_user_attrs_without_pii(receiver: Receiver, make_app: MakeApp, install: Install) -> None:
    """SENTRY_USER_ATTRS is sent even without send_default_pii (the app asked for it by name),
    except the username and email, which always need send_default_pii."""
    app = make_app(SENTRY_USER_ATTRS=["plan", "email", "username"])
    sentry = install(app)
    app.test_client().get("/boom", headers={"X-User": "5"})
    (event,) = settle(receiver, sentry.client)
    assert event["user"] == {"id": "5", "plan": "gold"}


def test_anonymous_user_and_app_without_login(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """An anonymous visitor, or an app without Flask-Login, gives an event without a user."""
    with_login = make_app()
    without_login = make_app(login=False)
    sentry = install(with_login)
    install(without_login, sentry)
    with_login.test_client().get("/boom")
    without_login.test_client().get("/boom")
    first, second = settle(receiver, sentry.client)
    assert "user" not in first and "user" not in second


def test_failing_user_loader_still_reports(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """When loading the user fails, the error is reported without a user (and Raven logs no error)."""
    app = make_app()
    sentry = install(app)
    response = app.test_client().get("/shop/checkout", headers={"X-User": "broken"})
    assert response.status_code == 500
    (event,) = settle(receiver, sentry.client)
    assert event["exception"]["values"][-1]["value"] == "payment backend down"
    assert "user" not in event


def test_user_context_wins_over_flask_login(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """sentry.user_context() in a view is merged over the Flask-Login user, for that request only."""
    app = make_app()
    sentry = install(app)
    http = app.test_client()
    http.get("/with-user-context", headers={"X-User": "42"})
    http.get("/boom", headers={"X-User": "43"})
    first, second = sorted(
        settle(receiver, sentry.client), key=lambda e: e["transaction"] != "with_user_context"
    )
    assert first["user"] == {"id": "explicit", "segment": "beta"}
    assert second["user"] == {"id": "43"}


def test_context_is_reset_at_teardown(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """Tags, extra, user and breadcrumbs set in one request are gone in the next."""
    app = make_app()
    sentry = install(app)
    http = app.test_client()
    assert http.get("/set-context").status_code == 200
    http.get("/with-user-context")
    (event,) = settle(receiver, sentry.client)
    assert "leaky" not in event["tags"]
    assert "leaky" not in event.get("extra", {})
    assert event["user"] == {"id": "explicit", "segment": "beta"}
    crumbs = [c.get("message") for c in event["breadcrumbs"]["values"]]
    assert "crumb of this request" in crumbs and "leaky crumb" not in crumbs
    assert event["request"]["url"] == "http://localhost/with-user-context"


def test_context_outside_requests_is_untouched(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """Requests run in a fresh scope; what the serving thread set before is back after them."""
    app = make_app()
    sentry = install(app)
    sentry.client.tags_context({"worker": "w1"})
    http = app.test_client()
    # buffered: the response is read and closed, as a WSGI server does, so the wrapper's scope ends.
    http.get("/set-context", buffered=True)
    http.get("/boom", buffered=True)
    event_id = sentry.captureMessage("after the requests")
    boom, message = sorted(settle(receiver, sentry.client), key=lambda e: e["event_id"] == event_id)
    assert boom["tags"] == {}
    assert message["tags"] == {"worker": "w1"}
    assert "request" not in message

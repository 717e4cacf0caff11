"""What the extension reports from requests made with Flask's test client, and what it leaves alone."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import Any

import pytest
from raven_flask import Sentry

from flask import Flask, g
from tests.flask.apps import settle
from tests.receiver import Receiver

MakeApp = Callable[..., Flask]
Install = Callable[..., Sentry]


def _frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    return event["exception"]["values"][-1]["stacktrace"]["frames"]


def test_raising_view_is_reported_with_its_request(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """A view's exception arrives once, with URL, method, query, headers, scrubbed form and cookies."""
    app = make_app()
    sentry = install(app)
    http = app.test_client()
    http.set_cookie("sessionid", "s3cret-cookie")
    response = http.post(
        "/boom?page=2&token=abc",
        data={"name": "ada", "password": "hunter2"},
        headers={"X-Request-Id": "r-1", "Authorization": "Bearer xyz"},
    )
    assert response.status_code == 500
    (event,) = settle(receiver, sentry.client)
    exc = event["exception"]["values"][-1]
    assert (exc["type"], exc["value"]) == ("ValueError", "boom")
    assert (exc["mechanism"]["type"], exc["mechanism"]["handled"]) == ("flask", False)
    assert response.headers["X-Sentry-ID"] == event["event_id"]
    assert event["transaction"] == "boom"
    req = event["request"]
    assert req["url"] == "http://localhost/boom"
    assert req["method"] == "POST"
    assert "page=2" in req["query_string"] and "abc" not in req["query_string"]
    assert req["headers"]["X-Request-Id"] == "r-1"
    assert req["headers"]["Authorization"] != "Bearer xyz"
    assert "Cookie" not in req["headers"]
    assert set(req["cookies"]) == {"sessionid"} and req["cookies"]["sessionid"] != "s3cret-cookie"
    assert req["data"]["name"] == "ada"
    assert req["data"]["password"] != "hunter2"
    assert "REMOTE_ADDR" not in req["env"]  # the client's address needs send_default_pii
    assert "user" not in event
    frames = _frames(event)
    assert frames[-1]["function"].endswith("boom") and frames[-1]["in_app"] is True
    assert not any(f["in_app"] for f in frames if f["module"].startswith("flask."))


def test_json_body_is_attached_parsed(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """A JSON request body arrives as the parsed object, secrets scrubbed."""
    app = make_app()
    sentry = install(app)
    app.test_client().post("/json", json={"order": 7, "api_key": "k-123"})
    (event,) = settle(receiver, sentry.client)
    assert event["request"]["data"]["order"] == 7
    assert event["request"]["data"]["api_key"] != "k-123"


def test_unread_body_is_read_at_capture(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """A view that failed before reading its body still gets the body attached."""
    app = make_app()
    sentry = install(app)
    app.test_client().post("/lazy-body", data={"comment": "first!"})
    (event,) = settle(receiver, sentry.client)
    assert event["request"]["data"] == {"comment": "first!"}


def test_body_over_the_size_limit_is_not_read(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """With max_request_body_size "small" a 20 KB body is replaced by a note saying why."""
    app = make_app(SENTRY_CONFIG={"max_request_body_size": "small"})
    sentry = install(app)
    app.test_client().post("/lazy-body", data={"blob": "x" * 20_000})
    (event,) = settle(receiver, sentry.client)
    assert "x" * 100 not in str(event["request"]["data"])
    assert "over the 4096-byte limit" in event["request"]["data"]


def test_never_sends_no_body(receiver: Receiver, make_app: MakeApp, install: Install) -> None:
    """With max_request_body_size "never" the event has no request body at all."""
    app = make_app(SENTRY_CONFIG={"max_request_body_size": "never"})
    sentry = install(app)
    app.test_client().post("/boom", data={"comment": "hi"})
    (event,) = settle(receiver, sentry.client)
    assert "data" not in event["request"]


@pytest.mark.parametrize(
    "path", ["/no-such-page", "/abort/404", "/abort/403", "/abort/400", "/abort/405"]
)
def test_http_errors_below_500_are_not_reported(
    receiver: Receiver, make_app: MakeApp, install: Install, path: str
) -> None:
    """404s and other HTTP errors under 500 reach the client as usual and Sentry not at all."""
    app = make_app()
    sentry = install(app)
    response = app.test_client().get(path)
    assert 400 <= response.status_code < 500
    assert "X-Sentry-ID" not in response.headers
    assert settle(receiver, sentry.client) == []


def test_trapped_http_errors_below_500_are_not_reported(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """With TRAP_HTTP_EXCEPTIONS a 404 goes through got_request_exception and is still not reported."""
    app = make_app(TRAP_HTTP_EXCEPTIONS=True)
    sentry = install(app)
    app.test_client().get("/abort/404")
    assert settle(receiver, sentry.client) == []


def test_app_500_handler_renders_and_the_error_is_reported(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """An app-level 500 handler renders its page with the event id; the exception is reported once."""
    app = make_app()

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[str, int]:
        return f"sorry, reference {app.extensions['sentry'].last_event_id}", 500

    sentry = install(app)
    response = app.test_client().get("/boom")
    (event,) = settle(receiver, sentry.client)
    assert response.status_code == 500
    assert response.get_data(as_text=True) == f"sorry, reference {event['event_id']}"
    assert response.headers["X-Sentry-ID"] == event["event_id"]


def test_g_holds_the_event_id_after_the_request(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """g.sentry_event_id and sentry.last_event_id name the request's event (context kept by the test client)."""
    app = make_app()
    sentry = install(app)
    with app.test_client() as http:
        response = http.get("/boom")
        event_id = response.headers["X-Sentry-ID"]
        assert g.sentry_event_id == event_id == sentry.last_event_id
    (event,) = settle(receiver, sentry.client)
    assert event["event_id"] == event_id


def test_blueprint_error_handlers(receiver: Receiver, make_app: MakeApp, install: Install) -> None:
    """A blueprint's own KeyError handler makes a handled 409 (not reported); its 500 page still reports."""
    app = make_app()
    sentry = install(app)
    http = app.test_client()
    handled = http.get("/shop/out-of-stock")
    assert (handled.status_code, handled.get_data(as_text=True)) == (409, "out of stock")
    assert "X-Sentry-ID" not in handled.headers
    failed = http.get("/shop/checkout")
    (event,) = settle(receiver, sentry.client)
    assert failed.status_code == 500
    assert failed.get_data(as_text=True) == f"shop error, reference {event['event_id']}"
    assert event["transaction"] == "shop.checkout"
    assert event["exception"]["values"][-1]["value"] == "payment backend down"
    assert event["request"]["url"] == "http://localhost/shop/checkout"


def test_async_view_is_reported(receiver: Receiver, make_app: MakeApp, install: Install) -> None:
    """An async view's exception is reported like a sync one's."""
    app = make_app()
    sentry = install(app)
    assert app.test_client().get("/async").status_code == 500
    (event,) = settle(receiver, sentry.client)
    assert event["exception"]["values"][-1]["type"] == "ZeroDivisionError"
    assert event["transaction"] == "async_view"


def test_testing_mode_propagates_and_reports_once(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """With app.testing the exception reaches the test; the signal and the WSGI wrapper report it once."""
    app = make_app(TESTING=True)
    sentry = install(app)
    assert sentry.wrap_wsgi is None and app.wsgi_app is not Flask.wsgi_app.__get__(app)
    with pytest.raises(ValueError, match="boom"):
        app.test_client().get("/boom")
    (event,) = settle(receiver, sentry.client)
    assert event["exception"]["values"][-1]["mechanism"]["type"] == "flask"


def test_streamed_response_failure_is_reported_by_the_wsgi_wrapper(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """A streamed body that fails half way (outside Flask's handlers) is reported by the wrapper."""
    app = make_app()
    sentry = install(app)
    with pytest.raises(OSError, match="the stream broke"):
        app.test_client().get("/stream").get_data()
    (event,) = settle(receiver, sentry.client)
    mechanism = event["exception"]["values"][-1]["mechanism"]
    assert (mechanism["type"], mechanism["handled"]) == ("wsgi", False)
    assert event["request"]["url"] == "http://localhost/stream"


def test_response_closed_before_its_end_is_not_reported(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """A client that stops reading a streamed response half way is no error: nothing is reported."""
    app = make_app()
    sentry = install(app)
    response = app.test_client().get("/stream", buffered=False)
    chunks = iter(response.response)
    assert next(chunks) == b"first chunk\n"
    response.close()
    del chunks, response
    gc.collect()  # a generator dropped half way is closed with GeneratorExit
    assert settle(receiver, sentry.client) == []


def test_register_signal_false_reports_nothing_from_flask(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """register_signal=False leaves 500s to the app: nothing is reported."""
    app = make_app()
    sentry = install(app, register_signal=False)
    assert app.test_client().get("/boom").status_code == 500
    assert settle(receiver, sentry.client) == []


def test_helpers_attach_the_request_and_set_the_event_id(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """captureMessage in a view: the request is attached, g and last_event_id and the header hold the id."""
    app = make_app()
    sentry = install(app)
    response = app.test_client().get("/message?q=1")
    (event,) = settle(receiver, sentry.client)
    body = response.get_json()
    assert body == {
        "event_id": event["event_id"],
        "g": event["event_id"],
        "last": event["event_id"],
    }
    assert response.headers["X-Sentry-ID"] == event["event_id"]
    assert event["logentry"]["formatted"] == "hello from the view"
    assert event["request"]["query_string"] == "q=1"
    assert event["transaction"] == "message"
    assert sentry.last_event_id == event["event_id"]


def test_capture_exception_helper_in_a_handled_error(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """sentry.captureException() in an except block reports it with the request; the view still answers."""
    app = make_app()
    sentry = install(app)
    response = app.test_client().get("/handled", headers={"X-User": "7"})
    assert response.status_code == 200
    (event,) = settle(receiver, sentry.client)
    assert event["exception"]["values"][-1]["type"] == "KeyError"
    assert event["tags"]["handled"] == "yes"
    assert event["request"]["url"] == "http://localhost/handled"
    assert event["user"] == {"id": "7"}
    assert response.headers["X-Sentry-ID"] == event["event_id"]


def test_helpers_outside_a_request(receiver: Receiver, make_app: MakeApp, install: Install) -> None:
    """Outside a request the helpers use the app's client and send no request data."""
    app = make_app()
    sentry = install(app)
    event_id = sentry.captureMessage("from a script")
    (event,) = settle(receiver, sentry.client)
    assert event["event_id"] == event_id == sentry.last_event_id
    assert "request" not in event


def test_logging_true_reports_app_logger_records(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """logging=True sends app.logger records at `level` with the request; a 500 is still one event."""
    app = make_app()
    sentry = install(app, logging=True, level=logging.ERROR)
    http = app.test_client()
    assert http.get("/log").status_code == 200
    assert http.get("/boom").status_code == 500
    events = settle(receiver, sentry.client)
    messages = [e for e in events if "exception" not in e]
    errors = [e for e in events if "exception" in e]
    assert len(messages) == 1 and len(errors) == 1
    (message,) = messages
    assert message["logentry"]["formatted"] == "an error from the view"
    assert message["logger"] == app.logger.name
    assert message["request"]["url"] == "http://localhost/log"
    assert errors[0]["exception"]["values"][-1]["mechanism"]["type"] == "flask"


def test_log_record_and_manual_capture_share_the_request(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """A logged error, a client.captureMessage and the unhandled error of one request arrive
    with the same request (body included), user and transaction."""
    app = make_app(SENTRY_CONFIG={"send_default_pii": True})
    sentry = install(app, logging=True, level=logging.ERROR)
    http = app.test_client()
    http.set_cookie("theme", "dark")
    response = http.post(
        "/three-ways?sku=A-1",
        data={"qty": "3"},
        headers={"X-User": "42"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert response.status_code == 500
    events = settle(receiver, sentry.client)
    (logged,) = [e for e in events if e.get("logger") == app.logger.name and "exception" not in e]
    (manual,) = [
        e for e in events if e.get("logentry", {}).get("formatted") == "stock checked by hand"
    ]
    (error,) = [e for e in events if "exception" in e]
    assert len(events) == 3
    assert logged["logentry"]["formatted"] == "stock low for A-1"
    assert error["event_id"] == response.headers["X-Sentry-ID"]
    assert error["request"]["url"] == "http://localhost/three-ways"
    assert error["request"]["query_string"] == "sku=A-1"
    assert error["request"]["data"] == {"qty": "3"}
    assert error["request"]["cookies"] == {"theme": "dark"}
    assert error["request"]["env"]["REMOTE_ADDR"] == "203.0.113.9"
    assert error["user"] == {
        "id": "42",
        "username": "user-42",
        "email": "user-42@example.com",
        "ip_address": "203.0.113.9",
    }
    assert error["transaction"] == "three_ways"
    for event in (logged, manual):
        assert (event["request"], event["user"], event["transaction"]) == (
            error["request"],
            error["user"],
            error["transaction"],
        )


def test_log_record_before_the_view_reads_its_body(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """An event captured before the view reads its body carries the body, and the view still reads it."""
    app = make_app()
    sentry = install(app, logging=True, level=logging.ERROR)
    http = app.test_client()
    answers = [
        http.post("/log-then-read", json={"qty": 3}),
        http.post("/log-then-read", data={"qty": "4"}),
        http.post("/log-then-read", data="plain text", content_type="text/plain"),
    ]
    assert [a.get_data(as_text=True).strip() for a in answers] == [
        '{"qty":3}',
        '{"qty":"4"}',
        "plain text",
    ]
    events = settle(receiver, sentry.client)
    assert sorted(repr(e["request"]["data"]) for e in events) == sorted(
        repr(d) for d in ({"qty": 3}, {"qty": "4"}, "plain text")
    )


def test_logging_off_by_default(make_app: MakeApp, install: Install) -> None:
    """Without logging=True no handler is added to app.logger."""
    app = make_app()
    before = list(app.logger.handlers)
    install(app)
    assert app.logger.handlers == before

"""SentryMixin on a real Tornado server: what is reported, with which data, and what is not."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import raven
from raven.handlers.logging import SentryHandler
from raven_tornado import AsyncSentryClient

from tests.receiver import Receiver
from tests.relay import validate_event
from tests.tornado.apps import exception_of, make_app
from tests.tornado.conftest import Server, flush

Serve = Callable[..., Awaitable[Server]]


async def one_event(receiver: Receiver, client: raven.Client) -> dict[str, Any]:
    """Flush, then the single event that arrived, validated by Relay."""
    assert await flush(client)
    events = await asyncio.to_thread(receiver.wait_for, 1)
    (event,) = events
    validate_event(event)
    return event


async def test_unhandled_exception_is_reported_with_request(
    serve: Serve, any_client: raven.Client, receiver: Receiver
) -> None:
    """An exception escaping a handler is answered 500 by Tornado and reported once, with the request."""
    server = await serve(make_app(any_client))
    response = await server.fetch(
        "/boom?q=1&token=abc",
        headers={
            "Cookie": "session=s3cr3t; theme=dark",
            "Authorization": "Bearer xyz",
            "X-Custom": "kept",
        },
    )
    assert response.code == 500
    event = await one_event(receiver, any_client)
    exc = exception_of(event)
    assert exc["type"] == "ValueError" and exc["value"] == "boom"
    assert exc["mechanism"]["type"] == "tornado" and exc["mechanism"]["handled"] is False
    assert event["level"] == "error"
    assert event["transaction"] == "tests.tornado.apps.BoomHandler.get"
    frames = exc["stacktrace"]["frames"]
    assert frames[-1]["function"] == "get"  # the plain name, as raven-python and sentry-sdk send it
    assert "local-value" in frames[-1]["vars"]["note"]
    request = event["request"]
    assert request["url"] == server.url("/boom")
    assert request["method"] == "GET"
    assert request["query_string"] == "q=1&token=********"
    assert request["headers"]["X-Custom"] == "kept"
    assert request["headers"]["Authorization"] == "********"
    assert "Cookie" not in request["headers"]
    assert request["cookies"] == {
        "session": "********",
        "theme": "********",
    }  # parsed; values masked without PII
    assert "s3cr3t" not in json.dumps(event) and "xyz" not in json.dumps(event)
    assert "env" not in request  # no IP address without send_default_pii


async def test_http_errors_below_500_are_not_reported(
    serve: Serve, any_client: raven.Client, receiver: Receiver
) -> None:
    """HTTPError 400/403/404 and unknown routes are the app answering on purpose: nothing is captured."""
    server = await serve(make_app(any_client))
    for path in ("/http/400", "/http/403", "/http/404", "/no-such-route"):
        response = await server.fetch(path)
        assert 400 <= response.code < 500, path
    response = await server.fetch("/boom", method="PUT", body=b"x")  # 405: not allowed
    assert response.code == 405
    assert await flush(any_client)
    assert any_client.last_event_id is None
    assert receiver.events == []
    # The pipeline works: the next real error arrives alone.
    assert (await server.fetch("/boom")).code == 500
    event = await one_event(receiver, any_client)
    assert exception_of(event)["value"] == "boom"


@pytest.mark.parametrize("code", [500, 503])
async def test_http_error_5xx_raised_on_purpose_is_reported(
    serve: Serve, client: raven.Client, receiver: Receiver, code: int
) -> None:
    """HTTPError(500) and HTTPError(503) raised by the app are reported once, and answered as raised."""
    server = await serve(make_app(client))
    response = await server.fetch(f"/http/{code}")
    assert response.code == code
    event = await one_event(receiver, client)
    exc = exception_of(event)
    assert exc["type"] == "HTTPError"
    assert str(code) in exc["value"]


async def test_custom_write_error_page_is_kept(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """A handler's own write_error still renders the response; the exception is reported."""
    server = await serve(make_app(client))
    response = await server.fetch("/custom-page")
    assert response.code == 500
    assert json.loads(response.body) == {"error": 500, "custom": True}
    assert response.headers["Content-Type"] == "application/json"
    event = await one_event(receiver, client)
    assert exception_of(event)["type"] == "KeyError"


async def test_log_exception_overridden_without_super_still_reports(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """When a handler's log_exception skips super(), the send_error path reports, once."""
    server = await serve(make_app(client))
    response = await server.fetch("/quiet")
    assert response.code == 500
    assert server.app.settings["logged"] == ["LookupError"]
    event = await one_event(receiver, client)
    assert exception_of(event)["value"] == "quiet"
    assert exception_of(event)["mechanism"]["handled"] is False


async def test_send_error_500_in_except_block_reports_that_exception(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """send_error(500) called by the app while handling an exception reports that exception."""
    server = await serve(make_app(client))
    assert (await server.fetch("/manual")).code == 500
    event = await one_event(receiver, client)
    assert exception_of(event)["type"] == "KeyError"


async def test_exception_after_finish_is_reported(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """An exception raised after the response was finished is still reported (Tornado logs it)."""
    server = await serve(make_app(client))
    response = await server.fetch("/after-finish")
    assert response.code == 200 and response.body == b"done"
    event = await one_event(receiver, client)
    assert exception_of(event)["value"] == "after finish"
    assert event["request"]["url"] == server.url("/after-finish")


@pytest.mark.parametrize("kind", ["none", "true"])
async def test_capture_exception_on_handler(
    serve: Serve, client: raven.Client, receiver: Receiver, kind: str
) -> None:
    """self.captureException() and captureException(True) report the current exception as handled."""
    server = await serve(make_app(client))
    response = await server.fetch(f"/capture/{kind}")
    assert response.code == 200
    event_id = json.loads(response.body)["event_id"]
    event = await one_event(receiver, client)
    assert event["event_id"] == event_id
    exc = exception_of(event)
    assert exc["type"] == "OSError" and exc["value"] == "caught"
    assert exc["mechanism"]["handled"] is True
    assert event["request"]["url"] == server.url(f"/capture/{kind}")


async def test_capture_message_on_handler(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """self.captureMessage() sends a message event carrying the request."""
    server = await serve(make_app(client))
    response = await server.fetch("/capture/message?x=1")
    assert response.code == 200
    event = await one_event(receiver, client)
    assert event["event_id"] == json.loads(response.body)["event_id"]
    assert event["logentry"]["formatted"] == "hello from tornado"
    assert event["level"] == "warning"
    assert event["request"]["query_string"] == "x=1"
    assert "exception" not in event


async def test_exception_reported_by_handler_then_raised_is_sent_once(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """An exception the handler reported itself and re-raised is not reported a second time."""
    server = await serve(make_app(client))
    assert (await server.fetch("/reported")).code == 500
    event = await one_event(receiver, client)
    assert exception_of(event)["mechanism"]["handled"] is True
    assert await flush(client)
    assert len(receiver.events) == 1


async def test_post_body_is_attached_and_scrubbed(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """A form body is sent as fields, with password-like fields masked."""
    server = await serve(make_app(client))
    body = "user=ada&password=hunter2&card=4111111111111111"
    response = await server.fetch(
        "/boom",
        method="POST",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.code == 500
    event = await one_event(receiver, client)
    data = event["request"]["data"]
    assert data["user"] == "ada"
    assert data["password"] == "********"
    assert data["card"] == "********"
    assert event["request"]["method"] == "POST"


async def test_json_body_is_parsed(serve: Serve, client: raven.Client, receiver: Receiver) -> None:
    """A JSON body arrives as an object, with secrets masked."""
    server = await serve(make_app(client))
    response = await server.fetch(
        "/boom",
        method="POST",
        body=json.dumps({"a": [1, 2], "api_key": "k"}),
        headers={"Content-Type": "application/json"},
    )
    assert response.code == 500
    event = await one_event(receiver, client)
    assert event["request"]["data"] == {"a": [1, 2], "api_key": "********"}


async def test_large_body_is_not_sent(serve: Serve, receiver: Receiver) -> None:
    """A body over max_request_body_size is replaced by a note, form or not."""
    client = raven.Client(receiver.dsn, install_sys_hook=False, max_request_body_size="small")
    try:
        server = await serve(make_app(client))
        body = "field=" + "x" * 20_000
        response = await server.fetch(
            "/boom",
            method="POST",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.code == 500
        event = await one_event(receiver, client)
        assert "x" * 100 not in json.dumps(event)
        assert "not sent" in event["request"]["data"]
    finally:
        client.close(timeout=5)


async def test_user_from_get_current_user(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """The user comes from get_current_user(): only the id without PII (no username, email or IP)."""
    server = await serve(make_app(client))
    assert (await server.fetch("/user")).code == 500
    event = await one_event(receiver, client)
    assert event["user"] == {"id": "42", "is_authenticated": True}  # raven-python's flag too
    assert "env" not in event["request"]


async def test_user_email_and_ip_with_send_default_pii(serve: Serve, receiver: Receiver) -> None:
    """With send_default_pii, the user's username, email and IP address and the remote address are sent."""
    client = raven.Client(receiver.dsn, install_sys_hook=False, send_default_pii=True)
    try:
        server = await serve(make_app(client))
        assert (await server.fetch("/user")).code == 500
        event = await one_event(receiver, client)
        assert event["user"] == {
            "id": "42",
            "username": "ada",
            "email": "ada@example.com",
            "ip_address": "127.0.0.1",
            "is_authenticated": True,
        }
        assert event["request"]["env"] == {"REMOTE_ADDR": "127.0.0.1"}
    finally:
        client.close(timeout=5)


async def test_log_record_and_manual_capture_carry_the_request(
    serve: Serve, receiver: Receiver
) -> None:
    """An error logged through a SentryHandler and a client.captureMessage() in the handler arrive
    with the same request, user and transaction as the request's unhandled exception."""
    client = raven.Client(receiver.dsn, install_sys_hook=False, send_default_pii=True)
    handler = SentryHandler(client, level=logging.ERROR)
    view_logger = logging.getLogger("tests.tornado.view")
    view_logger.addHandler(handler)
    try:
        server = await serve(make_app(client))
        response = await server.fetch("/logs-and-captures?page=2", headers={"Cookie": "theme=dark"})
        assert response.code == 500
        assert await flush(client)
        events = await asyncio.to_thread(receiver.wait_for, 3)
    finally:
        view_logger.removeHandler(handler)
        client.close(timeout=5)
    by_kind = {("exception" if "exception" in e else e["logentry"]["message"]): e for e in events}
    assert set(by_kind) == {"exception", "stock check failed for %s", "manual capture in the view"}
    unhandled = by_kind["exception"]
    assert exception_of(unhandled)["value"] == "unhandled after logging"
    assert unhandled["transaction"] == "tests.tornado.apps.LogsAndCapturesHandler.get"
    assert unhandled["user"] == {
        "id": "7",
        "username": "grace",
        "email": "grace@example.com",
        "ip_address": "127.0.0.1",
        "is_authenticated": True,
    }
    assert unhandled["request"]["url"] == server.url("/logs-and-captures")
    assert unhandled["request"]["query_string"] == "page=2"
    assert unhandled["request"]["cookies"] == {"theme": "dark"}
    for event in events:
        validate_event(event)
        assert event["request"] == unhandled["request"]
        assert event["user"] == unhandled["user"]
        assert event["transaction"] == unhandled["transaction"]


async def test_string_user_becomes_id(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """A get_current_user() returning a string is sent as the user's id; none means no user."""
    server = await serve(make_app(client))
    assert (await server.fetch("/string-user", headers={"Cookie": "who=grace"})).code == 500
    event = await one_event(receiver, client)
    assert event["user"] == {"id": "grace", "is_authenticated": True}


async def test_user_set_in_async_prepare(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """A user set as self.current_user in an async prepare() (after super()) is attached."""
    server = await serve(make_app(client))
    assert (await server.fetch("/own-prepare")).code == 500
    event = await one_event(receiver, client)
    assert event["user"] == {"id": "from-prepare", "is_authenticated": True}


async def test_overridden_data_hooks(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """get_sentry_user_info, get_sentry_extra_info and get_sentry_data_from_request can be overridden."""
    server = await serve(make_app(client))
    assert (await server.fetch("/custom-data")).code == 500
    event = await one_event(receiver, client)
    assert event["user"] == {"id": "custom-user"}
    assert event["extra"]["shard"] == "eu-1"
    assert event["request"]["headers"] == {"X-Only": "this"}


async def test_overridden_get_default_context(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """An overridden get_default_context decides the request, user and extra attached."""
    server = await serve(make_app(client))
    assert (await server.fetch("/default-context")).code == 500
    event = await one_event(receiver, client)
    assert event["user"] == {"id": "from-default-context"}
    assert event["extra"]["via"] == "get_default_context"
    assert event["request"]["url"] == server.url("/default-context")


async def test_prepare_without_super_still_reports_the_request(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """A handler whose prepare() skips super() is reported with its request and transaction."""
    server = await serve(make_app(client))
    assert (await server.fetch("/skipped-prepare")).code == 500
    event = await one_event(receiver, client)
    assert event["request"]["url"] == server.url("/skipped-prepare")
    assert event["transaction"] == "tests.tornado.apps.SkippedPrepareHandler.get"


@pytest.mark.raven_errors_expected
async def test_failing_hook_does_not_change_the_response(
    serve: Serve, client: raven.Client, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug in a data hook is logged on raven.tornado; the app's own 500 answer is unchanged and
    the exception is still reported, with what the other hooks give."""
    server = await serve(make_app(client))
    with caplog.at_level(logging.ERROR, logger="raven.tornado"):
        response = await server.fetch("/broken-hook")
    assert response.code == 500
    assert b"Internal Server Error" in response.body
    assert any(
        r.name == "raven.tornado" and "bug in the app's hook" in r.exc_text
        for r in caplog.records
        if r.exc_text
    )
    event = await one_event(receiver, client)
    assert exception_of(event)["value"] == "original"
    assert event["request"]["url"] == server.url("/broken-hook")


async def test_no_client_on_application(serve: Serve, receiver: Receiver) -> None:
    """Without application.sentry_client the handler works as plain Tornado and nothing is sent."""
    server = await serve(make_app(None))
    response = await server.fetch("/no-client")
    assert response.code == 500
    response = await server.fetch("/capture/message")
    assert response.code == 200
    assert json.loads(response.body) == {"event_id": None}
    assert receiver.requests == []


async def test_context_set_outside_requests_is_not_attached(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """Each request starts from an empty context: tags set where the server started do not leak in."""
    client.tags_context({"leaked": "yes"})
    client.user_context({"id": "outsider"})
    server = await serve(make_app(client))
    assert (await server.fetch("/context?raise=1")).code == 500
    event = await one_event(receiver, client)
    assert "leaked" not in event["tags"]
    assert event["user"] == {"is_authenticated": False}  # the anonymous request's own


async def test_keep_alive_requests_do_not_share_context(
    serve: Serve, client: raven.Client, receiver: Receiver
) -> None:
    """On one keep-alive connection, a request's context never reaches the next request."""
    server = await serve(make_app(client))

    def two_requests() -> tuple[int, int]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.request("GET", "/context?tag=first")
            first = conn.getresponse()
            first.read()
            sock = conn.sock
            conn.request("GET", "/context?raise=1")
            second = conn.getresponse()
            second.read()
            assert conn.sock is sock  # the same connection served both
            return first.status, second.status
        finally:
            conn.close()

    assert await asyncio.to_thread(two_requests) == (200, 500)
    event = await one_event(receiver, client)
    assert exception_of(event)["value"] == "raised after tag=None"
    assert "set_by" not in event["tags"]
    assert event["user"] == {"is_authenticated": False}
    assert not [
        c for c in event.get("breadcrumbs", {}).get("values", []) if c.get("category") == "ctx"
    ]


async def test_context_set_in_request_is_attached(
    serve: Serve, any_client: raven.Client, receiver: Receiver
) -> None:
    """User, tags and breadcrumbs set during the request are on its event; the context user wins."""
    server = await serve(make_app(any_client))
    assert (await server.fetch("/context?tag=mine&raise=1")).code == 500
    event = await one_event(receiver, any_client)
    assert event["tags"]["set_by"] == "mine"
    assert event["user"] == {"id": "mine", "is_authenticated": False}  # merged over the mixin's
    crumbs = [c for c in event["breadcrumbs"]["values"] if c.get("category") == "ctx"]
    assert [c["message"] for c in crumbs] == ["crumb mine"]


def test_async_client_is_a_raven_client() -> None:
    """AsyncSentryClient is a raven.Client: the mixin and the core's API take it as one."""
    client = AsyncSentryClient(None)
    assert isinstance(client, raven.Client)
    assert not client.is_enabled()
    assert client.captureMessage("nowhere") is None

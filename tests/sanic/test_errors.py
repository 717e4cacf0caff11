"""Which errors of a Sanic app are reported, with what, and that the app's responses stay its own.

These use sanic-testing's client: each request runs a real server on a free loopback port and
stops it, so Raven's stop hook has flushed every event by the time the call returns.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import raven
from sanic import Sanic
from sanic.exceptions import BadRequest, NotFound, SanicException, ServerError
from sanic.request import Request
from sanic.response import HTTPResponse, json as json_response, text

from raven_sanic import Sentry
from tests.receiver import Receiver
from tests.sanic.conftest import exception_of, validated


def _failing_app(make_app: Callable[..., Sanic]) -> Sanic:
    app = make_app()

    @app.route("/fail", methods=["GET", "POST"])
    async def fail(request: Request) -> HTTPResponse:
        raise ValueError("route failed")

    @app.get("/ok")
    async def ok(request: Request) -> HTTPResponse:
        return text("fine")

    return app


def test_unhandled_exception_is_reported_with_request_data(receiver: Receiver, make_app: Callable[..., Sanic]) -> None:
    """A route that raises is reported once, with the request, the route name and the mechanism."""
    app = _failing_app(make_app)
    Sentry(app, dsn=receiver.dsn)

    _, response = app.test_client.post(
        "/fail?page=2&q=x", json={"item": "book"},
        headers={"X-Trace": "t-1", "Cookie": "theme=dark"},
    )

    assert response.status == 500
    (event,) = validated(receiver.wait_for(1))
    exc = exception_of(event)
    assert exc["type"] == "ValueError"
    assert exc["value"] == "route failed"
    assert exc["mechanism"] == {"type": "sanic", "handled": False}
    assert any(frame["function"] == "fail" for frame in exc["stacktrace"]["frames"])
    assert event["level"] == "error"
    assert event["transaction"] == f"{app.name}.fail"
    request = event["request"]
    assert request["url"] == f"http://127.0.0.1:{app.test_client.port}/fail"
    assert request["method"] == "POST"
    assert request["query_string"] in ("page=2&q=x", [["page", "2"], ["q", "x"]])
    assert request["headers"]["X-Trace"] == "t-1"
    assert "theme" in json.dumps(request["cookies"])
    assert "book" in json.dumps(request["data"])
    assert request["env"]["REMOTE_ADDR"] == "127.0.0.1"


def test_successful_requests_send_nothing(receiver: Receiver, make_app: Callable[..., Sanic]) -> None:
    """A route that answers normally produces no event."""
    app = _failing_app(make_app)
    Sentry(app, dsn=receiver.dsn)

    _, response = app.test_client.get("/ok")

    assert response.status == 200
    assert response.text == "fine"
    assert receiver.events == []


def test_client_errors_are_not_reported(receiver: Receiver, make_app: Callable[..., Sanic]) -> None:
    """NotFound (raised or from routing), BadRequest and a 4xx SanicException send nothing."""
    app = make_app()

    @app.get("/missing")
    async def missing(request: Request) -> HTTPResponse:
        raise NotFound("no such thing")

    @app.get("/bad")
    async def bad(request: Request) -> HTTPResponse:
        raise BadRequest("bad input")

    @app.get("/teapot")
    async def teapot(request: Request) -> HTTPResponse:
        raise SanicException("short and stout", status_code=418)

    Sentry(app, dsn=receiver.dsn)

    statuses = [app.test_client.get(path)[1].status for path in ("/missing", "/bad", "/teapot", "/nowhere")]

    assert statuses == [404, 400, 418, 404]
    assert receiver.events == []


def test_server_errors_raised_on_purpose_are_reported(receiver: Receiver, make_app: Callable[..., Sanic]) -> None:
    """A ServerError or a SanicException of status 503 is reported: Sanic answers it with a 5xx."""
    app = make_app()

    @app.get("/server-error")
    async def server_error(request: Request) -> HTTPResponse:
        raise ServerError("database down")

    @app.get("/unavailable")
    async def unavailable(request: Request) -> HTTPResponse:
        raise SanicException("maintenance", status_code=503)

    Sentry(app, dsn=receiver.dsn)

    assert app.test_client.get("/server-error")[1].status == 500
    assert app.test_client.get("/unavailable")[1].status == 503

    events = validated(receiver.wait_for(2))
    assert sorted(exception_of(e)["value"] for e in events) == ["database down", "maintenance"]


def test_error_response_is_unchanged(receiver: Receiver, make_app: Callable[..., Sanic]) -> None:
    """With Raven installed, Sanic's default error response is byte for byte the same."""
    plain = _failing_app(make_app)
    watched = _failing_app(make_app)
    Sentry(watched, dsn=receiver.dsn)

    _, expected = plain.test_client.get("/fail", headers={"Accept": "application/json"})
    _, actual = watched.test_client.get("/fail", headers={"Accept": "application/json"})

    assert actual.status == expected.status == 500
    assert actual.headers["content-type"] == expected.headers["content-type"]
    assert actual.json == expected.json
    assert len(validated(receiver.wait_for(1))) == 1


def test_custom_error_handlers_keep_their_responses(receiver: Receiver, make_app: Callable[..., Sanic]) -> None:
    """A handler that turns an error into a 4xx handled it (no event); one that renders a 5xx
    page is reported; both responses reach the client exactly as the handlers made them."""
    app = make_app()

    class OutOfStock(Exception):
        pass

    @app.exception(OutOfStock)
    async def out_of_stock(request: Request, exception: Exception) -> HTTPResponse:
        return json_response({"error": "out of stock"}, status=409, headers={"X-Handled": "stock"})

    @app.exception(KeyError)
    async def broken_page(request: Request, exception: Exception) -> HTTPResponse:
        return text("our own 500 page", status=500, headers={"X-Handled": "keyerror"})

    @app.get("/buy")
    async def buy(request: Request) -> HTTPResponse:
        raise OutOfStock("none left")

    @app.get("/lookup")
    async def lookup(request: Request) -> HTTPResponse:
        return text({}["missing"])

    Sentry(app, dsn=receiver.dsn)

    _, handled = app.test_client.get("/buy")
    _, page = app.test_client.get("/lookup")

    assert (handled.status, handled.json, handled.headers["x-handled"]) == (409, {"error": "out of stock"}, "stock")
    assert (page.status, page.text, page.headers["x-handled"]) == (500, "our own 500 page", "keyerror")
    (event,) = validated(receiver.wait_for(1))
    assert exception_of(event)["type"] == "KeyError"
    assert event["transaction"] == f"{app.name}.lookup"


def test_failing_error_handler_reports_the_original_error(receiver: Receiver, make_app: Callable[..., Sanic]) -> None:
    """When the app's error handler itself fails, Sanic answers 500 and the route's error is reported."""
    app = make_app()

    @app.exception(ZeroDivisionError)
    async def handler(request: Request, exception: Exception) -> HTTPResponse:
        raise RuntimeError("handler broke")

    @app.get("/divide")
    async def divide(request: Request) -> HTTPResponse:
        return text(str(1 / 0))

    Sentry(app, dsn=receiver.dsn)

    _, response = app.test_client.get("/divide")

    assert response.status == 500
    (event,) = validated(receiver.wait_for(1))
    assert exception_of(event)["type"] == "ZeroDivisionError"


def test_context_set_in_the_route_is_in_the_event(receiver: Receiver, make_app: Callable[..., Sanic]) -> None:
    """User, tags, extra and breadcrumbs set while handling a request go with its event."""
    app = make_app()
    sentry = Sentry(app, dsn=receiver.dsn, tags={"service": "shop"})

    @app.get("/checkout")
    async def checkout(request: Request) -> HTTPResponse:
        client = sentry.client
        assert client is not None
        client.user_context({"id": "u-42", "username": "ada"})
        client.tags_context({"cart": "c-7"})
        client.extra_context({"items": 3})
        raven.breadcrumbs.record(message="payment started", category="shop")
        raise RuntimeError("payment failed")

    _, response = app.test_client.get("/checkout")

    assert response.status == 500
    (event,) = validated(receiver.wait_for(1))
    assert event["user"]["id"] == "u-42"
    assert event["tags"]["cart"] == "c-7"
    assert event["tags"]["service"] == "shop"
    assert event["extra"]["items"] == 3
    crumbs = [c for c in event["breadcrumbs"]["values"] if c.get("category") == "shop"]
    assert [c["message"] for c in crumbs] == ["payment started"]

"""Which errors of a Sanic app are reported, with what, and that the app's responses stay its own.

Each test serves its app on a real server on a free loopback port and talks HTTP to it.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import textwrap
from collections.abc import Callable

import httpx
import raven
from raven_sanic import Sentry
from sanic.exceptions import BadRequest, NotFound, SanicException, ServerError
from sanic.request import Request
from sanic.response import HTTPResponse, text
from sanic.response import json as json_response

from sanic import Sanic
from tests.receiver import Receiver
from tests.sanic.conftest import app_with_routes, exception_of, http, validated


async def test_unhandled_exception_is_reported_with_request_data(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """A route that raises is reported once, with the request, the route name and the mechanism."""
    app = app_with_routes(make_app)
    Sentry(app, dsn=receiver.dsn)

    async with http(app) as client:
        response = await client.post(
            "/fail?page=2&q=x",
            json={"item": "book"},
            headers={"X-Trace": "t-1", "Cookie": "theme=dark"},
        )
        base_url = str(client.base_url).rstrip("/")

    assert response.status_code == 500
    (event,) = validated(receiver.wait_for(1))
    exc = exception_of(event)
    assert (exc["type"], exc["value"]) == ("ValueError", "route failed")
    assert (exc["mechanism"]["type"], exc["mechanism"]["handled"]) == ("sanic", False)
    assert exc["stacktrace"]["frames"][-1]["function"].endswith("fail")
    assert event["level"] == "error"
    assert event["transaction"] == f"{app.name}.fail"
    request = event["request"]
    assert request["url"] == f"{base_url}/fail"
    assert request["method"] == "POST"
    assert request["query_string"] == "page=2&q=x"
    assert request["headers"]["X-Trace"] == "t-1"
    assert request["headers"]["Content-Type"] == "application/json"
    assert "Cookie" not in request["headers"]
    assert (
        set(request["cookies"]) == {"theme"} and request["cookies"]["theme"] != "dark"
    )  # scrubbed
    assert request["data"] == {"item": "book"}
    assert "env" not in request  # the client's address needs send_default_pii
    assert "user" not in event


async def test_successful_requests_send_nothing(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """A route that answers normally produces no event."""
    app = app_with_routes(make_app)
    Sentry(app, dsn=receiver.dsn)

    async with http(app) as client:
        response = await client.get("/ok")

    assert (response.status_code, response.text) == (200, "fine")
    assert receiver.events == []


async def test_client_errors_are_not_reported(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """NotFound (raised or from routing), BadRequest, a 405 and a 4xx SanicException send nothing."""
    app = app_with_routes(make_app)

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

    async with http(app) as client:
        statuses = [
            (await client.get(path)).status_code
            for path in ("/missing", "/bad", "/teapot", "/nowhere")
        ]
        statuses.append((await client.delete("/ok")).status_code)
        # A 500 last: once its event is in, the requests before it were handled too.
        statuses.append((await client.get("/fail")).status_code)
        receiver.wait_for(1)

    assert statuses == [404, 400, 418, 404, 405, 500]
    (event,) = validated(receiver.events)
    assert exception_of(event)["value"] == "route failed"


async def test_server_errors_raised_on_purpose_are_reported(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """A ServerError and a SanicException of status 503 are reported: Sanic answers them with a 5xx."""
    app = make_app()

    @app.get("/server-error")
    async def server_error(request: Request) -> HTTPResponse:
        raise ServerError("database down")

    @app.get("/unavailable")
    async def unavailable(request: Request) -> HTTPResponse:
        raise SanicException("maintenance", status_code=503)

    Sentry(app, dsn=receiver.dsn)

    async with http(app) as client:
        assert (await client.get("/server-error")).status_code == 500
        assert (await client.get("/unavailable")).status_code == 503

    events = validated(receiver.wait_for(2))
    assert sorted(exception_of(e)["value"] for e in events) == ["database down", "maintenance"]


async def test_error_response_is_unchanged(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """With Raven installed, Sanic's default error responses (JSON, HTML, 404) are the same as without."""
    plain = app_with_routes(make_app)
    watched = app_with_routes(make_app)
    Sentry(watched, dsn=receiver.dsn)

    async def answers(app: Sanic) -> list[tuple[int, str, str]]:
        async with http(app) as client:
            found = []
            for path, accept in (
                ("/fail", "application/json"),
                ("/fail", "text/html"),
                ("/nowhere", "*/*"),
            ):
                response = await client.get(path, headers={"Accept": accept})
                body = re.sub(
                    r"raven[_ ]sanic[_ ][0-9a-f]{12}", "APP", response.text, flags=re.IGNORECASE
                )
                found.append((response.status_code, response.headers["content-type"], body))
            return found

    assert await answers(watched) == await answers(plain)
    assert len(validated(receiver.wait_for(2))) == 2


async def test_custom_error_handlers_keep_their_responses(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
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

    async with http(app) as client:
        handled = await client.get("/buy")
        page = await client.get("/lookup")
        receiver.wait_for(1)

    assert (handled.status_code, handled.json(), handled.headers["x-handled"]) == (
        409,
        {"error": "out of stock"},
        "stock",
    )
    assert (page.status_code, page.text, page.headers["x-handled"]) == (
        500,
        "our own 500 page",
        "keyerror",
    )
    (event,) = validated(receiver.events)
    assert exception_of(event)["type"] == "KeyError"
    assert event["transaction"] == f"{app.name}.lookup"


async def test_failing_error_handler_reports_the_original_error(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """When the app's error handler itself fails, Sanic answers 500 and the route's error is reported."""
    app = make_app()

    @app.exception(ZeroDivisionError)
    async def handler(request: Request, exception: Exception) -> HTTPResponse:
        raise RuntimeError("handler broke")

    @app.get("/divide")
    async def divide(request: Request) -> HTTPResponse:
        return text(str(1 / 0))

    Sentry(app, dsn=receiver.dsn)

    async with http(app) as client:
        response = await client.get("/divide")

    assert (response.status_code, response.text) == (
        500,
        "An error occurred while handling an error",
    )
    (event,) = validated(receiver.wait_for(1))
    assert exception_of(event)["type"] == "ZeroDivisionError"


async def test_error_in_request_middleware_is_reported(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """An app middleware that raises is reported with the request and the route it was going to."""
    app = app_with_routes(make_app)

    @app.on_request
    async def authenticate(request: Request) -> None:
        raise PermissionError("auth backend down")

    Sentry(app, dsn=receiver.dsn)

    async with http(app) as client:
        assert (await client.get("/ok?token=t")).status_code == 500

    (event,) = validated(receiver.wait_for(1))
    assert exception_of(event)["type"] == "PermissionError"
    assert event["transaction"] == f"{app.name}.ok"
    assert event["request"]["url"].endswith("/ok")


async def test_error_before_the_request_middleware_carries_the_request(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """An error raised while routing (before any middleware) is reported with the request and route."""
    app = app_with_routes(make_app)

    @app.signal("http.routing.after")
    async def routed(request: Request, **_: object) -> None:
        raise RuntimeError("routing hook broke")

    Sentry(app, dsn=receiver.dsn)

    async with http(app) as client:
        assert (await client.get("/ok?x=1")).status_code == 500

    (event,) = validated(receiver.wait_for(1))
    assert exception_of(event)["value"] == "routing hook broke"
    assert event["transaction"] == f"{app.name}.ok"
    assert event["request"]["url"].endswith("/ok")
    assert event["request"]["query_string"] == "x=1"


async def test_log_record_and_manual_capture_share_the_request(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """A logged error, a client.captureMessage and the unhandled error of one request arrive with the
    same request (the peer's address included with send_default_pii), user and transaction."""
    app = make_app()
    sentry = Sentry(app, dsn=receiver.dsn, logging=True, level=logging.ERROR, send_default_pii=True)
    shop_logger = logging.getLogger("tests.sanic.shop")

    @app.post("/checkout")
    async def checkout(request: Request) -> HTTPResponse:
        client = sentry.client
        assert client is not None
        client.user_context({"id": "u-7", "username": "ada"})
        shop_logger.error("stock low for %s", request.args.get("sku"))
        client.captureMessage("stock checked by hand")
        raise RuntimeError("out of stock")

    async with http(app) as client:
        response = await client.post(
            "/checkout?sku=A-1", json={"qty": 3}, headers={"Cookie": "theme=dark"}
        )
        base_url = str(client.base_url).rstrip("/")

    assert response.status_code == 500
    events = validated(receiver.wait_for(3))
    assert len(events) == 3
    (logged,) = [e for e in events if e.get("logger") == "tests.sanic.shop"]
    (manual,) = [
        e for e in events if e.get("logentry", {}).get("formatted") == "stock checked by hand"
    ]
    (error,) = [e for e in events if "exception" in e]
    assert logged["logentry"]["formatted"] == "stock low for A-1"
    assert exception_of(error)["value"] == "out of stock"
    request = error["request"]
    assert (request["url"], request["query_string"]) == (f"{base_url}/checkout", "sku=A-1")
    assert request["data"] == {"qty": 3}
    assert request["cookies"] == {"theme": "dark"}
    assert request["env"] == {"REMOTE_ADDR": "127.0.0.1"}
    assert error["user"] == {"id": "u-7", "username": "ada"}
    assert error["transaction"] == f"{app.name}.checkout"
    for event in (logged, manual):
        assert (event["request"], event["user"], event["transaction"]) == (
            error["request"],
            error["user"],
            error["transaction"],
        )


async def test_context_set_in_the_route_is_in_the_event(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
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

    async with http(app) as client:
        assert (await client.get("/checkout")).status_code == 500

    (event,) = validated(receiver.wait_for(1))
    assert event["user"] == {"id": "u-42", "username": "ada"}
    assert event["tags"]["cart"] == "c-7"
    assert event["tags"]["service"] == "shop"
    assert event["extra"]["items"] == 3
    crumbs = [c for c in event["breadcrumbs"]["values"] if c.get("category") == "shop"]
    assert [c["message"] for c in crumbs] == ["payment started"]


async def test_context_does_not_leak_into_the_next_request_on_a_connection(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """Two requests on one keep-alive connection: the second's event has none of the first's data."""
    app = app_with_routes(make_app)
    sentry = Sentry(app, dsn=receiver.dsn)

    @app.get("/first")
    async def first(request: Request) -> HTTPResponse:
        assert sentry.client is not None
        sentry.client.user_context({"id": "first-user"})
        sentry.client.tags_context({"step": "first"})
        raven.breadcrumbs.record(message="first crumb", category="steps")
        return text("ok")

    async with http(app, limits=httpx.Limits(max_connections=1)) as client:
        first_response = await client.get("/first")
        second_response = await client.get("/fail")

    assert first_response.headers.get("connection") != "close"
    assert second_response.status_code == 500
    (event,) = validated(receiver.wait_for(1))
    assert "user" not in event
    assert "step" not in event.get("tags", {})
    assert not [
        c for c in event.get("breadcrumbs", {}).get("values", []) if c.get("category") == "steps"
    ]
    assert event["transaction"] == f"{app.name}.fail"


async def test_error_after_a_streamed_response_started_is_reported(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """A streaming route that fails once its 200 headers are out is reported all the same."""
    app = make_app()

    @app.get("/stream")
    async def stream(request: Request) -> None:
        response = await request.respond(content_type="text/plain")
        await response.send("partial ")
        raise ConnectionResetError("upstream went away")

    Sentry(app, dsn=receiver.dsn)

    async with http(app) as client:
        async with client.stream("GET", "/stream") as response:
            status = response.status_code
            try:
                await response.aread()
            except Exception:  # the body ends early: that is how Sanic fails a started stream
                pass

    assert status == 200
    (event,) = validated(receiver.wait_for(1))
    assert exception_of(event)["type"] == "ConnectionResetError"
    assert event["transaction"] == f"{app.name}.stream"


async def test_bodies_are_capped_and_forms_parsed(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """A form body is sent as its fields; a body over ``max_request_body_size`` is not sent."""
    app = app_with_routes(make_app)
    Sentry(app, dsn=receiver.dsn, max_request_body_size="small")

    async with http(app) as client:
        await client.post("/fail", data={"name": "ada", "colour": "green"})
        receiver.wait_for(1)
        await client.post("/fail", content=b"x" * 20_000, headers={"Content-Type": "text/plain"})

    form_event, big_event = validated(receiver.wait_for(2))
    assert form_event["request"]["data"] == {"name": "ada", "colour": "green"}
    big = big_event["request"].get("data")
    assert big is None or ("x" * 100 not in json.dumps(big) and len(json.dumps(big)) < 200)


async def test_sanic_frames_are_not_in_app_and_show_their_own_lines(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """Sanic's recompiled ``handle_request`` frame is not in-app and shows its own source line
    (where it awaits the route), not a line of sanic/app.py from elsewhere."""
    app = app_with_routes(make_app)
    Sentry(app, dsn=receiver.dsn)

    async with http(app) as client:
        assert (await client.get("/fail")).status_code == 500

    (event,) = validated(receiver.wait_for(1))
    frames = exception_of(event)["stacktrace"]["frames"]
    sanic_frames = [f for f in frames if f["module"].split(".")[0] == "sanic"]
    assert sanic_frames and not any(f["in_app"] for f in sanic_frames)
    (top,) = [f for f in sanic_frames if f["function"] == "handle_request"]
    # The text Sanic compiled (test mode keeps the original method as _handle_request).
    source = textwrap.dedent(inspect.getsource(Sanic._handle_request)).splitlines()
    assert top["context_line"] == source[top["lineno"] - 1]
    assert "await" in top["context_line"]


async def test_error_log_breadcrumb_carries_no_secret_query(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """Sanic's own error log line about the request arrives with its URL's secret masked too."""
    app = app_with_routes(make_app)
    Sentry(app, dsn=receiver.dsn)
    secret = "sanic-" + "s3cr3t"  # never whole in the source lines an event carries

    async with http(app) as client:
        await client.get(f"/fail?secret={secret}&page=2")

    (event,) = validated(receiver.wait_for(1))
    assert event["request"]["query_string"] == "secret=********&page=2"
    (crumb,) = event["breadcrumbs"]["values"]
    assert crumb["category"] == "sanic.error" and "?secret=********&page=2" in crumb["message"]
    assert secret.encode() not in b"".join(request.body for request in receiver.requests)

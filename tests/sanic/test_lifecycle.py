"""The client's life with the server, configuration, install/uninstall, logging and Raven's own errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import raven
from raven.exceptions import ConfigurationError
from raven_sanic import Sentry
from sanic.request import Request
from sanic.response import HTTPResponse, text

from sanic import Sanic
from tests.receiver import Receiver
from tests.sanic.conftest import (
    app_with_routes,
    asgi_lifespan,
    exception_of,
    http,
    serve,
    validated,
)


async def test_client_lives_from_server_start_to_stop(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """No client exists before the server starts; one does while it serves; it is closed at stop."""
    app = app_with_routes(make_app)
    sentry = Sentry(app, dsn=receiver.dsn)
    assert sentry.client_for(app) is None

    async with serve(app):
        client = sentry.client_for(app)
        assert client is not None and client.is_enabled()
        assert sentry.client is client

    assert sentry.client_for(app) is None


async def test_app_listeners_can_report_at_start_and_stop(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """The client exists before the app's own start listeners run and is flushed after its stop ones."""
    app = app_with_routes(make_app)
    sentry = Sentry(app, dsn=receiver.dsn)

    @app.before_server_start
    async def warm_up(app: Sanic) -> None:
        sentry.captureMessage("warming up")

    @app.after_server_stop
    async def goodbye(app: Sanic) -> None:
        sentry.captureMessage("stopped")

    async with serve(app):
        pass

    assert sentry.client is None
    messages = [e["logentry"]["message"] for e in validated(list(receiver.events))]
    assert sorted(messages) == ["stopped", "warming up"]


def test_event_captured_just_before_stop_is_delivered_by_then(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """sanic-testing's client stops the server right after the response: the event is already in."""
    app = app_with_routes(make_app)
    Sentry(app, dsn=receiver.dsn)

    _, response = app.test_client.get("/fail")

    assert response.status == 500
    (event,) = validated(list(receiver.events))  # no waiting: the server's stop flushed it
    assert exception_of(event)["value"] == "route failed"


async def test_given_client_is_flushed_not_closed(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """A client passed in is used as is and still works after the server stopped."""
    app = app_with_routes(make_app)
    client = raven.Client(receiver.dsn)
    try:
        sentry = Sentry(app, client=client)
        async with http(app) as http_client:
            assert sentry.client_for(app) is client
            assert (await http_client.get("/fail")).status_code == 500
        receiver.wait_for(1)
        client.captureMessage("still open")
        first, second = validated(receiver.wait_for(2))
    finally:
        client.close()
    assert exception_of(first)["type"] == "ValueError"
    assert second["logentry"]["message"] == "still open"


async def test_without_a_dsn_nothing_is_sent_and_the_app_works(
    monkeypatch: pytest.MonkeyPatch, make_app: Callable[..., Sanic]
) -> None:
    """No DSN anywhere: the client is disabled and the routes answer as usual."""
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    app = app_with_routes(make_app)
    sentry = Sentry(app)

    async with http(app) as client:
        assert (await client.get("/fail")).status_code == 500
        assert (await client.get("/ok")).text == "fine"
        enabled = sentry.client_for(app)
        assert enabled is not None and not enabled.is_enabled()


async def test_dsn_and_options_come_from_the_app_config(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """``SENTRY_DSN`` and ``SENTRY_CONFIG`` in ``app.config`` configure the client."""
    app = app_with_routes(make_app)
    app.config.SENTRY_DSN = receiver.dsn
    app.config.SENTRY_CONFIG = {"environment": "staging", "release": "shop@1.2.3"}
    Sentry(app)

    async with http(app) as client:
        await client.get("/fail")

    (event,) = validated(receiver.wait_for(1))
    assert (event["environment"], event["release"]) == ("staging", "shop@1.2.3")


async def test_a_bad_option_stops_the_server_from_starting(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """A wrong client option fails loudly when the server starts, naming the option."""
    app = app_with_routes(make_app)
    Sentry(app, dsn=receiver.dsn, sample_rate="often")

    with pytest.raises(ConfigurationError, match="sample_rate"):
        async with serve(app):
            pass


async def test_install_twice_then_uninstall(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """init_app twice reports an error once; after uninstall the next error is not reported."""
    app = app_with_routes(make_app)
    sentry = Sentry(app, dsn=receiver.dsn)
    sentry.init_app(app)

    async with http(app) as client:
        await client.get("/fail")
        receiver.wait_for(1)
        sentry.uninstall(app)
        assert (await client.get("/fail")).status_code == 500
        assert sentry.client_for(app) is None

    (event,) = validated(list(receiver.events))
    assert exception_of(event)["value"] == "route failed"


async def test_one_extension_for_two_apps(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """``init_app`` on two apps (factory pattern): each reports its own errors with its own route names."""
    sentry = Sentry(dsn=receiver.dsn)
    shop, admin = app_with_routes(make_app), app_with_routes(make_app)
    sentry.init_app(shop)
    sentry.init_app(admin)

    async with http(shop) as shop_client, http(admin) as admin_client:
        await shop_client.get("/fail")
        await admin_client.get("/fail")
        assert sentry.client_for(shop) is not sentry.client_for(admin)

    events = validated(receiver.wait_for(2))
    assert sorted(e["transaction"] for e in events) == sorted(
        [f"{shop.name}.fail", f"{admin.name}.fail"]
    )


async def test_manual_capture_carries_the_request(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """``sentry.captureMessage`` inside a route sends the current request's data and route name."""
    app = app_with_routes(make_app)
    sentry = Sentry(app, dsn=receiver.dsn)

    @app.post("/order")
    async def order(request: Request) -> HTTPResponse:
        sentry.captureMessage("order queued late", level="warning")
        return text("queued")

    async with http(app) as client:
        assert (await client.post("/order?id=7", json={"sku": "A1"})).text == "queued"

    (event,) = validated(receiver.wait_for(1))
    assert event["level"] == "warning"
    assert event["transaction"] == f"{app.name}.order"
    assert event["request"]["query_string"] == "id=7"
    assert event["request"]["data"] == {"sku": "A1"}


async def test_logging_reports_records_and_no_duplicate_for_errors(
    receiver: Receiver, make_app: Callable[..., Sanic]
) -> None:
    """``logging=True`` sends error records as events; a failing route is still one event, not
    two (Sanic's own log line about it is skipped); the handler is gone once the server stopped."""
    app = app_with_routes(make_app)
    Sentry(app, dsn=receiver.dsn, logging=True, level=logging.ERROR)
    shop_logger = logging.getLogger("tests.sanic.shop")

    @app.get("/low-stock")
    async def low_stock(request: Request) -> HTTPResponse:
        shop_logger.warning("below the level: not sent")
        shop_logger.error("stock low: %d left", 3)
        return text("ok")

    @app.exception(LookupError)
    async def not_found(request: Request, exception: Exception) -> HTTPResponse:
        shop_logger.exception("lookup failed")  # the app's own record of an error it handled
        return text("gone", status=404)

    @app.get("/lookup")
    async def lookup(request: Request) -> HTTPResponse:
        raise LookupError("no such item")

    root_handlers = list(logging.getLogger().handlers)
    async with http(app) as client:
        await client.get("/low-stock")
        await client.get("/fail")
        assert (await client.get("/lookup")).status_code == 404
    assert logging.getLogger().handlers == root_handlers

    events = validated(receiver.wait_for(3))
    assert len(receiver.events) == 3
    by_message = {e["logentry"]["formatted"]: e for e in events if "logentry" in e}
    stock, lookup_failed = by_message["stock low: 3 left"], by_message["lookup failed"]
    assert stock["logger"] == "tests.sanic.shop"
    assert stock["transaction"] == f"{app.name}.low_stock"
    assert exception_of(lookup_failed)["value"] == "no such item"
    (error,) = [e for e in events if e.get("logger") != "tests.sanic.shop"]
    assert exception_of(error)["value"] == "route failed"


class _BrokenClient(raven.Client):
    """A client whose capture fails: Raven's own error must not reach the app."""

    def captureException(self, exc_info: Any = None, **kwargs: Any) -> str | None:
        raise RuntimeError("raven is broken")


@pytest.mark.raven_errors_expected
async def test_raven_errors_are_logged_and_the_response_is_unchanged(
    receiver: Receiver, make_app: Callable[..., Sanic], caplog: pytest.LogCaptureFixture
) -> None:
    """If capturing fails, the app still answers its own 500, and the failure is logged on raven.sanic."""
    app = app_with_routes(make_app)
    client = _BrokenClient(receiver.dsn)
    try:
        Sentry(app, client=client)
        async with http(app) as http_client:
            response = await http_client.get("/fail")
            ok = await http_client.get("/ok")
    finally:
        client.close()

    assert response.status_code == 500
    assert "Internal Server Error" in response.text
    assert ok.text == "fine"
    assert any(r.name == "raven.sanic" and "capturing" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("pii", [False, True])
async def test_asgi_mode_reports_errors(
    receiver: Receiver, make_app: Callable[..., Sanic], pii: bool
) -> None:
    """Served as an ASGI app, Sanic still gets a client at startup and its 500s are reported; the
    client's address is in the request only with send_default_pii."""
    app = app_with_routes(make_app)
    sentry = Sentry(app, dsn=receiver.dsn, send_default_pii=pii)

    async with asgi_lifespan(app):
        assert sentry.client_for(app) is not None
        transport = httpx.ASGITransport(app=app, client=("10.0.0.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
            response = await client.get("/fail?x=1")
            ok = await client.get("/ok")

    assert (response.status_code, ok.text) == (500, "fine")
    assert sentry.client_for(app) is None
    (event,) = validated(receiver.wait_for(1))
    assert event["transaction"] == f"{app.name}.fail"
    assert event["request"]["url"] == "http://shop.test/fail"
    assert event["request"].get("env") == ({"REMOTE_ADDR": "10.0.0.7"} if pii else None)

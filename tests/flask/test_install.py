"""Installing the extension: app factories, several apps, configuration, and undoing it all."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
import raven
from raven.exceptions import ConfigurationError
from raven_flask import Sentry

from flask import Flask
from tests.flask.apps import create_app, settle
from tests.receiver import Receiver

MakeApp = Callable[..., Flask]
Install = Callable[..., Sentry]


def test_sentry_app_registers_the_extension(receiver: Receiver, make_app: MakeApp) -> None:
    """Sentry(app) installs at once and registers itself in app.extensions["sentry"]."""
    app = make_app()
    sentry = Sentry(app)
    try:
        assert app.extensions["sentry"] is sentry
        assert sentry.client.is_enabled()
        app.test_client().get("/boom")
        (event,) = settle(receiver, sentry.client)
        assert event["exception"]["values"][-1]["value"] == "boom"
    finally:
        sentry.uninit_app(app)


def test_init_app_twice_reports_once_and_uninit_app_undoes_it(
    receiver: Receiver, make_app: MakeApp
) -> None:
    """A second init_app changes nothing (one event); uninit_app removes every hook (no event)."""
    app = make_app()
    sentry = Sentry()
    sentry.init_app(app)
    client = sentry.client
    sentry.init_app(app)
    assert sentry.client is client
    app.test_client().get("/boom")
    (event,) = settle(receiver, client)
    assert event["exception"]["values"][-1]["value"] == "boom"

    other = raven.Client(dsn=receiver.dsn)
    handlers = list(app.logger.handlers)
    sentry.uninit_app(app)
    try:
        assert "sentry" not in app.extensions
        assert app.wsgi_app == Flask.wsgi_app.__get__(app)
        assert app.logger.handlers == handlers
        response = app.test_client().get("/boom")
        assert response.status_code == 500 and "X-Sentry-ID" not in response.headers
        assert [e["event_id"] for e in settle(receiver, other)] == [event["event_id"]]
    finally:
        other.close()


def test_a_second_extension_replaces_the_first(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """Installing another Sentry on an app uninstalls the first: still one event per error."""
    app = make_app()
    first = install(app)
    second = install(app)
    assert app.extensions["sentry"] is second
    app.test_client().get("/boom")
    (event,) = settle(receiver, second.client)
    assert event["exception"]["values"][-1]["value"] == "boom"
    assert first.client is None


def test_app_factory_two_apps_two_dsns(receiver: Receiver, second_receiver: Receiver) -> None:
    """One Sentry, two apps from the factory: each reports to its own DSN with its own settings."""
    sentry = Sentry()
    shop = create_app({"SENTRY_DSN": receiver.dsn, "SENTRY_CONFIG": {"release": "shop@1"}})
    blog = create_app({"SENTRY_DSN": second_receiver.dsn, "SENTRY_CONFIG": {"release": "blog@7"}})
    sentry.init_app(shop)
    sentry.init_app(blog, logging=True, level=logging.ERROR)
    try:
        assert shop.extensions["sentry"] is blog.extensions["sentry"] is sentry
        with shop.app_context():
            shop_client = sentry.client
        with blog.app_context():
            blog_client = sentry.client
        assert shop_client is not blog_client
        # Apps from one factory share their logger (it is named after the import name): the
        # handler blog asked for must not report shop's records.
        assert shop.logger is blog.logger

        shop_response = shop.test_client().get("/boom")
        blog_response = blog.test_client().get("/shop/checkout")
        assert blog.test_client().get("/log").status_code == 200
        assert shop.test_client().get("/log").status_code == 200

        (shop_event,) = settle(receiver, shop_client)
        blog_events = settle(second_receiver, blog_client)
        assert shop_event["release"] == "shop@1"
        assert shop_event["exception"]["values"][-1]["value"] == "boom"
        assert shop_response.headers["X-Sentry-ID"] == shop_event["event_id"]
        blog_error, blog_log = sorted(blog_events, key=lambda e: "exception" not in e)
        assert {blog_error["release"], blog_log["release"]} == {"blog@7"}
        assert blog_error["exception"]["values"][-1]["value"] == "payment backend down"
        assert blog_response.headers["X-Sentry-ID"] == blog_error["event_id"]
        assert blog_log["logentry"]["formatted"] == "an error from the view"
    finally:
        sentry.uninit_app(shop)
        sentry.uninit_app(blog)


def test_dsn_precedence(receiver: Receiver, second_receiver: Receiver, install: Install) -> None:
    """init_app(dsn) beats Sentry(dsn), which beats SENTRY_CONFIG["dsn"], which beats SENTRY_DSN."""
    unused = "http://public@127.0.0.1:9/1"
    cases: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]] = [
        ({"SENTRY_DSN": receiver.dsn}, {}, {}, receiver.dsn),
        ({"SENTRY_DSN": unused, "SENTRY_CONFIG": {"dsn": receiver.dsn}}, {}, {}, receiver.dsn),
        (
            {"SENTRY_DSN": unused, "SENTRY_CONFIG": {"dsn": unused}},
            {"dsn": receiver.dsn},
            {},
            receiver.dsn,
        ),
        (
            {"SENTRY_DSN": unused},
            {"dsn": unused},
            {"dsn": second_receiver.dsn},
            second_receiver.dsn,
        ),
    ]
    for config, sentry_kwargs, init_kwargs, expected in cases:
        app = create_app(config)
        sentry = Sentry(**sentry_kwargs)
        sentry.init_app(app, **init_kwargs)
        try:
            assert sentry.client.get_public_dsn("http") == expected, (
                config,
                sentry_kwargs,
                init_kwargs,
            )
        finally:
            sentry.uninit_app(app)


def test_dsn_from_the_environment(
    receiver: Receiver, install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without SENTRY_DSN in the config, the SENTRY_DSN environment variable is used."""
    monkeypatch.setenv("SENTRY_DSN", receiver.dsn)
    app = create_app()
    sentry = install(app)
    app.test_client().get("/boom")
    (event,) = settle(receiver, sentry.client)
    assert event["exception"]["values"][-1]["value"] == "boom"


def test_no_dsn_means_disabled_and_harmless(install: Install) -> None:
    """Without any DSN the app runs as before: 500s, helpers return None, nothing fails."""
    app = create_app()
    sentry = install(app)
    assert not sentry.client.is_enabled()
    response = app.test_client().get("/boom")
    assert response.status_code == 500 and "X-Sentry-ID" not in response.headers
    assert app.test_client().get("/message").get_json() == {
        "event_id": None,
        "g": None,
        "last": None,
    }
    assert sentry.captureMessage("nowhere") is None


def test_sentry_config_and_include_paths(make_app: MakeApp, install: Install) -> None:
    """SENTRY_CONFIG holds client options; include_paths defaults to the app's import name."""
    app = make_app(SENTRY_CONFIG={"environment": "staging", "tags": {"team": "web"}})
    client = install(app).client
    assert client.options.environment == "staging"
    assert client.options.tags == {"team": "web"}
    assert client.options.include_paths == ("tests.flask.apps",)

    other = make_app(SENTRY_CONFIG={"include_paths": ["shop"]})
    assert install(other).client.options.include_paths == ("shop",)


@pytest.mark.parametrize(
    "config",
    [
        {"SENTRY_CONFIG": ["release", "1"]},
        {"SENTRY_CONFIG": {"no_such_option": True}},
        {"SENTRY_CONFIG": {"sample_rate": "often"}},
        {"SENTRY_USER_ATTRS": "plan"},
    ],
)
def test_bad_configuration_fails_at_init_app(make_app: MakeApp, config: dict[str, Any]) -> None:
    """A wrong SENTRY_CONFIG or SENTRY_USER_ATTRS raises ConfigurationError at init_app, naming it."""
    app = make_app(**config)
    with pytest.raises(ConfigurationError):
        Sentry(app)
    assert "sentry" not in app.extensions


@pytest.mark.parametrize(
    ("debug", "wrap_wsgi", "wrapped"),
    [
        (False, None, True),
        (True, None, False),
        (True, True, True),
        (False, False, False),
    ],
)
def test_wrap_wsgi_defaults_to_off_in_debug_mode(
    make_app: MakeApp, install: Install, debug: bool, wrap_wsgi: bool | None, wrapped: bool
) -> None:
    """wrap_wsgi=None wraps app.wsgi_app unless the app is in debug mode; True/False force it."""
    app = make_app(DEBUG=debug)
    install(app, wrap_wsgi=wrap_wsgi)
    assert (app.wsgi_app != Flask.wsgi_app.__get__(app)) is wrapped


def test_shared_client_and_client_cls(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """client= is shared by every app and never closed by uninit_app; client_cls builds the client."""
    shared = raven.Client(dsn=receiver.dsn)
    try:
        first, second = make_app(), make_app()
        sentry = install(first, client=shared)
        install(second, sentry)
        assert sentry.client is shared
        sentry.uninit_app(first)
        assert shared.is_enabled()
        second.test_client().get("/boom")
        (event,) = settle(receiver, shared)
        assert event["exception"]["values"][-1]["value"] == "boom"
    finally:
        shared.close()

    class TaggingClient(raven.Client):
        def send(self, **data: Any) -> str | None:
            data["tags"] = {**data.get("tags", {}), "via": "client_cls"}
            return super().send(**data)

    app = make_app()
    sentry = install(app, client_cls=TaggingClient)
    assert isinstance(sentry.client, TaggingClient)
    app.test_client().get("/boom")
    (event,) = [
        e
        for e in settle(receiver, sentry.client)
        if e["tags"].get("via") == "client_cls" and "exception" in e
    ]
    assert event["exception"]["values"][-1]["value"] == "boom"


class _BrokenClient(raven.Client):
    """A client whose capture itself fails, to show the app never notices."""

    def captureException(self, *args: Any, **kwargs: Any) -> str | None:
        raise RuntimeError("raven is broken")


@pytest.mark.raven_errors_expected
def test_a_failing_raven_never_breaks_the_app(
    make_app: MakeApp, install: Install, raven_internal_errors: Any
) -> None:
    """If capturing fails, the app's own 500 page still goes out and the failure is logged."""
    app = make_app()

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[str, int]:
        return "our own error page", 500

    install(app, client_cls=_BrokenClient)
    response = app.test_client().get("/boom")
    assert (response.status_code, response.get_data(as_text=True)) == (500, "our own error page")
    assert "X-Sentry-ID" not in response.headers
    assert [r.name for r in raven_internal_errors.records] == ["raven.flask"]
    assert "capturing the request's exception" in raven_internal_errors.records[0].getMessage()

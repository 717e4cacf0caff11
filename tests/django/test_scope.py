"""Every event captured while Django handles a request (the unhandled error, a record logged through
SentryHandler, a capture in the view) carries the same request, user and transaction, under WSGI
and ASGI; the get_response hook that puts them in the request's scope installs and uninstalls."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.handlers.base import BaseHandler
from django.test import RequestFactory
from raven import hooks
from raven_django import DjangoClient, _scope, signals

from tests.django.project.models import Member

pytestmark = pytest.mark.django_db(databases="__all__")

VIEWS_LOGGER = "tests.django.project.views"


class SegmentClient(DjangoClient):
    """A SENTRY_CLIENT subclass that adds to the user it finds."""

    def get_user_info(self, request: Any) -> dict[str, Any] | None:
        return {**(super().get_user_info(request) or {}), "segment": "beta"}


class BrokenUserClient(DjangoClient):
    """A SENTRY_CLIENT subclass whose user lookup fails."""

    def get_user_info(self, request: Any) -> dict[str, Any] | None:
        raise RuntimeError("no user today")


@pytest.fixture
def alice() -> Member:
    return Member.objects.create_user("alice", "alice@example.com", "pw")


@pytest.fixture
def pii(settings: Any, sentry: Any) -> None:
    settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, "send_default_pii": True}


def _three(events: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(logged record, manual capture, unhandled error) among the events of one request."""
    (logged,) = [e for e in events if e.get("logger") == VIEWS_LOGGER]
    (manual,) = [
        e for e in events if e.get("logentry", {}).get("formatted") == "captured in the view"
    ]
    (error,) = [e for e in events if "exception" in e]
    assert logged["logentry"]["formatted"] == "could not frobnicate widget"
    assert error["exception"]["values"][-1]["value"] == "after logging and capturing"
    return logged, manual, error


def _assert_same_request(
    events: list[dict[str, Any]], path: str, user: dict[str, Any] | None
) -> None:
    logged, manual, error = _three(events)
    assert error["request"]["url"] == f"http://testserver/{path}/"
    assert error["request"]["query_string"] == "q=1"
    assert "theme" in error["request"]["cookies"]  # a dict (values masked), from the Cookie header
    assert "Cookie" not in error["request"].get("headers", {})
    assert error["transaction"] == f"/{path}/"  # the URL pattern
    assert error.get("user") == user
    for event in (logged, manual):
        assert event["request"] == error["request"]
        assert event.get("user") == user
        assert event["transaction"] == error["transaction"]


def test_log_record_and_capture_in_a_view_carry_the_request(
    pii: None, web: Any, alice: Member, received: Any
) -> None:
    """A logged error and a manual capture in a sync view carry the request, user and transaction of its error."""
    web.force_login(alice)
    web.cookies["theme"] = "dark"
    assert web.get("/log-capture-boom/?q=1").status_code == 500
    _assert_same_request(
        received(3),
        "log-capture-boom",
        {
            "id": str(alice.pk),
            "username": "alice",
            "email": "alice@example.com",
            "ip_address": "127.0.0.1",
        },
    )


@pytest.mark.django_db(transaction=True, databases="__all__")  # the ASGI threads write
async def test_log_record_and_capture_in_an_async_view_carry_the_request(
    pii: None, aweb: Any, received: Any
) -> None:
    """Under ASGI, a logged error and a manual capture in an async view carry the request, user and transaction of its error."""
    alice = await sync_to_async(Member.objects.create_user)("alice", "alice@example.com", "pw")
    await sync_to_async(aweb.force_login)(alice)
    aweb.cookies["theme"] = "dark"
    assert (await aweb.get("/async-log-capture-boom/?q=1")).status_code == 500
    _assert_same_request(
        received(3),
        "async-log-capture-boom",
        {
            "id": str(alice.pk),
            "username": "alice",
            "email": "alice@example.com",
            "ip_address": "127.0.0.1",
        },
    )


@pytest.mark.django_db(transaction=True, databases="__all__")  # the ASGI threads write
async def test_log_record_in_a_sync_view_under_asgi_carries_the_request(
    aweb: Any, received: Any
) -> None:
    """Under ASGI, a sync view (run through sync_to_async) sees its request's scope too."""
    aweb.cookies["theme"] = "dark"
    assert (await aweb.get("/log-capture-boom/?q=1")).status_code == 500
    _assert_same_request(received(3), "log-capture-boom", None)  # anonymous


def test_get_user_info_of_a_sentry_client_feeds_every_event(
    settings: Any, sentry: Any, web: Any, alice: Member, received: Any
) -> None:
    """The get_user_info of a SENTRY_CLIENT subclass gives the user of every event of the request."""
    settings.SENTRY_CLIENT = "tests.django.test_scope.SegmentClient"
    web.force_login(alice)
    web.cookies["theme"] = "dark"
    web.get("/log-capture-boom/?q=1")
    _assert_same_request(received(3), "log-capture-boom", {"id": str(alice.pk), "segment": "beta"})


@pytest.mark.raven_errors_expected
def test_failing_lazy_value_is_logged_and_left_out(
    settings: Any, sentry: Any, web: Any, received: Any, raven_internal_errors: Any
) -> None:
    """A user lookup that raises leaves the user out of the event (request and transaction stay), logged on raven.django."""
    settings.SENTRY_CLIENT = "tests.django.test_scope.BrokenUserClient"
    web.get("/boom/")
    (event,) = received(1)
    assert "user" not in event and event["transaction"] == "/boom/" and event["request"]["url"]
    (record,) = raven_internal_errors.records
    assert (
        record.name == "raven.django"
        and record.getMessage() == "raven.django: reading a request's data failed"
    )
    assert "no user today" in str(record.exc_info[1])


def test_request_keyword_outside_a_request(sentry: Any, alice: Member, received: Any) -> None:
    """raven-python's request=: an HttpRequest gives a capture its request, user and transaction; a dict is the request."""
    request = RequestFactory().get("/items/7/", {"q": "1"}, HTTP_COOKIE="theme=dark")
    request.user = alice
    sentry.captureMessage("with an HttpRequest", request=request)
    sentry.captureMessage(
        "with a dict", request={"url": "http://example.com/given", "method": "POST"}
    )
    sentry.captureMessage("without")
    by_message = {e["logentry"]["formatted"]: e for e in received(3)}
    given = by_message["with an HttpRequest"]
    assert given["request"]["url"] == "http://testserver/items/7/"
    assert list(given["request"]["cookies"]) == ["theme"]
    assert (given["user"], given["transaction"]) == ({"id": str(alice.pk)}, "/items/7/")
    assert by_message["with a dict"]["request"] == {
        "url": "http://example.com/given",
        "method": "POST",
    }
    assert "request" not in by_message["without"] and "user" not in by_message["without"]


def test_get_response_hook_is_idempotent_and_undoable(sentry: Any, web: Any, received: Any) -> None:
    """Installed twice, get_response is wrapped once; after uninstall it is Django's own and a logged
    error carries no request; installed again, it does."""
    original = _scope._originals["sync"]
    try:
        signals.install()
        signals.install()
        assert hooks.is_installed(_scope.HOOK)
        assert BaseHandler.get_response.__wrapped__ is original  # type: ignore[attr-defined]
        web.get("/log-error/")
        signals.uninstall()
        assert not hooks.is_installed(_scope.HOOK)
        assert BaseHandler.get_response is original and not hasattr(
            BaseHandler.get_response_async, "__wrapped__"
        )
        web.get("/log-error/?after=uninstall")
    finally:
        signals.install()
    web.get("/log-error/?after=install")
    first, after_uninstall, after_install = sorted(received(3), key=lambda e: e["timestamp"])
    assert first["request"]["url"] == "http://testserver/log-error/"
    assert "request" not in after_uninstall and "transaction" not in after_uninstall
    assert after_install["request"]["query_string"] == "after=install"

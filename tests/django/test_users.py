"""The user of each request (and only that user) is in its events; context never leaks between
requests, under WSGI threads and under ASGI."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient, Client
from raven_django import get_client

from tests.django.project import views
from tests.django.project.models import Member

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def alice() -> Member:
    return Member.objects.create_user("alice", "alice@example.com", "pw")


def test_only_the_user_id_without_send_default_pii(web: Any, alice: Member, received: Any) -> None:
    """An authenticated user (loaded by Raven) is reported by id only: no username, email or IP address."""
    web.force_login(alice)
    web.get("/boom/", HTTP_X_FORWARDED_FOR="203.0.113.7")  # the view never touches request.user
    (event,) = received(1)
    assert event["user"] == {"id": str(alice.pk)}
    assert "REMOTE_ADDR" not in event["request"].get("env", {})
    assert "203.0.113.7" not in str(event["user"])


def test_email_and_ip_only_with_send_default_pii(
    settings: Any, sentry: Any, web: Any, alice: Member, received: Any
) -> None:
    """With send_default_pii the username (USERNAME_FIELD "handle"), email (EMAIL_FIELD "contact_email")
    and IP address are added, and the request's env has the peer's address."""
    settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, "send_default_pii": True}
    web.force_login(alice)
    web.get("/boom/")
    (event,) = received(1)
    assert event["user"] == {
        "id": str(alice.pk),
        "username": "alice",
        "email": "alice@example.com",
        "ip_address": "127.0.0.1",
    }
    assert event["request"]["env"]["REMOTE_ADDR"] == "127.0.0.1"


def test_ip_address_is_the_first_forwarded_address(
    settings: Any, sentry: Any, web: Any, received: Any
) -> None:
    """The first X-Forwarded-For address is the user's IP (anonymous users get only the IP)."""
    settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, "send_default_pii": True}
    web.get("/boom/", HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.1")
    (event,) = received(1)
    assert event["user"] == {"ip_address": "203.0.113.7"}


def test_no_user_without_authentication_middleware(settings: Any, web: Any, received: Any) -> None:
    """Without AuthenticationMiddleware there is no request.user: the event simply has no user."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "auth" not in m]
    web.get("/boom/")
    (event,) = received(1)
    assert "user" not in event


@pytest.mark.django_db(transaction=True, databases="__all__")  # the ASGI threads write
async def test_user_is_not_loaded_from_async_code(aweb: Any, alice: Member, received: Any) -> None:
    """A capture made in async code does not query for a user Django has not loaded (nor log an error)."""
    await sync_to_async(aweb.force_login)(alice)
    response = await aweb.get("/async-capture/")
    (event,) = received(1)
    assert response.content.decode() == event["event_id"]
    assert "user" not in event
    assert event["request"]["url"] == "http://testserver/async-capture/"


@pytest.mark.django_db(transaction=True, databases="__all__")  # the ASGI threads write
async def test_user_loaded_by_auser_is_reported_from_async_code(
    aweb: Any, alice: Member, received: Any
) -> None:
    """After the view awaited request.auser(), an async capture reports that user."""
    await sync_to_async(aweb.force_login)(alice)
    await aweb.get("/async-capture/?auser=1")
    (event,) = received(1)
    assert event["user"] == {"id": str(alice.pk)}


def test_failing_user_lookup_leaves_the_request_and_its_transaction_alone(
    settings: Any, web: Any, alice: Member, received: Any
) -> None:
    """A capture inside the app's atomic block whose user lookup fails: no user, no error, the transaction goes on."""
    backend = "tests.django.project.backends.BrokenBackend"
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", backend]
    web.force_login(alice, backend=backend)
    response = web.get("/atomic-capture/")
    (event,) = received(1)
    assert response.status_code == 200 and response.content.decode() == f"2 {event['event_id']}"
    assert "user" not in event
    assert "table_that_does_not_exist" not in str(event.get("breadcrumbs"))


def test_site_tag_from_the_sites_framework(web: Any, received: Any) -> None:
    """With django.contrib.sites the current site's name is the "site" tag."""
    from django.contrib.sites.models import Site

    Site.objects.update_or_create(
        id=1, defaults={"domain": "testserver", "name": "Raven Test Site"}
    )
    web.get("/boom/")
    (event,) = received(1)
    assert event["tags"]["site"] == "Raven Test Site"


def test_site_option_wins_over_the_sites_framework(
    settings: Any, sentry: Any, web: Any, received: Any
) -> None:
    """RAVEN_CONFIG's "site" option is the site tag when set."""
    settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, "site": "configured-site"}
    web.get("/boom/")
    (event,) = received(1)
    assert event["tags"]["site"] == "configured-site"


def test_context_does_not_leak_between_wsgi_requests(web: Any, received: Any) -> None:
    """Tags, user and breadcrumbs a request set are gone for the next request (and after it)."""
    assert web.get("/set-context/").status_code == 200
    assert get_client().context.get() == {}
    web.get("/boom/")
    (event,) = received(1)
    assert "leaky" not in event["tags"] and "user" not in event
    assert not [
        c
        for c in event.get("breadcrumbs", {}).get("values", [])
        if c.get("message") == "leaky crumb"
    ]


async def test_context_does_not_leak_between_asgi_requests(aweb: Any, received: Any) -> None:
    """Under ASGI, too, a request's context is gone for the next request."""
    assert (await aweb.get("/set-context/")).status_code == 200
    await aweb.get("/async-boom/")
    (event,) = received(1)
    assert "leaky" not in event["tags"] and "user" not in event
    assert not [
        c
        for c in event.get("breadcrumbs", {}).get("values", [])
        if c.get("message") == "leaky crumb"
    ]


def _make_users(count: int) -> list[Member]:
    return [
        Member.objects.create_user(f"user{i:03d}", f"user{i:03d}@example.com") for i in range(count)
    ]


def _assert_only_own_user(events: list[dict[str, Any]], users: list[Member]) -> None:
    by_id = {str(u.pk): u for u in users}
    seen = []
    for event in events:
        assert set(event["user"]) == {"id"}
        name = by_id[event["user"]["id"]].handle
        seen.append(name)
        assert event["exception"]["values"][-1]["value"] == f"boom for {name}"
        assert event["tags"]["who"] == name
        crumbs = [
            c["message"] for c in event["breadcrumbs"]["values"] if c.get("category") == "test"
        ]
        assert crumbs == [f"crumb of {name}"]
    assert sorted(seen) == sorted(u.handle for u in users)


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_100_concurrent_wsgi_requests_each_report_only_their_user(
    sentry: Any, received: Any, monkeypatch: Any
) -> None:
    """100 threads, each a different logged-in user, all inside the view at once: each event has only its user."""
    users = _make_users(100)
    clients = []
    for user in users:
        client = Client(raise_request_exception=False)
        client.force_login(user)
        clients.append(client)
    monkeypatch.setattr(views, "GATE", threading.Barrier(len(clients), timeout=30))

    def hit(client: Client) -> int:
        try:
            return int(client.get("/whoami-boom/").status_code)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(clients)) as pool:
        assert list(pool.map(hit, clients)) == [500] * len(clients)
    _assert_only_own_user(received(len(users)), users)


@pytest.mark.django_db(transaction=True, databases="__all__")
async def test_100_concurrent_asgi_requests_each_report_only_their_user(
    sentry: Any, received: Any, monkeypatch: Any
) -> None:
    """100 concurrent ASGI requests of different users, all inside the async view at once: each event has only its user."""
    users = await sync_to_async(_make_users)(100)
    clients = []
    for user in users:
        client = AsyncClient(raise_request_exception=False)
        await sync_to_async(client.force_login)(user)
        clients.append(client)
    monkeypatch.setattr(views, "ASYNC_GATE", asyncio.Barrier(len(clients)))
    responses = await asyncio.wait_for(
        asyncio.gather(*(c.get("/async-whoami-boom/") for c in clients)), 60
    )
    assert [r.status_code for r in responses] == [500] * len(clients)
    _assert_only_own_user(received(len(users)), users)

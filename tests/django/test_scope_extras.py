"""Feature flags and attachments set in one Django request never reach another request's error
(Django's test client; two requests at the same time, each in its own thread)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.django.project import urls_scope_extras
from tests.receiver import Receiver

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.django.project.urls_scope_extras"


def _flags(event: dict[str, Any]) -> list[str]:
    return [v["flag"] for v in event["contexts"].get("flags", {}).get("values", [])]


def _files(receiver: Receiver, event: dict[str, Any]) -> list[tuple[str, bytes]]:
    return [
        (a["headers"]["filename"], a["payload"])
        for a in receiver.attachments
        if a["event_id"] == event["event_id"]
    ]


def test_a_request_starts_with_no_flags_or_attachments(
    sentry: Any, web: Any, received: Callable[[int], list[dict[str, Any]]], receiver: Receiver
) -> None:
    """A request that succeeded leaves nothing behind: the next request's error carries only
    its own flag and attachment."""
    assert web.get("/work/first/").status_code == 200
    assert web.get("/work/second/?fail=1").status_code == 500
    (event,) = received(1)
    assert _flags(event) == ["flag-second"]
    assert _files(receiver, event) == [("second.log", b"log of second")]


def test_two_concurrent_requests_keep_their_own(
    sentry: Any, received: Callable[[int], list[dict[str, Any]]], receiver: Receiver
) -> None:
    """Two requests in flight at once each fail with only their own flag and attachment."""
    from django.test import Client

    urls_scope_extras.BARRIER[:] = [threading.Barrier(2)]
    statuses: dict[str, int] = {}

    def call(name: str) -> None:
        client = Client(raise_request_exception=False)
        statuses[name] = client.get(f"/work/{name}/?fail=1&together=1").status_code

    threads = [threading.Thread(target=call, args=(name,)) for name in ("alpha", "beta")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == {"alpha": 500, "beta": 500}
    for event in received(2):
        name = event["exception"]["values"][-1]["value"]
        assert _flags(event) == [f"flag-{name}"]
        assert _files(receiver, event) == [(f"{name}.log", f"log of {name}".encode())]

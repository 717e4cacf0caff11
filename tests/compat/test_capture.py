"""``capture(...)`` as raven-python 6.10 was called: ``data=`` with its keys and interface names,
``stack=`` as a list of frames, frames given in ``data`` marked in_app, a top-level message."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from raven.utils.stacks import iter_stack_frames

from .conftest import Harness

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_dotted_interface_names_and_site(sentry: Harness) -> None:
    """``sentry.interfaces.*`` keys and ``site`` in ``data`` arrive as Sentry's keys and the
    ``site`` tag."""
    client = sentry.client()
    client.capture(
        "raven.events.Message",
        message="checkout failed",
        data={
            "site": "shop-eu",
            "sentry.interfaces.Http": {"url": "http://shop/pay", "method": "POST"},
            "sentry.interfaces.User": {"id": "42"},
        },
    )
    event = sentry.event()
    assert event["tags"]["site"] == "shop-eu"
    assert event["request"]["url"] == "http://shop/pay" and event["user"]["id"] == "42"
    assert event["message"] == "checkout failed"  # top-level, as raven-python sent it


def test_exception_built_by_hand_gets_in_app(sentry: Harness) -> None:
    """An ``exception`` given in ``data`` is sent, its frames marked in_app by the client's
    include_paths."""
    client = sentry.client(include_paths=["shop"])
    frames: list[dict[str, Any]] = [
        {"module": "django.core.handlers", "function": "get_response", "lineno": 10},
        {"module": "shop.views", "function": "pay", "lineno": 3},
    ]
    client.capture(
        "raven.events.Message",
        message="declined",
        data={
            "exception": {
                "values": [{"type": "Declined", "value": "card", "stacktrace": {"frames": frames}}]
            }
        },
    )
    event = sentry.event()
    sent = event["exception"]["values"][0]["stacktrace"]["frames"]
    assert [f["in_app"] for f in sent] == [False, True]


def test_stack_accepts_a_list_of_frames(sentry: Harness) -> None:
    """``stack=`` given raven-python's ``iter_stack_frames()`` list sends those frames, oldest
    first."""
    client = sentry.client()

    def inner() -> None:
        client.captureMessage("with a stack", stack=list(iter_stack_frames()))

    inner()
    frames = sentry.event()["stacktrace"]["frames"]
    assert frames[-1]["function"] == "inner"
    assert frames[-2]["function"] == sys._getframe().f_code.co_name


def test_before_send_reads_the_top_level_message(sentry: Harness) -> None:
    """A ``before_send`` written for raven-python reads ``event["message"]``."""
    seen: list[str] = []

    def before_send(event: dict[str, Any], hint: Any) -> dict[str, Any]:
        seen.append(event["message"])
        return event

    client = sentry.client(before_send=before_send)
    client.captureMessage("payment %s declined", params=("p-17",))
    assert seen == ["payment p-17 declined"]
    assert sentry.event()["logentry"]["formatted"] == "payment p-17 declined"

"""raven-python 6.10's processor API: class attributes, subclass keys, the ``filter_*`` and
``get_data`` hooks, ``sanitize_keys`` read from the client, cookies and bytes bodies."""

from __future__ import annotations

from typing import Any

import pytest
from raven.processors import Processor, SanitizeKeysProcessor, SanitizePasswordsProcessor

from .conftest import Harness

MASK = "********"


class OrderKeysProcessor(SanitizePasswordsProcessor):
    """raven-python's documented way to mask more keys: extend KEYS."""

    KEYS = SanitizePasswordsProcessor.KEYS | frozenset(["order_ref"])


class TaggingProcessor(Processor):
    """Overrides every hook, as raven-python processors did."""

    def get_data(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data.setdefault("tags", {})["processed"] = "yes"
        return data

    def filter_extra(self, data: dict[str, Any]) -> dict[str, Any]:
        return {k: ("hidden" if k == "note" else v) for k, v in data.items()}

    def filter_http(self, data: dict[str, Any]) -> None:
        data["method"] = "PATCH"

    def filter_stacktrace(self, data: dict[str, Any]) -> None:
        for frame in data.get("frames", []):
            frame.pop("vars", None)


def test_class_attributes_exist() -> None:
    """``MASK``, ``KEYS``, ``VALUES_RE`` and (deprecated) ``FIELDS`` are there."""
    assert SanitizeKeysProcessor.MASK == MASK
    assert "password" in SanitizePasswordsProcessor.KEYS
    assert SanitizePasswordsProcessor.VALUES_RE.match("4111 1111 1111 1111")
    with pytest.warns(DeprecationWarning, match="KEYS"):
        assert SanitizePasswordsProcessor().FIELDS == SanitizePasswordsProcessor.KEYS


def test_subclass_keys_are_masked(sentry: Harness) -> None:
    """A subclass's extra ``KEYS`` are masked in extra, locals and the request body."""
    client = sentry.client(processors=[f"{__name__}.OrderKeysProcessor"])
    order_ref = "A-17-secret"  # noqa: F841 - a local the frame sends
    try:
        raise ValueError("declined")
    except ValueError:
        client.captureException(
            extra={"order_ref": "A-17"},
            data={"request": {"url": "http://shop/pay", "data": {"order_ref": "A-17"}}},
        )
    event = sentry.event()
    assert event["extra"]["order_ref"] == MASK
    assert event["request"]["data"]["order_ref"] == MASK
    frame = event["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["vars"]["order_ref"] == MASK


def test_sanitize_keys_processor_reads_the_client(sentry: Harness) -> None:
    """``SanitizeKeysProcessor`` masks ``client.sanitize_keys``, also in a ``Cookie`` header's
    pairs and in a bytes body."""
    client = sentry.client(
        processors=["raven.processors.SanitizeKeysProcessor"],
        sanitize_keys=["session", "pin"],
    )
    client.captureMessage(
        "checkout",
        data={
            "request": {
                "url": "http://shop/pay",
                "method": "POST",
                "headers": {"Cookie": "theme=dark; session=abc123"},
                "data": b"pin=1234&item=7",
            }
        },
    )
    request = sentry.event()["request"]
    assert request["headers"]["Cookie"] == f"theme=dark; session={MASK}"
    assert f"pin={MASK}&item=7" in request["data"] and "1234" not in request["data"]


def test_processor_hooks_are_called(sentry: Harness) -> None:
    """``get_data``, ``filter_extra``, ``filter_http`` and ``filter_stacktrace`` overrides act
    on the event that is sent."""
    client = sentry.client(processors=[f"{__name__}.TaggingProcessor"])
    try:
        raise ValueError("x")
    except ValueError:
        client.captureException(
            extra={"note": "private", "kept": 1},
            data={"request": {"url": "http://shop/", "method": "GET"}},
        )
    event = sentry.event()
    assert event["tags"]["processed"] == "yes"
    assert event["extra"]["note"] == "hidden" and event["extra"]["kept"] == 1
    assert event["request"]["method"] == "PATCH"
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert all("vars" not in f for f in frames)

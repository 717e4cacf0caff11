"""Checks of release-health items against Sentry's session protocol (Relay's normalizer validates
only events): field names, types, minute rounding, terminal states. Shared by every test folder."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["check_aggregates", "check_session", "parse_time", "totals"]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
_SESSION_KEYS = {"sid", "did", "seq", "timestamp", "started", "init", "duration", "status"}
_SESSION_KEYS |= {"errors", "attrs"}
_AGGREGATE_KEYS = {"started", "did", "exited", "errored", "abnormal", "crashed"}


def parse_time(text: Any) -> datetime:
    """An RFC 3339 UTC timestamp as the protocol wants it (``...Z``), parsed."""
    assert isinstance(text, str) and _RFC3339_UTC.fullmatch(text), text
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def _check_attrs(attrs: Any, release: str | None) -> None:
    assert isinstance(attrs, dict) and set(attrs) <= {"release", "environment"}, attrs
    assert isinstance(attrs.get("release"), str) and attrs["release"], "release is required"
    if release is not None:
        assert attrs["release"] == release
    assert isinstance(attrs.get("environment", ""), str)


def check_session(payload: dict[str, Any], release: str | None = None) -> None:
    """A ``session`` item's payload: its one, final update (application mode)."""
    assert set(payload) <= _SESSION_KEYS, set(payload) - _SESSION_KEYS
    assert _UUID.fullmatch(payload["sid"]), payload["sid"]
    assert payload["init"] is True
    started, timestamp = parse_time(payload["started"]), parse_time(payload["timestamp"])
    assert started <= timestamp
    duration = payload["duration"]
    assert isinstance(duration, (int, float)) and not isinstance(duration, bool)
    assert 0 <= duration <= (timestamp - started).total_seconds() + 1
    assert payload["status"] in ("exited", "crashed", "abnormal"), "a final update is terminal"
    errors = payload["errors"]
    assert isinstance(errors, int) and not isinstance(errors, bool) and errors >= 0
    if payload["status"] == "crashed":
        assert errors >= 1, "a crashed session had at least one error"
    _check_attrs(payload["attrs"], release)


def check_aggregates(payload: dict[str, Any], release: str | None = None) -> None:
    """A ``sessions`` item's payload: per-minute aggregates (request mode)."""
    assert set(payload) == {"aggregates", "attrs"}, set(payload)
    aggregates = payload["aggregates"]
    assert isinstance(aggregates, list) and 1 <= len(aggregates) <= 100
    for aggregate in aggregates:
        assert set(aggregate) <= _AGGREGATE_KEYS, set(aggregate) - _AGGREGATE_KEYS
        started = parse_time(aggregate["started"])
        assert (started.second, started.microsecond) == (0, 0), "rounded to the minute"
        counts = [
            aggregate[k] for k in ("exited", "errored", "abnormal", "crashed") if k in aggregate
        ]
        assert counts, "an aggregate counts something"
        for count in counts:
            assert isinstance(count, int) and not isinstance(count, bool) and count >= 1
    _check_attrs(payload["attrs"], release)


def totals(payloads: list[dict[str, Any]], release: str | None = None) -> dict[str, int]:
    """Every aggregate of these ``sessions`` payloads (each checked), summed by status."""
    summed = {"exited": 0, "errored": 0, "crashed": 0, "abnormal": 0}
    for payload in payloads:
        check_aggregates(payload, release)
        for aggregate in payload["aggregates"]:
            for key in summed:
                summed[key] += aggregate.get(key, 0)
    return summed

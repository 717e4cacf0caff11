"""Check-ins checked against Sentry's check-in protocol (``packages/core/PROTOCOL.md``,
"Check-ins"): Relay's normalizer validates events only, so the tests check check-ins here."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["HEX32", "check_protocol"]

HEX32 = re.compile(r"[0-9a-f]{32}")
HEX16 = re.compile(r"[0-9a-f]{16}")
CONFIG_KEYS = {
    "schedule",
    "checkin_margin",
    "max_runtime",
    "timezone",
    "failure_issue_threshold",
    "recovery_threshold",
    "owner",
}
UNITS = {"year", "month", "week", "day", "hour", "minute"}


def check_protocol(check_in: dict[str, Any]) -> dict[str, Any]:
    """Fail unless ``check_in`` is a check-in payload as Sentry's protocol defines it."""
    allowed = {
        "check_in_id",
        "monitor_slug",
        "status",
        "duration",
        "release",
        "environment",
        "monitor_config",
        "contexts",
    }
    assert set(check_in) <= allowed, set(check_in) - allowed
    assert HEX32.fullmatch(check_in["check_in_id"])
    assert re.fullmatch(r"[a-z0-9_-]{1,50}", check_in["monitor_slug"])
    assert check_in["status"] in ("in_progress", "ok", "error")
    if check_in["status"] == "in_progress":
        assert "duration" not in check_in
    if "duration" in check_in:
        assert type(check_in["duration"]) is float and check_in["duration"] >= 0
    for key in ("release", "environment"):
        assert key not in check_in or isinstance(check_in[key], str)
    trace = check_in["contexts"]["trace"]
    assert HEX32.fullmatch(trace["trace_id"]) and HEX16.fullmatch(trace["span_id"])
    config = check_in.get("monitor_config")
    if config is not None:
        assert set(config) <= CONFIG_KEYS
        schedule = config["schedule"]
        if schedule["type"] == "crontab":
            assert set(schedule) == {"type", "value"} and isinstance(schedule["value"], str)
        else:
            assert schedule["type"] == "interval" and set(schedule) == {"type", "value", "unit"}
            assert type(schedule["value"]) is int and schedule["value"] >= 1
            assert schedule["unit"] in UNITS
        for key in ("checkin_margin", "max_runtime", "failure_issue_threshold"):
            assert key not in config or (type(config[key]) is int and config[key] >= 1)
        assert "timezone" not in config or isinstance(config["timezone"], str)
    return check_in

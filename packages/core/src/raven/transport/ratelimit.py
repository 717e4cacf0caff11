"""Rate limits from ``X-Sentry-Rate-Limits`` and ``Retry-After``, per category."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping

__all__ = ["RateLimits", "KNOWN_CATEGORIES"]

KNOWN_CATEGORIES = frozenset(
    {
        "default",
        "error",
        "transaction",
        "monitor",
        "span",
        "log_item",
        "log_byte",
        "security",
        "attachment",
        "session",
        "profile",
        "profile_chunk",
        "replay",
        "feedback",
        "trace_metric",
        "trace_metric_byte",
        "internal",
    }
)
_ALL = "*"
# The longest any one limit holds: a server asking for more (``Retry-After: inf``, ``1e309``, a
# typo) must not silence the client for the life of the process.
MAX_LIMIT_SECONDS = 3600.0


class RateLimits:
    """Deadlines (monotonic) per category; the key ``"*"`` limits every category."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        # Re-entrant: a signal handler that captures on the thread holding it must not deadlock.
        self._lock = threading.RLock()

    def is_limited(self, category: str) -> bool:
        """True while the server asked not to send events of ``category``."""
        until = self._until
        if not until:
            return False
        now = time.monotonic()
        return until.get(category, 0) > now or until.get(_ALL, 0) > now

    def retry_after(self, category: str) -> float:
        """Seconds until ``category`` may be sent again (0 when it may now)."""
        now = time.monotonic()
        return max(0.0, self._until.get(category, 0) - now, self._until.get(_ALL, 0) - now)

    def update(self, status: int, headers: Mapping[str, str]) -> bool:
        """Read limits from an answer; True when the answer set any limit."""
        header = _get(headers, "X-Sentry-Rate-Limits")
        if header:
            return self._apply_header(header)
        if status == 429:
            retry = _parse_seconds(_get(headers, "Retry-After"))
            self._set(_ALL, 60.0 if retry is None else retry)
            return True
        return False

    def _apply_header(self, header: str) -> bool:
        applied = False
        for quota in header.split(","):
            parts = quota.strip().split(":")
            seconds = _parse_seconds(parts[0]) if parts and parts[0] else None
            if seconds is None:
                continue
            categories = (
                [c.strip() for c in parts[1].split(";") if c.strip()] if len(parts) > 1 else []
            )
            if not categories:
                self._set(_ALL, seconds)
                applied = True
                continue
            for category in categories:
                if category in KNOWN_CATEGORIES:
                    self._set(category, seconds)
                    applied = True
        return applied

    def _set(self, category: str, seconds: float) -> None:
        with self._lock:
            deadline = time.monotonic() + seconds
            if deadline > self._until.get(category, 0):  # keep the longest limit
                self._until = {**self._until, category: deadline}


def _get(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value


def _parse_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if math.isnan(seconds):
        return None
    return min(MAX_LIMIT_SECONDS, max(0.0, seconds))  # inf and 1e309 (which parses as inf) too

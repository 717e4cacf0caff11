"""Counting of discarded events, sent to the server as client reports."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

__all__ = ["ClientReports"]

logger = logging.getLogger("raven.transport")


class ClientReports:
    """Thread-safe tally of (reason, category) -> quantity since the last report was taken."""

    def __init__(self) -> None:
        # Re-entrant: a signal handler that captures (and counts a drop) on the thread holding it
        # must not deadlock.
        self._lock = threading.RLock()
        self._pending: dict[tuple[str, str], int] = {}
        self.totals: dict[tuple[str, str], int] = {}
        self.last_taken = time.monotonic()

    def record(self, reason: str, category: str = "error", quantity: int = 1) -> None:
        """Count ``quantity`` events of ``category`` dropped for ``reason``."""
        with self._lock:
            key = (reason, category)
            self._pending[key] = self._pending.get(key, 0) + quantity
            self.totals[key] = self.totals.get(key, 0) + quantity
        logger.debug("dropped %d %s event(s): %s", quantity, category, reason)

    def pending(self) -> bool:
        """True when drops are counted that no report took yet."""
        return bool(self._pending)

    def take(self) -> dict[str, Any] | None:
        """The client report payload for everything counted so far, or None; resets the tally."""
        with self._lock:
            if not self._pending:
                return None
            counts, self._pending = self._pending, {}
            self.last_taken = time.monotonic()
        return {
            "timestamp": time.time(),
            "discarded_events": [
                {"reason": r, "category": c, "quantity": q} for (r, c), q in sorted(counts.items())
            ],
        }

    def restore(self, payload: dict[str, Any]) -> None:
        """Put back a report that could not be delivered (counted again, not twice in totals)."""
        with self._lock:
            for item in payload.get("discarded_events", []):
                key = (item["reason"], item["category"])
                self._pending[key] = self._pending.get(key, 0) + int(item["quantity"])

    def dropped(self) -> int:
        """All events counted as dropped since the client started."""
        with self._lock:
            return sum(self.totals.values())

    def after_fork(self) -> None:
        """In a forked child: fresh lock; the parent reports what it counted."""
        self._lock = threading.RLock()
        self._pending = {}

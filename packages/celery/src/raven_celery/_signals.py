"""Celery signal receivers connected and disconnected together, each at most once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Receivers"]


class Receivers:
    """``(signal, receiver)`` pairs that :meth:`connect` and :meth:`disconnect` handle as one.

    Both are idempotent. Each pair gets a ``dispatch_uid`` of its own, so several registrations
    (several clients, or a hand-made handler next to ``register_signal``'s) never replace each
    other's receivers.
    """

    def __init__(self, *pairs: tuple[Any, Callable[..., Any]]) -> None:
        self._pairs = pairs
        self._lock = threading.Lock()
        self._connected = False

    @property
    def connected(self) -> bool:
        """Whether the receivers are connected now."""
        return self._connected

    def _uid(self, signal: Any) -> str:
        return f"raven_celery.{signal.name}.{id(self):x}"

    def connect(self) -> None:
        """Connect every receiver; calling it again changes nothing."""
        with self._lock:
            if self._connected:
                return
            for signal, receiver in self._pairs:
                signal.connect(receiver, weak=False, dispatch_uid=self._uid(signal))
            self._connected = True

    def disconnect(self) -> bool:
        """Disconnect every receiver; False when they were not connected."""
        with self._lock:
            if not self._connected:
                return False
            for signal, _receiver in self._pairs:
                signal.disconnect(dispatch_uid=self._uid(signal))
            self._connected = False
            return True

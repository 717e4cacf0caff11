"""raven-python's ``DummyClient`` (``raven.base.DummyClient``)."""

from __future__ import annotations

from typing import Any

from .client import Client

__all__ = ["DummyClient"]


class DummyClient(Client):
    """A client that sends nothing: captures build the event, then drop it."""

    def send(self, **data: Any) -> str | None:
        """Drop the event."""
        return None

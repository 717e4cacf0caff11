"""Fixtures for the core tests: clients pointed at the loopback receiver, and a harness that
validates every event that arrives with Relay's normalizer."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import raven

from tests.receiver import Receiver
from tests.relay import validate_event

# Every client in these tests: no process-wide excepthook unless a test asks for one.
BASE_OPTIONS: dict[str, Any] = {"install_sys_hook": False}


def sync_dsn(receiver: Receiver) -> str:
    """The receiver's DSN with the ``sync+`` prefix: each capture is delivered before it returns."""
    return "sync+" + receiver.dsn


class CollectingClient(raven.Client):
    """The raven-python testing pattern: a subclass whose ``send`` keeps the events (each one
    checked by Relay's normalizer first)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.events: list[dict[str, Any]] = []
        super().__init__(*args, **kwargs)

    def is_enabled(self) -> bool:
        return True

    def send(self, **data: Any) -> str:
        validate_event(json.loads(json.dumps(data, default=repr)))
        self.events.append(data)
        return str(data["event_id"])


def collecting_client(**options: Any) -> CollectingClient:
    """A client with no DSN that keeps its events in ``.events`` (validated by the caller)."""
    return CollectingClient(**{**BASE_OPTIONS, **options})


class Harness:
    """Builds clients that deliver to ``receiver`` and validates every event that arrived."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.clients: list[raven.Client] = []
        self._validated = 0

    @property
    def dsn(self) -> str:
        return sync_dsn(self.receiver)

    def client(
        self, dsn: str | None = None, cls: type[raven.Client] = raven.Client, **options: Any
    ) -> raven.Client:
        """A client delivering synchronously to the receiver (``dsn`` overrides), closed at teardown."""
        client = cls(dsn or self.dsn, **{**BASE_OPTIONS, **options})
        self.clients.append(client)
        return client

    def events(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Exactly the ``count`` events that arrived (waiting for them), each validated by Relay."""
        events = self.receiver.wait_for(count, timeout)
        assert len(events) == count, f"expected {count} events, got {len(events)}"
        self.validate(events)
        return events

    def event(self) -> dict[str, Any]:
        """The single event that arrived."""
        (event,) = self.events(1)
        return event

    def validate(self, events: list[dict[str, Any]]) -> None:
        for event in events[self._validated :]:
            validate_event(event)
        self._validated = max(self._validated, len(events))

    def close(self) -> None:
        for client in self.clients:
            client.close(timeout=5)
        self.validate(list(self.receiver.events))


@pytest.fixture
def sentry(receiver: Receiver) -> Iterator[Harness]:
    """The harness: ``sentry.client(**options)``, ``sentry.event()``, ``sentry.events(n)``."""
    harness = Harness(receiver)
    yield harness
    harness.close()


@pytest.fixture
def client(sentry: Harness) -> raven.Client:
    """A client with default options delivering synchronously to the receiver."""
    return sentry.client()


@pytest.fixture
def collector() -> Iterator[CollectingClient]:
    """A :class:`CollectingClient` with default options, closed at teardown."""
    client = collecting_client()
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _quiet_root_logger() -> Iterator[None]:
    """Keep root-logger handlers added by a test (setup_logging) from leaking into the next one."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)

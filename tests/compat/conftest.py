"""Fixtures for the raven-python 6.10 compatibility tests: the core tests' harness (clients
delivering synchronously to the loopback receiver, every event validated by Relay)."""

from __future__ import annotations

from tests.core.conftest import (  # noqa: F401 - fixtures used by the tests here
    Harness,
    _quiet_root_logger,
    client,
    sentry,
)

"""Fixtures shared by every test folder: the loopback receiver and the internal-error guard."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from tests.receiver import Receiver

# The suite runs inside a git checkout: without this every client would detect the checkout's
# commit as its release and track sessions. Set but empty means "no release, none detected";
# the tests of release health and release detection pass their own (subprocesses inherit this).
os.environ.setdefault("SENTRY_RELEASE", "")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A Sentry-compatible server on a free loopback port, for this test only."""
    server = Receiver().start()
    yield server
    server.stop()


class _SwallowedErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def raven_internal_errors(request: pytest.FixtureRequest) -> Iterator[_SwallowedErrors]:
    """Fail the test if Raven logged an internal error that it swallowed.

    A test that provokes such errors on purpose marks itself ``@pytest.mark.raven_errors_expected``.
    """
    handler = _SwallowedErrors()
    logger = logging.getLogger("raven")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
    if request.node.get_closest_marker("raven_errors_expected") is None and handler.records:
        lines = "\n".join(f"{r.name}: {r.getMessage()}" for r in handler.records)
        pytest.fail(f"Raven swallowed internal errors:\n{lines}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "raven_errors_expected: the test provokes errors Raven logs and swallows"
    )

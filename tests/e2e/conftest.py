"""Fixtures for the end-to-end tests: one real Bugsink for the session, a fresh project per test."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.celery.conftest import redis_url  # noqa: F401  (the same throwaway Redis as tests/celery)
from tests.e2e.bugsink import BugsinkServer, Project, running_bugsink
from tests.e2e.proxy import RecordingProxy


@pytest.fixture(scope="session")
def bugsink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BugsinkServer]:
    """A Bugsink installed in its own virtualenv, served by gunicorn on a free loopback port."""
    with running_bugsink(tmp_path_factory.mktemp("bugsink")) as server:
        yield server


@pytest.fixture
def project(bugsink: BugsinkServer, request: pytest.FixtureRequest) -> Project:
    """A Bugsink project of this test's own (so counts, grouping and quota start from zero)."""
    return bugsink.create_project(re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name))


@pytest.fixture
def proxy(bugsink: BugsinkServer) -> Iterator[RecordingProxy]:
    """A recording proxy in front of Bugsink (``proxy.dsn_for(project.dsn)``)."""
    recorder = RecordingProxy(bugsink.port)
    yield recorder
    recorder.stop()

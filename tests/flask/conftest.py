"""Fixtures for the Flask tests: apps made by the factory and extensions undone after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from raven_flask import Sentry

from flask import Flask
from tests.flask.apps import create_app
from tests.receiver import Receiver


@pytest.fixture(autouse=True)
def _no_ambient_dsn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients get their DSN from the app's config only, never from the test runner's environment."""
    monkeypatch.delenv("SENTRY_DSN", raising=False)


@pytest.fixture
def make_app(receiver: Receiver) -> Callable[..., Flask]:
    """``make_app(**config)``: a new app whose ``SENTRY_DSN`` points at the receiver."""

    def make(login: bool = True, **config: Any) -> Flask:
        return create_app({"SENTRY_DSN": receiver.dsn, **config}, login=login)

    return make


@pytest.fixture
def install() -> Iterator[Callable[..., Sentry]]:
    """``install(app, sentry=None, **sentry_kwargs)``: ``init_app`` now, ``uninit_app`` after the test."""
    installed: list[tuple[Sentry, Flask]] = []

    def do_install(app: Flask, sentry: Sentry | None = None, **kwargs: Any) -> Sentry:
        sentry = sentry if sentry is not None else Sentry(**kwargs)
        sentry.init_app(app)
        installed.append((sentry, app))
        return sentry

    yield do_install
    for sentry, app in reversed(installed):
        sentry.uninit_app(app)


@pytest.fixture
def second_receiver() -> Iterator[Receiver]:
    """Another Sentry-compatible server, for a second app with its own DSN."""
    server = Receiver().start()
    yield server
    server.stop()

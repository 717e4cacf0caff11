"""Django for the raven-django tests only.

Django is configured here (``settings.configure`` from tests/django/project/settings.py), not with
DJANGO_SETTINGS_MODULE, so the other packages' tests in the same pytest run never see Django
settings, and nothing is set up when tests/django is not collected.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.receiver import Receiver
from tests.relay import validate_event

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    import django

    if not settings.configured:
        from tests.django.project import settings as project_settings

        settings.configure(**{k: v for k, v in vars(project_settings).items() if k.isupper()})
    django.setup()


@pytest.fixture
def sentry(settings: Any, receiver: Receiver) -> Iterator[Any]:
    """The configured DjangoClient, sending to this test's receiver."""
    from raven_django import get_client
    from raven_django.conf import reset_client

    settings.RAVEN_CONFIG = {
        "dsn": receiver.dsn,
        "install_sys_hook": False,
        "release": "raven-tests@1.0",
        "shutdown_timeout": 1,
    }
    client = get_client()
    yield client
    reset_client()  # flush and close while the receiver still listens


@pytest.fixture
def received(sentry: Any, receiver: Receiver) -> Callable[[int], list[dict[str, Any]]]:
    """``received(n)``: exactly the n events that arrived (after a flush), each validated by Relay."""

    def wait(count: int) -> list[dict[str, Any]]:
        sentry.flush(10)
        events = receiver.wait_for(count) if count else []
        assert len(receiver.events) == count, [e.get("message") for e in receiver.events]
        for event in events:
            validate_event(event)
        return list(receiver.events)

    return wait


@pytest.fixture(autouse=True)
def _every_event_is_valid(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever a test does with its events, each one must pass Relay's normalizer."""
    yield
    receiver = getattr(request.node, "funcargs", {}).get("receiver")
    for event in receiver.events if receiver is not None else ():
        validate_event(event)


@pytest.fixture
def web() -> Any:
    """Django's test client, returning 500 responses instead of raising the view's error."""
    from django.test import Client

    return Client(raise_request_exception=False)


@pytest.fixture
def aweb() -> Any:
    from django.test import AsyncClient

    return AsyncClient(raise_request_exception=False)


def manage(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the test project's manage.py in a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "DJANGO_"))}
    full_env.update(
        PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="tests.django.project.settings", **(env or {})
    )
    return subprocess.run(
        [sys.executable, str(ROOT / "tests/django/project/manage.py"), *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )

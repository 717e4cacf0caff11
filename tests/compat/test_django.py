"""A Django project written for raven-python 6.10 runs unchanged (in its own process, so that
``raven.contrib.django.raven_compat`` is the installed app), and its events arrive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from raven.receiver import Receiver

from tests.relay import validate_event

ROOT = Path(__file__).resolve().parents[2]


def run_app(receiver: Receiver, *args: str) -> dict[str, Any]:
    """Run the raven-python era Django app against ``receiver``; what it observed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    run = subprocess.run(
        [sys.executable, "-m", "tests.compat.apps.django_app", receiver.dsn, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    seen: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return seen


def test_disable_sentry_instrumentation(receiver: Receiver) -> None:
    """``DISABLE_SENTRY_INSTRUMENTATION = True``: a failing view is not reported."""
    assert run_app(receiver, "--disabled")["boom_status"] == 500
    assert receiver.events == []


def test_raven_python_django_project(receiver: Receiver) -> None:
    """raven_compat app, SENTRY_CONFIG / SENTRY_<OPTION> (SENTRY_TRANSPORT included), X-Sentry-ID on
    every response with an event, 404s at info, the LOGGING handler, the ``models.client`` proxy
    (==, hash, isinstance), SentryDjangoHandler uninstall/install and get_client(path) with a
    plain Client subclass; the old names warn."""
    seen = run_app(receiver)
    events = receiver.wait_for(5)
    for event in events:
        validate_event(event)
    by_message = {e.get("message") or e["logentry"]["formatted"]: e for e in events}
    assert len(events) == 5, sorted(by_message)
    boom = [e for e in events if e.get("exception")]
    assert len(boom) == 2 and all(e["tags"]["stack"] == "legacy" for e in events)
    assert seen["boom_status"] == 500 and seen["boom_id"] == boom[0]["event_id"]
    assert boom[0]["release"] == "shop@6.10"
    missing = by_message["Page Not Found: http://testserver/missing/"]
    assert missing["level"] == "info" and seen["missing_id"] == missing["event_id"]
    logged = by_message["payment declined"]
    assert logged["extra"]["order"] == 7 and logged["logger"] == "shop"
    assert "through the proxy" in by_message
    assert seen["proxy_equal"] and seen["proxy_isinstance"] and seen["celery_installed"]
    assert seen["transport"] == "HTTPTransport" and seen["plain_client"] == "PlainClient"
    assert "INSTALLED_APPS entry 'raven.contrib.django.raven_compat'" in seen["warned"]
    assert "raven.contrib.django.raven_compat.models.client" in seen["warned"]

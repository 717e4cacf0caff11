"""The test project served by real servers (gunicorn: its gthread worker for WSGI, its asgi worker
for ASGI), hit with real HTTP requests."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.django.conftest import ROOT
from tests.receiver import Receiver
from tests.relay import validate_event


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _gunicorn(
    receiver: Receiver, tmp_path: Path, app: str, *worker: str, pii: bool = False
) -> Iterator[str]:
    """gunicorn serving the test project (one worker process) on a free port; its base URL."""
    port = _free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.django.project.settings",
        "RAVEN_TEST_CONFIG": json.dumps(
            {"dsn": receiver.dsn, "release": "gunicorn-test", "send_default_pii": pii}
        ),
    }
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            *worker,
            "--no-control-socket",
            app,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                if requests.get(f"{base}/ok/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.05)  # polling for the server to listen, not racing a result
        yield base
    finally:
        process.terminate()
        process.wait(15)
        log.close()


@pytest.fixture
def server(receiver: Receiver, tmp_path: Path) -> Iterator[str]:
    """gunicorn with one gthread worker and one thread, so consecutive requests share a thread."""
    with _gunicorn(
        receiver,
        tmp_path,
        "tests.django.project.wsgi:application",
        "--worker-class",
        "gthread",
        "--threads",
        "1",
    ) as base:
        yield base


@pytest.fixture(params=["wsgi", "asgi"])
def any_server(request: pytest.FixtureRequest, receiver: Receiver, tmp_path: Path) -> Iterator[str]:
    """The project under gunicorn's gthread worker (WSGI) and its asyncio worker (ASGI), with send_default_pii."""
    if request.param == "wsgi":
        app, worker = (
            "tests.django.project.wsgi:application",
            ("--worker-class", "gthread", "--threads", "1"),
        )
    else:
        app, worker = "tests.django.project.asgi:application", ("--worker-class", "asgi")
    with _gunicorn(receiver, tmp_path, app, *worker, pii=True) as base:
        yield base


def _by_value(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["exception"]["values"][-1]["value"]: e for e in events}


def test_errors_under_gunicorn(server: str, receiver: Receiver) -> None:
    """A view error, an error after SQL in a reused thread, and an error while streaming all arrive over HTTP."""
    port = server.rsplit(":", 1)[1]
    boom = requests.get(
        f"{server}/boom/?from=gunicorn", headers={"User-Agent": "raven-gunicorn-test"}, timeout=10
    )
    assert boom.status_code == 500
    assert b"Raven test project: server error" in boom.content
    assert requests.get(f"{server}/set-context/", timeout=10).status_code == 200
    assert requests.get(f"{server}/raw-sql-boom/", timeout=10).status_code == 500
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{server}/stream-boom/", timeout=10).content  # noqa: B018

    events = _by_value(receiver.wait_for(3, timeout=20))
    assert len(receiver.events) == 3
    for event in events.values():
        validate_event(event)
        assert event["release"] == "gunicorn-test"

    view = events["boom"]
    assert boom.headers["X-Sentry-ID"] == view["event_id"]
    assert view["request"]["url"] == f"http://127.0.0.1:{port}/boom/"
    assert view["request"]["query_string"] == "from=gunicorn"
    assert view["request"]["headers"]["User-Agent"] == "raven-gunicorn-test"
    # no peer address without send_default_pii (it was sent under gunicorn: the privacy bug)
    assert view["request"]["env"] == {"SERVER_NAME": "127.0.0.1", "SERVER_PORT": port}
    assert "user" not in view
    assert view["transaction"] == "/boom/"

    sql = events["after raw sql"]
    assert [c["message"] for c in sql["breadcrumbs"]["values"] if c["category"] == "query"] == [
        "SELECT 1"
    ]
    assert "leaky" not in sql["tags"] and "user" not in sql
    assert "leaky crumb" not in [c.get("message") for c in sql["breadcrumbs"]["values"]]

    stream = events["stream exploded"]
    assert stream["exception"]["values"][-1]["mechanism"]["type"] == "wsgi"
    assert stream["request"]["url"] == f"http://127.0.0.1:{port}/stream-boom/"


@pytest.mark.parametrize("path", ["log-capture-boom", "async-log-capture-boom"])
def test_every_event_of_a_request_carries_it(
    any_server: str, receiver: Receiver, path: str
) -> None:
    """Under a real WSGI and a real ASGI server, an error logged and a message captured in a sync or
    async view carry the request, user and transaction of the view's error."""
    response = requests.get(f"{any_server}/{path}/?q=1", cookies={"theme": "dark"}, timeout=10)
    assert response.status_code == 500
    events = receiver.wait_for(3, timeout=20)
    assert len(receiver.events) == 3
    for event in events:
        validate_event(event)
    (logged,) = [e for e in events if e.get("logger") == "tests.django.project.views"]
    (manual,) = [
        e for e in events if e.get("logentry", {}).get("formatted") == "captured in the view"
    ]
    (error,) = [e for e in events if "exception" in e]
    assert error["request"]["url"] == f"{any_server}/{path}/"
    assert error["request"]["query_string"] == "q=1"
    assert list(error["request"]["cookies"]) == ["theme"]
    assert error["transaction"] == f"/{path}/"  # the URL pattern
    assert error["user"] == {"ip_address": "127.0.0.1"}
    for event in (logged, manual):
        assert (event["request"], event["user"], event["transaction"]) == (
            error["request"],
            error["user"],
            error["transaction"],
        )

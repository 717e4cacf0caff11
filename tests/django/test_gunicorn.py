"""The test project served by a real WSGI server (gunicorn), hit with real HTTP requests."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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


@pytest.fixture
def server(receiver: Receiver, tmp_path: Path) -> Iterator[str]:
    """gunicorn with one gthread worker and one thread, so consecutive requests share a thread."""
    port = _free_port()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "tests.django.project.settings",
           "RAVEN_TEST_CONFIG": json.dumps({"dsn": receiver.dsn, "release": "gunicorn-test"})}
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class",
         "gthread", "--threads", "1", "--no-control-socket", "tests.django.project.wsgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
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


def _by_value(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["exception"]["values"][-1]["value"]: e for e in events}


def test_errors_under_gunicorn(server: str, receiver: Receiver) -> None:
    """A view error, an error after SQL in a reused thread, and an error while streaming all arrive over HTTP."""
    port = server.rsplit(":", 1)[1]
    boom = requests.get(f"{server}/boom/?from=gunicorn", headers={"User-Agent": "raven-gunicorn-test"}, timeout=10)
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
    assert view["request"]["env"] == {"REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": port}
    assert view["transaction"] == "boom"

    sql = events["after raw sql"]
    assert [c["message"] for c in sql["breadcrumbs"]["values"] if c["category"] == "query"] == ["SELECT 1"]
    assert "leaky" not in sql["tags"] and "user" not in sql
    assert "leaky crumb" not in [c.get("message") for c in sql["breadcrumbs"]["values"]]

    stream = events["stream exploded"]
    assert stream["exception"]["values"][-1]["mechanism"]["type"] == "wsgi"
    assert stream["request"]["url"] == f"http://127.0.0.1:{port}/stream-boom/"

"""The ``raven`` command, run as a subprocess: ``raven test [DSN]``, ``--version``, ``--help``."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import raven

from .conftest import Harness


def run_raven(*args: str, dsn_env: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    if dsn_env is not None:
        env["SENTRY_DSN"] = dsn_env
    return subprocess.run(
        [sys.executable, "-m", "raven", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_raven_test_without_dsn_prints_what_arrived() -> None:
    """With no DSN, ``raven test`` delivers to a local receiver and prints what it got."""
    result = run_raven("test")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "No DSN given: sending to a local receiver at http://public@127.0.0.1:" in out
    assert re.search(
        r"Event [0-9a-f]{32} received over HTTP \(\d+ bytes on the wire, \d+ uncompressed\)", out
    )
    assert "title:   RuntimeError: this is a test event sent by `raven test`" in out
    assert "culprit: " in out and "raise RuntimeError(reason)" in out
    assert "tags:    {'source': 'raven test'}" in out
    assert "about to raise on purpose" in out and "a log record becomes a breadcrumb too" in out


def test_raven_test_with_a_dsn(sentry: Harness) -> None:
    """With a DSN argument the event goes there and the command reports its id."""
    result = run_raven("test", sentry.receiver.dsn)
    assert result.returncode == 0, result.stderr
    event = sentry.event()
    assert f"Event {event['event_id']} accepted by the server." in result.stdout
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["user"]["id"] == "raven-test" and event["tags"]["source"] == "raven test"
    assert event["breadcrumbs"]["values"]


def test_raven_test_uses_sentry_dsn(sentry: Harness) -> None:
    """Without an argument, ``SENTRY_DSN`` is used."""
    result = run_raven("test", dsn_env=sentry.receiver.dsn)
    assert result.returncode == 0, result.stderr
    assert f"Event {sentry.event()['event_id']} accepted" in result.stdout


def test_raven_test_against_a_refused_port() -> None:
    """When nothing listens at the DSN's port the command exits 1 saying it could not reach the server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_raven("test", f"http://k@127.0.0.1:{port}/1")
    assert result.returncode == 1
    assert "could not reach the server" in result.stderr


def test_raven_test_against_a_403(sentry: Harness) -> None:
    """When the server refuses the event the command exits 1 with the server's status."""
    sentry.receiver.respond_with(403, headers={"X-Sentry-Error": "invalid key"})
    result = run_raven("test", sentry.receiver.dsn)
    assert result.returncode == 1
    assert "the server refused the event" in result.stderr and "403" in result.stderr


def test_raven_test_with_an_invalid_dsn() -> None:
    """A malformed DSN exits 1 with a message saying what is wrong."""
    result = run_raven("test", "https://host-without-key/1")
    assert result.returncode == 1
    assert "invalid DSN" in result.stderr and "public key" in result.stderr
    assert "'https://host-without-key/1'" in result.stderr  # named as the user wrote it
    unknown = run_raven("test", "ftp://k@host/1")
    assert unknown.returncode == 1 and "'ftp'" in unknown.stderr


def test_version_and_help() -> None:
    """``--version`` prints the version; ``--help`` and no arguments print the usage."""
    version = run_raven("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"raven {raven.__version__}"
    for args in (("--help",), ()):
        result = run_raven(*args)
        assert result.returncode == 0
        assert "usage: raven" in result.stdout and "test" in result.stdout


def test_console_script_is_installed() -> None:
    """The ``raven`` console script next to the interpreter runs the same command."""
    script = os.path.join(os.path.dirname(sys.executable), "raven")
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == f"raven {raven.__version__}"

"""The command: ``raven serve`` without the package says how to install it; a database file keeps
projects and issues across restarts; retention bounds what is kept; bad options fail at once."""

from __future__ import annotations

import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import raven

from .conftest import Server
from .envelopes import event, event_envelope, post

CORE_SRC = Path(__file__).resolve().parents[2] / "packages" / "core" / "src"


def test_serve_without_raven_devserver_says_how_to_install_it() -> None:
    """With only raven-core importable (site-packages without its .pth files: no editable
    raven-devserver), ``raven serve`` exits 1 with one line naming the package to install."""
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; "
        "from raven.cli import main; sys.exit(main(['serve', '--port', '0']))"
    )
    site_packages = sysconfig.get_paths()["purelib"]
    result = subprocess.run(
        [sys.executable, "-S", "-c", code, str(CORE_SRC), site_packages],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "raven serve needs raven-devserver: pip install ./packages/devserver" in result.stderr


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "raven", "serve", *args], capture_output=True, text=True, timeout=60
    )


def test_bad_options_fail_naming_them() -> None:
    """A retention bound below 1, --db with --memory, or a port taken fail at once."""
    assert "--max-events: must be at least 1" in _run("--max-events", "0").stderr
    assert "not allowed with argument" in _run("--db", "x.db", "--memory").stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = _run("--memory", "--port", str(taken.getsockname()[1]))
    assert result.returncode == 1 and "cannot listen on 127.0.0.1:" in result.stderr


def test_a_database_file_keeps_the_key_and_the_issues_across_restarts(tmp_path: Path) -> None:
    """Stopped (Ctrl-C, exit 0) and started again on the same file, the server prints the same
    DSN and still has its issue, which goes on counting."""
    path = tmp_path / "data" / "devserver.sqlite3"
    first = Server("--db", str(path))
    client = raven.Client("sync+" + first.dsn, install_sys_hook=False, hook_libraries=())
    client.captureMessage("kept on disk")
    assert first.stop() == 0
    assert path.exists()
    second = Server("--db", str(path))
    try:
        assert second.dsn.split("@")[0] == first.dsn.split("@")[0]
        client = raven.Client("sync+" + second.dsn, install_sys_hook=False, hook_libraries=())
        client.captureMessage("kept on disk")
        (issue,) = second.issues()
        assert (issue["title"], issue["count"]) == ("kept on disk", 2)
    finally:
        assert second.stop() == 0


def test_retention_prunes_the_oldest_events_per_issue_and_in_all() -> None:
    """Past --max-events-per-issue an issue keeps its newest events, past --max-events the oldest
    events of all go first; the issues' counts still count every event."""
    server = Server("--memory", "--max-events", "8", "--max-events-per-issue", "5")
    try:
        first = [event("noisy") for _ in range(12)]
        for payload in first:
            assert post(server, server.dsn, event_envelope(payload))[0] == 200
        (noisy,) = server.issues()
        assert (noisy["count"], noisy["stored"]) == (12, 5)
        kept = [e["event_id"] for e in server.json(f"/api/0/issues/{noisy['id']}/events/")]
        assert kept == [p["event_id"] for p in reversed(first[-5:])]
        for _ in range(5):
            assert post(server, server.dsn, event_envelope(event("quiet")))[0] == 200
        issues = {i["title"]: i for i in server.issues()}
        assert (issues["quiet"]["stored"], issues["noisy"]["stored"]) == (5, 3)
        assert issues["noisy"]["count"] == 12
        status, _, _ = server.request(f"/events/{first[0]['event_id']}")
        assert status == 404
    finally:
        assert server.stop() == 0

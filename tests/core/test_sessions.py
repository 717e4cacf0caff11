"""Release health in the core: request sessions counted into per-minute aggregates, the
application session of a process, what a capture does to them, and delivery (rate limits,
client reports). Every item that arrives is checked against the session protocol."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import raven
from raven import sessions
from raven.exceptions import ConfigurationError

from tests.core.conftest import Harness
from tests.readme_example import run_example
from tests.receiver import Receiver
from tests.sessions import check_aggregates, check_session, parse_time, totals

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "packages" / "core" / "README.md"
RELEASE = "shop@2.1.0"


def _fail(client: raven.Client, handled: bool = True, **kwargs: Any) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        if handled:
            client.captureException(**kwargs)
        else:
            client.captureException(mechanism={"type": "test", "handled": False}, **kwargs)


def _request(client: raven.Client, outcome: str = "ok") -> None:
    token = client.start_request_session()
    if outcome == "errored":
        _fail(client)
    elif outcome == "crashed":
        _fail(client, handled=False)
    client.end_request_session(token)


def _aggregates(receiver: Receiver, client: raven.Client) -> dict[str, int]:
    client.flush()
    return totals(list(receiver.session_aggregates), RELEASE)


def test_requests_are_counted_by_outcome_in_minute_aggregates(sentry: Harness) -> None:
    """Requests ending clean, with a handled error and with an unhandled one arrive as one
    sessions item: exited, errored and crashed counts in minute-rounded aggregates."""
    client = sentry.client(release=RELEASE, environment="prod")
    before = time.time()
    for outcome in ["ok"] * 6 + ["errored"] * 3 + ["crashed"] * 2:
        _request(client, outcome)
    assert _aggregates(sentry.receiver, client) == {
        "exited": 6,
        "errored": 3,
        "crashed": 2,
        "abnormal": 0,
    }
    (payload,) = sentry.receiver.session_aggregates
    assert payload["attrs"] == {"release": RELEASE, "environment": "prod"}
    first = parse_time(payload["aggregates"][0]["started"]).timestamp()
    assert before - 60 < first <= before
    sentry.events(5)  # the errors themselves arrived too


def test_what_counts_as_an_error(sentry: Harness) -> None:
    """captureMessage (even at level error), captureQuery and an exception captured below level
    error leave a request exited; an exception at fatal or at logging.ERROR errors it."""
    client = sentry.client(release=RELEASE)
    for capture in (
        lambda: client.captureMessage("failed", level="error"),
        lambda: client.captureQuery("select 1", level="fatal"),
        lambda: _fail(client, level="warning"),
        lambda: _fail(client, level="info"),
    ):
        token = client.start_request_session()
        capture()
        client.end_request_session(token)
    for level in ("fatal", logging.ERROR, "ERROR"):
        token = client.start_request_session()
        _fail(client, level=level)
        client.end_request_session(token)
    assert _aggregates(sentry.receiver, client)["exited"] == 4
    assert _aggregates(sentry.receiver, client)["errored"] == 3


def test_crashed_is_final_and_sampled_out_errors_still_count(sentry: Harness) -> None:
    """A request that crashed stays crashed after a later handled error; an error that
    sample_rate or before_send drops still marks the request."""
    client = sentry.client(release=RELEASE, sample_rate=0.0)
    token = client.start_request_session()
    _fail(client, handled=False)
    _fail(client)
    client.end_request_session(token)
    dropping = sentry.client(release=RELEASE, before_send=lambda event, hint: None)
    _request(dropping, "errored")
    client.flush()
    dropping.flush()
    assert totals(list(sentry.receiver.session_aggregates), RELEASE) == {
        "exited": 0,
        "errored": 1,
        "crashed": 1,
        "abnormal": 0,
    }
    assert sentry.receiver.events == []


def test_ending_twice_counts_once(sentry: Harness) -> None:
    """A request session ended twice (a framework's two teardown paths) counts once."""
    client = sentry.client(release=RELEASE)
    token = client.start_request_session()
    client.end_request_session(token)
    client.end_request_session(token)
    assert _aggregates(sentry.receiver, client)["exited"] == 1


def test_sessions_are_isolated_across_threads_and_tasks(sentry: Harness) -> None:
    """An error in one thread or asyncio task marks only the session of that thread or task."""
    client = sentry.client(release=RELEASE)
    barrier = threading.Barrier(2)

    def worker(fails: bool) -> None:
        token = client.start_request_session()
        barrier.wait(5)  # both sessions open at once
        if fails:
            _fail(client)
        barrier.wait(5)
        client.end_request_session(token)

    threads = [threading.Thread(target=worker, args=(f,)) for f in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    async def task(fails: bool, both_open: asyncio.Event, started: list[int]) -> None:
        token = client.start_request_session()
        started.append(1)
        if len(started) == 2:
            both_open.set()
        await both_open.wait()
        if fails:
            _fail(client, handled=False)
        await asyncio.sleep(0)
        client.end_request_session(token)

    async def main() -> None:
        both_open, started = asyncio.Event(), []
        await asyncio.gather(task(True, both_open, started), task(False, both_open, started))

    asyncio.run(main())
    assert _aggregates(sentry.receiver, client) == {
        "exited": 2,
        "errored": 1,
        "crashed": 1,
        "abnormal": 0,
    }


def test_aggregates_are_sent_from_the_background(
    sentry: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without any flush, the background thread sends the aggregates after the interval."""
    monkeypatch.setattr(sessions, "FLUSH_INTERVAL", 0.2)
    client = sentry.client(release=RELEASE)
    _request(client)
    sentry.receiver.wait_until(lambda r: r.session_aggregates, timeout=10)
    assert totals(list(sentry.receiver.session_aggregates), RELEASE)["exited"] == 1


def test_no_session_without_a_release(sentry: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Without a release nothing is tracked or sent, even with auto_session_tracking=True
    (which says why, once); auto_session_tracking=False turns it off with a release."""
    with caplog.at_level(logging.WARNING, "raven.sessions"):
        forced = sentry.client(auto_session_tracking=True)
    assert "no release" in caplog.text
    default = sentry.client()
    off = sentry.client(release=RELEASE, auto_session_tracking=False)
    for client in (forced, default, off):
        assert client.start_request_session() is None
        _request(client, "crashed")
        client.start_session()
        client.end_session()
        client.close()
    assert sentry.receiver.session_aggregates == [] and sentry.receiver.sessions == []
    assert all(
        "session" not in r.item_types and "sessions" not in r.item_types
        for r in sentry.receiver.requests
    )


def test_auto_session_tracking_is_validated() -> None:
    """A value that is not a boolean fails at construction, naming the option."""
    with pytest.raises(ConfigurationError, match="auto_session_tracking.*boolean.*'maybe'"):
        raven.Client("http://k@127.0.0.1:9/1", auto_session_tracking="maybe")
    client = raven.Client("http://k@127.0.0.1:9/1", auto_session_tracking="off", release="r")
    assert client.start_request_session() is None
    client.close()


def test_a_session_rate_limit_is_honoured_and_counted(sentry: Harness) -> None:
    """Under a rate limit on category session, session items are not sent and are counted in
    client reports (ratelimit_backoff, session), while errors still go out."""
    receiver = sentry.receiver
    client = sentry.client(release=RELEASE)
    receiver.respond_with(200, {"X-Sentry-Rate-Limits": "60:session:key"})
    client.captureMessage("teaches the client the limit")
    receiver.wait_for(1)
    receiver.respond_with(200)
    _request(client)
    client.flush()
    client.start_session()
    client.end_session()
    client.captureMessage("still sent")
    client.close()
    sentry.clients.remove(client)
    receiver.wait_until(lambda r: r.discarded().get(("ratelimit_backoff", "session"), 0) == 2)
    assert receiver.session_aggregates == [] and receiver.sessions == []
    assert len(receiver.events) == 2


def test_application_session_started_and_ended_by_hand(sentry: Harness) -> None:
    """start_session/end_session send one session per unit of work, counting its errors;
    starting a new one ends the one running."""
    client = sentry.client(release=RELEASE)
    client.start_session()
    _fail(client)
    _fail(client)
    client.start_session()  # ends (and sends) the first
    _fail(client, handled=False)
    client.end_session()
    first, second = sentry.receiver.wait_for_sessions(2)
    for payload in (first, second):
        check_session(payload, RELEASE)
    assert (first["status"], first["errors"]) == ("exited", 2)
    assert (second["status"], second["errors"]) == ("crashed", 1)
    assert first["sid"] != second["sid"]


def test_a_framework_takes_over_from_the_process_session(sentry: Harness) -> None:
    """Once a request session starts (or a framework calls use_request_sessions), the process's
    own session is given up: closing the client sends the request aggregates and no session
    item."""
    client = sentry.client(release=RELEASE)
    _request(client, "errored")
    client.close()
    sentry.clients.remove(client)
    assert totals(list(sentry.receiver.session_aggregates), RELEASE)["errored"] == 1
    assert sentry.receiver.sessions == []
    installed = sentry.client(release=RELEASE)
    installed.use_request_sessions()  # what a framework package does when installed
    _fail(installed, handled=False)  # no request session: counts nowhere
    installed.close()
    sentry.clients.remove(installed)
    assert sentry.receiver.sessions == [] and len(sentry.receiver.session_aggregates) == 1


SCRIPT = """
import sys
import raven

client = raven.Client(sys.argv[1], release="cli@3")
if sys.argv[2] == "handled":
    try:
        1 / 0
    except ZeroDivisionError:
        client.captureException()
elif sys.argv[2] == "crash":
    raise RuntimeError("the script dies")
"""


@pytest.mark.parametrize(
    ("how", "status", "errors", "code"),
    [("clean", "exited", 0, 0), ("handled", "exited", 1, 0), ("crash", "crashed", 1, 1)],
)
def test_a_script_sends_one_session_at_exit(
    receiver: Receiver, tmp_path: Path, how: str, status: str, errors: int, code: int
) -> None:
    """A script sends one session when it exits: exited (with its error count), or crashed when
    an uncaught exception kills it (after the excepthook captured it)."""
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script), receiver.dsn, how],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == code, result.stderr
    (payload,) = receiver.wait_for_sessions(1)
    check_session(payload, "cli@3")
    assert (payload["status"], payload["errors"]) == (status, errors)
    if how == "crash":
        (event,) = receiver.wait_for(1)
        assert event["exception"]["values"][-1]["mechanism"]["handled"] is False
    assert len(receiver.sessions) == 1 and receiver.session_aggregates == []


def test_a_forked_child_does_not_send_its_parents_session(
    receiver: Receiver, tmp_path: Path
) -> None:
    """A child forked from a script (multiprocessing) does not send a copy of the parent's
    session: one session arrives, from the parent."""
    script = tmp_path / "forks.py"
    script.write_text(
        "import os, sys, raven\n"
        "client = raven.Client(sys.argv[1], release='cli@3')\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    client.flush()\n"
        "    sys.exit(0)\n"
        "os.waitpid(pid, 0)\n"
    )
    result = subprocess.run(
        [sys.executable, str(script), receiver.dsn], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    (payload,) = receiver.wait_for_sessions(1)
    check_session(payload, "cli@3")
    receiver.wait_until(lambda r: len(r.requests) >= 1)
    assert len(receiver.sessions) == 1


def test_many_minutes_stay_bounded(sentry: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions spread over more minutes than one item holds are sent as they pile up: no
    item has more than 100 aggregates and every session is counted."""
    client = sentry.client(release=RELEASE)
    minute = [28_000_000]
    monkeypatch.setattr(sessions, "_now", lambda: minute[0] * 60.0 + 1)
    for _ in range(250):
        minute[0] += 1
        _request(client)
    monkeypatch.undo()
    client.flush()
    payloads = list(sentry.receiver.session_aggregates)
    for payload in payloads:
        check_aggregates(payload, RELEASE)
    assert sum(len(p["aggregates"]) for p in payloads) == 250
    assert totals(payloads, RELEASE)["exited"] == 250


def test_a_hundred_thousand_requests_make_one_small_item(
    sentry: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """100,000 requests from 4 threads within one minute arrive as one sessions item of one
    aggregate (a few hundred bytes), counting every one of them."""
    client = sentry.client(release=RELEASE)
    minute = (int(time.time()) // 60) * 60 + 1.0
    monkeypatch.setattr(sessions, "_now", lambda: minute)  # one minute, however long it takes

    def serve(count: int) -> None:
        start, end = client.start_request_session, client.end_request_session
        for _ in range(count):
            end(start())

    threads = [threading.Thread(target=serve, args=(25_000,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    client.flush()
    (payload,) = sentry.receiver.session_aggregates
    check_aggregates(payload, RELEASE)
    assert payload["aggregates"] == [
        {"started": payload["aggregates"][0]["started"], "exited": 100_000}
    ]
    (request,) = [r for r in sentry.receiver.requests if "sessions" in r.item_types]
    assert len(request.body) < 500


def test_the_readme_example_sends_its_sessions(receiver: Receiver, tmp_path: Path) -> None:
    """The example under "Release health" in raven-core's README runs as written."""
    run_example(README, tmp_path, {"SENTRY_DSN": receiver.dsn}, "## Release health")
    receiver.wait_until(lambda r: r.session_aggregates)
    assert totals(list(receiver.session_aggregates), "shop@2.1.0") == {
        "exited": 2,
        "errored": 1,
        "crashed": 1,
        "abnormal": 0,
    }

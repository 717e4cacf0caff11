"""Cron monitors: ``client.monitor`` and ``client.capture_checkin`` send ``check_in`` items that
follow Sentry's check-in protocol (``packages/core/PROTOCOL.md``, "Check-ins")."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import raven
from raven import monitors
from raven.monitors import slugify

from tests.check_ins import HEX32, check_protocol
from tests.readme_example import run_example
from tests.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "packages" / "core" / "README.md"


def arrived(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    """Exactly ``count`` check-ins (waiting for them), each checked against the protocol."""
    check_ins = receiver.wait_for_check_ins(count)
    assert len(check_ins) == count, check_ins
    return [check_protocol(c) for c in check_ins]


def run_of(check_ins: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``in_progress`` and the closing check-in of one run (in any order of arrival), which
    share their id."""
    (start,) = [c for c in check_ins if c["status"] == "in_progress"]
    (end,) = [c for c in check_ins if c["status"] != "in_progress"]
    assert start["check_in_id"] == end["check_in_id"]
    assert start["monitor_slug"] == end["monitor_slug"]
    return start, end


@pytest.fixture
def make_client(receiver: Receiver) -> Iterator[Callable[..., raven.Client]]:
    """Clients delivering synchronously to the receiver, closed at teardown."""
    made: list[raven.Client] = []

    def make(**options: Any) -> raven.Client:
        client = raven.Client("sync+" + receiver.dsn, install_sys_hook=False, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close(timeout=5)


HOURLY = {"schedule": {"type": "crontab", "value": "0 * * * *"}, "timezone": "Europe/Paris"}


def test_decorator_sends_in_progress_then_ok_with_duration(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """A decorated job sends in_progress, then ok with its duration and the same id, both with
    the config, release and environment; the function's result comes back."""
    client = make_client(release="jobs@3", environment="staging")

    @client.monitor("nightly-report", monitor_config=HOURLY)
    def job(x: int) -> int:
        return x * 2

    assert job(21) == 42
    start, end = run_of(arrived(receiver, 2))
    assert start["monitor_slug"] == "nightly-report" and end["status"] == "ok"
    assert "duration" in end
    for check_in in (start, end):
        assert check_in["monitor_config"] == HOURLY
        assert check_in["release"] == "jobs@3" and check_in["environment"] == "staging"


def test_decorator_failure_sends_error_and_reraises(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """A decorated job that raises sends error (with duration) and its own exception reaches the
    caller unchanged."""
    client = make_client()
    boom = KeyError("boom")

    @client.monitor("fails")
    def job() -> None:
        raise boom

    with pytest.raises(KeyError) as raised:
        job()
    assert raised.value is boom
    start, end = run_of(arrived(receiver, 2))
    assert end["status"] == "error" and end["duration"] >= 0
    assert "monitor_config" not in start


def test_context_manager_success_and_failure(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """``with client.monitor(...)`` sends in_progress then ok, or error when the block raises
    (the exception propagates)."""
    client = make_client()
    with client.monitor("cm-ok"):
        pass
    with pytest.raises(ZeroDivisionError):
        with client.monitor("cm-fail"):
            1 / 0  # noqa: B018
    check_ins = arrived(receiver, 4)
    _, ok = run_of([c for c in check_ins if c["monitor_slug"] == "cm-ok"])
    _, error = run_of([c for c in check_ins if c["monitor_slug"] == "cm-fail"])
    assert ok["status"] == "ok" and error["status"] == "error"


def test_async_decorator_times_the_awaited_body(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """Decorating an ``async def`` times the awaited body (not the coroutine's creation) and
    sends error when it raises; ``async with`` works too."""
    client = make_client()

    @client.monitor("async-ok")
    async def ok_job() -> str:
        await asyncio.sleep(0.05)
        return "done"

    @client.monitor("async-fail")
    async def failing_job() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("async boom")

    async def main() -> None:
        assert await ok_job() == "done"
        with pytest.raises(RuntimeError, match="async boom"):
            await failing_job()
        async with client.monitor("async-with"):
            await asyncio.sleep(0)

    asyncio.run(main())
    check_ins = arrived(receiver, 6)
    _, ok = run_of([c for c in check_ins if c["monitor_slug"] == "async-ok"])
    _, failed = run_of([c for c in check_ins if c["monitor_slug"] == "async-fail"])
    _, with_ok = run_of([c for c in check_ins if c["monitor_slug"] == "async-with"])
    assert ok["status"] == "ok" and ok["duration"] >= 0.05
    assert failed["status"] == "error" and with_ok["status"] == "ok"


def test_capture_checkin_each_status_and_the_id_closes_it(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """capture_checkin returns a 32-hex id; passing it back closes the same check-in; ok and
    error can be sent alone (heartbeats), with a duration on the closing ones only."""
    client = make_client()
    interval = {
        "schedule": {"type": "interval", "value": 10, "unit": "minute"},
        "checkin_margin": 2,
        "max_runtime": 30,
        "failure_issue_threshold": 3,
        "recovery_threshold": 2,
        "timezone": "UTC",
    }
    check_in_id = client.capture_checkin("sync-job", "in_progress", monitor_config=interval)
    assert HEX32.fullmatch(check_in_id)
    same = client.capture_checkin("sync-job", "ok", check_in_id=check_in_id, duration=12)
    assert same == check_in_id
    beat = client.capture_checkin("heartbeat", "ok")
    failed = client.capture_checkin("heartbeat", "error", duration=0.5)
    start, ok, heartbeat, error = arrived(receiver, 4)  # synchronous: in order
    assert start["check_in_id"] == ok["check_in_id"] == check_in_id
    assert start["monitor_config"] == interval and ok["duration"] == 12.0
    assert heartbeat["check_in_id"] == beat and heartbeat["status"] == "ok"
    assert error["check_in_id"] == failed != beat and error["duration"] == 0.5
    assert "duration" not in heartbeat


def test_bad_values_never_raise(
    make_client: Callable[..., raven.Client],
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bad values never raise: a bad status or slug drops the check-in (counted ``invalid``), a
    bad id is replaced, a bad duration or config key is left out, a bad schedule leaves the
    whole config out; each kind of problem is logged once on ``raven.monitors``."""
    client = make_client()
    monitors._warn._warned.clear()  # once per process: forget earlier tests' warnings
    caplog.set_level(logging.WARNING, logger="raven.monitors")
    client.capture_checkin("job", "done")  # unknown status: dropped
    client.capture_checkin("job", "finished")  # the same problem: no second warning
    client.capture_checkin("!!!", "ok")  # nothing left of the slug: dropped
    client.capture_checkin(None, "ok")  # type: ignore[arg-type]
    bad_id = client.capture_checkin("job", "ok", check_in_id="not-an-id", duration=-1)
    client.capture_checkin("job", "in_progress", duration=3)  # no duration on a start
    client.capture_checkin(
        "job",
        "ok",
        duration=float("nan"),
        monitor_config={
            "schedule": {"type": "interval", "value": 5, "unit": "minute"},
            "max_runtime": "soon",
            "checkin_margin": True,
            "timezone": 7,
            "colour": "blue",
        },
    )
    client.capture_checkin(
        "job", "ok", monitor_config={"schedule": {"type": "interval", "value": 5, "unit": "sec"}}
    )
    client.capture_checkin("job", "ok", monitor_config={"schedule": {"type": "crontab"}})
    client.capture_checkin("job", "ok", monitor_config="hourly")  # type: ignore[arg-type]
    with client.monitor("job", monitor_config=["not", "a", "dict"]):  # type: ignore[arg-type]
        pass
    check_ins = arrived(receiver, 8)
    assert HEX32.fullmatch(bad_id) and check_ins[0]["check_in_id"] == bad_id
    assert all("duration" not in c for c in check_ins[:3])
    assert check_ins[2]["monitor_config"] == {
        "schedule": {"type": "interval", "value": 5, "unit": "minute"}
    }
    assert all("monitor_config" not in c for c in check_ins[3:])
    client.captureMessage("reports go with this one")
    receiver.wait_for(1)
    assert receiver.discarded() == {("invalid", "monitor"): 4}
    messages = [r.getMessage() for r in caplog.records if r.name == "raven.monitors"]
    assert len(messages) == len(set(messages)) == 11, messages


def test_a_timezone_outside_the_tz_database_is_left_out(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """A ``timezone`` the tz database does not know is left out of the config (the monitor
    would be refused with it); a known one is kept."""
    client = make_client()
    schedule = {"type": "crontab", "value": "0 4 * * *"}
    client.capture_checkin(
        "tz", "ok", monitor_config={"schedule": schedule, "timezone": "Mars/Base"}
    )
    client.capture_checkin(
        "tz", "ok", monitor_config={"schedule": schedule, "timezone": "Asia/Tokyo"}
    )
    unknown, known = arrived(receiver, 2)
    assert unknown["monitor_config"] == {"schedule": schedule}
    assert known["monitor_config"] == {"schedule": schedule, "timezone": "Asia/Tokyo"}


def test_oversized_check_in_is_dropped_and_counted(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """A check-in over 100 KiB (a huge config) is not sent but counted (``too_large``,
    ``monitor``); the next ones go out."""
    client = make_client()
    huge = {"schedule": {"type": "crontab", "value": "* * * * *"}, "owner": "x" * 200_000}
    dropped_id = client.capture_checkin("huge", "in_progress", monitor_config=huge)
    assert HEX32.fullmatch(dropped_id)
    client.capture_checkin("huge", "ok")
    (check_in,) = arrived(receiver, 1)
    assert check_in["status"] == "ok"
    client.captureMessage("carries the report")
    receiver.wait_for(1)
    assert receiver.discarded() == {("too_large", "monitor"): 1}


def test_rate_limited_monitor_stops_check_ins_not_errors(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """After a 429 limiting ``monitor``, check-ins are dropped and counted
    (``ratelimit_backoff``) while errors are still delivered."""
    client = make_client()
    receiver.respond_with(429, {"X-Sentry-Rate-Limits": "60:monitor:key"})
    client.capture_checkin("limited", "in_progress")
    receiver.respond_with(200)
    for _ in range(3):
        client.capture_checkin("limited", "ok")
    with client.monitor("limited"):
        pass
    client.captureMessage("errors still flow")
    (event,) = receiver.wait_for(1)
    assert event["message"] == "errors still flow"
    assert [r.status for r in receiver.requests] == [429, 200]  # nothing sent in between
    assert receiver.check_ins == []
    assert receiver.discarded() == {("ratelimit_backoff", "monitor"): 5}


def test_check_ins_are_never_sampled_out(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """With ``sample_rate=0`` and ``traces_sample_rate=0`` check-ins are still sent, and no
    ``before_send`` sees them."""
    seen: list[Any] = []
    client = make_client(
        sample_rate=0.0, traces_sample_rate=0.0, before_send=lambda e, h: seen.append(e)
    )
    with client.monitor("always"):
        client.captureMessage("sampled out")
    start, end = run_of(arrived(receiver, 2))
    assert end["status"] == "ok" and seen == [] and receiver.events == []


def test_check_ins_carry_the_current_trace(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """A check-in made inside a transaction carries its trace id, like the errors captured in
    it, so Sentry links them."""
    client = make_client(traces_sample_rate=1.0)
    with client.start_transaction(name="cron", op="task"):
        with pytest.raises(ValueError):
            with client.monitor("traced"):
                try:
                    raise ValueError("in the job")
                except ValueError:
                    client.captureException()
                    raise
    start, end = run_of(arrived(receiver, 2))
    (event,) = receiver.wait_for(1)
    trace_id = event["contexts"]["trace"]["trace_id"]
    assert (
        start["contexts"]["trace"]["trace_id"] == end["contexts"]["trace"]["trace_id"] == trace_id
    )


def test_disabled_client_sends_nothing_and_still_runs_the_job() -> None:
    """Without a DSN the job runs, its exception propagates, and capture_checkin returns an id."""
    client = raven.Client(install_sys_hook=False)

    @client.monitor("off")
    def job() -> int:
        return 1

    assert job() == 1
    assert HEX32.fullmatch(client.capture_checkin("off", "ok"))
    client.close()


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("nightly-report", "nightly-report"),
        ("Nightly Report", "nightly-report"),
        ("tasks.send_email every 5 min", "taskssend_email-every-5-min"),
        ("  -Élan vital-  ", "elan-vital"),
        ("x" * 80, "x" * 50),
        ("!!!", ""),
    ],
)
def test_slugify_makes_slugs_as_sentry_does(name: str, slug: str) -> None:
    """slugify keeps ASCII letters, digits, '_' and '-', lower-cased, at most 50 characters."""
    assert slugify(name) == slug


def test_monitors_module_is_not_imported_until_used() -> None:
    """``import raven; raven.Client(dsn)`` does not import raven.monitors."""
    code = (
        "import sys, raven; raven.Client('http://k@127.0.0.1:9/1');"
        "assert 'raven.monitors' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_readme_example_sends_its_check_ins(receiver: Receiver, tmp_path: Path) -> None:
    """The example under "Cron monitors" in raven-core's README runs as written."""
    run_example(README, tmp_path, {"SENTRY_DSN": receiver.dsn}, section="## Cron monitors")
    check_ins = [check_protocol(c) for c in receiver.wait_for_check_ins(4)]
    report = [c for c in check_ins if c["monitor_slug"] == "nightly-report"]
    start, end = run_of(report)
    assert start["monitor_config"]["schedule"] == {"type": "crontab", "value": "0 3 * * *"}
    assert end["status"] == "ok"
    start, end = run_of([c for c in check_ins if c["monitor_slug"] == "cleanup"])
    assert end["status"] == "ok" and end["duration"] >= 0

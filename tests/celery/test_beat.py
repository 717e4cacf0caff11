"""Celery beat tasks as cron monitors: a real ``celery beat`` process sends the schedule of
``tests.celery.beat_app`` to a real prefork worker over a real Redis, and the worker's check-ins
arrive at the receiver, checked against Sentry's check-in protocol."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import raven
from celery.schedules import BaseSchedule, crontab, schedule
from raven_celery import monitor_beat_tasks
from raven_celery.beat import HEADER_CONFIG, HEADER_SLUG, beat_monitor_config

from celery import Celery
from tests.celery.conftest import ROOT, Worker, _wait
from tests.check_ins import check_protocol
from tests.receiver import Receiver

BEAT_APP = "tests.celery.beat_app"


class Beat:
    """A ``celery beat`` subprocess sending the beat app's schedule to the worker's broker."""

    def __init__(self, worker: Worker, workdir: Path) -> None:
        self.log = workdir / "beat.log"
        env = dict(
            os.environ,
            RAVEN_TEST_BROKER=worker.broker,
            RAVEN_TEST_DSN=worker.receiver.dsn,
            RAVEN_TEST_ERRORS=str(worker.errors),
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
        )
        env.pop("SENTRY_DSN", None)
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            BEAT_APP,
            "beat",
            "--loglevel",
            "INFO",
            "-s",
            str(workdir / "celerybeat-schedule"),
            "--max-interval",
            "1",
        ]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture(scope="module")
def beat_run(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """A prefork worker and a beat process for the beat app; the beat stops first, then the
    worker (delivering what it holds). Yields the stopped worker, its receiver still up."""
    workdir = tmp_path_factory.mktemp("celery-beat")
    worker = Worker(redis_url, "prefork", ["-c", "2"], workdir, tasks=BEAT_APP).start()
    beat = Beat(worker, workdir)
    try:

        def enough() -> bool:
            assert beat.proc.poll() is None, f"beat exited:\n{beat.output()}"
            closed = [c for c in worker.receiver.check_ins if c["status"] != "in_progress"]
            slugs = [c["monitor_slug"] for c in closed]
            return (
                slugs.count("every-second-tick") >= 2
                and slugs.count("flaky") >= 2
                and "two-hourly-report" in slugs
                and len(worker.receiver.events) >= 2  # the excluded task ran, twice
            )

        try:
            _wait(enough, 90, "the beat tasks' check-ins")
        except AssertionError:
            raise AssertionError(
                f"check-ins {worker.receiver.check_ins}\nbeat log:\n{beat.output()}\n"
                f"worker log:\n{worker.output()}"
            ) from None
        beat.stop()
        worker.stop()
        yield worker
    finally:
        beat.stop()
        worker.close()


def runs(check_ins: list[dict[str, Any]], slug: str) -> list[list[dict[str, Any]]]:
    """The check-ins of ``slug`` grouped by check-in id (each group one run), in the order the
    runs started."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for check_in in check_ins:
        if check_in["monitor_slug"] == slug:
            by_id.setdefault(check_in["check_in_id"], []).append(check_in)
    return list(by_id.values())


def test_scheduled_tasks_send_matching_check_ins_with_the_upserted_schedule(
    beat_run: Worker,
) -> None:
    """Each run of a beat task sends in_progress then ok from the worker, sharing one id, with
    the entry's schedule converted (an interval, a crontab) and the app's time zone; every
    check-in follows the protocol, carries the client's release and environment, and only the
    closing one has a duration."""
    check_ins = [check_protocol(c) for c in beat_run.receiver.check_ins]
    assert beat_run.raven_errors() == ""
    for check_in in check_ins:
        assert check_in["release"] == "beat-tests@1" and check_in["environment"] == "ci"
    ticks = runs(check_ins, "every-second-tick")
    complete = [run for run in ticks if len(run) == 2]
    assert len(complete) >= 2 and len(complete) >= len(ticks) - 1  # the last may be cut short
    for run in complete:
        assert sorted(c["status"] for c in run) == ["in_progress", "ok"]
        assert len({c["contexts"]["trace"]["trace_id"] for c in run}) == 1  # the task's trace
        for check_in in run:
            assert check_in["monitor_config"] == {
                "schedule": {"type": "interval", "value": 1, "unit": "minute"},
                "timezone": "Europe/Paris",
            }
    assert len({run[0]["check_in_id"] for run in ticks}) == len(ticks)  # a new id per run
    (report, *_) = runs(check_ins, "two-hourly-report")
    assert sorted(c["status"] for c in report) == ["in_progress", "ok"]
    assert report[0]["monitor_config"] == {
        "schedule": {"type": "crontab", "value": "0 */2 * * mon-fri"},
        "timezone": "Europe/Paris",
    }


def test_a_task_failing_then_succeeding_on_retry_sends_two_runs(beat_run: Worker) -> None:
    """A beat task that fails on its first run and succeeds on its retry sends in_progress and
    error for the first attempt, and in_progress and ok for the retry: the same slug, each
    attempt's start and end sharing an id, the two attempts' ids distinct. (The attempts may run
    in different worker processes, so which run's check-ins arrive first is not asserted.)"""
    check_ins = [check_protocol(c) for c in beat_run.receiver.check_ins]
    attempts = runs(check_ins, "flaky")
    assert len(attempts) == 2
    by_end = {
        next(c["status"] for c in run if c["status"] != "in_progress"): sorted(run, key=_order)
        for run in attempts
    }
    first, retry = by_end["error"], by_end["ok"]
    assert [c["status"] for c in first] == ["in_progress", "error"]
    assert [c["status"] for c in retry] == ["in_progress", "ok"]
    assert first[0]["check_in_id"] != retry[0]["check_in_id"]
    for run in (first, retry):
        (end,) = [c for c in run if c["status"] != "in_progress"]
        assert end["duration"] >= 0
        assert run[0]["monitor_config"]["schedule"] == {"type": "crontab", "value": "30 4 * * *"}


def test_excluded_tasks_send_no_check_ins(beat_run: Worker) -> None:
    """A task excluded by pattern runs (its message arrived) but sends no check-in."""
    assert [e["message"] for e in beat_run.receiver.events][:2] == ["noisy ran", "noisy ran"]
    assert not [c for c in beat_run.receiver.check_ins if "noisy" in c["monitor_slug"]]


def _order(check_in: dict[str, Any]) -> int:
    return 0 if check_in["status"] == "in_progress" else 1


# -- the beat side, in this process -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("beat_schedule", "expected"),
    [
        (crontab(minute=0, hour="*/2"), {"type": "crontab", "value": "0 */2 * * *"}),
        (
            crontab(minute={0, 30}, day_of_week="mon-fri"),
            {"type": "crontab", "value": "0,30 * * * mon-fri"},
        ),
        (crontab(), {"type": "crontab", "value": "* * * * *"}),
        (schedule(timedelta(hours=2)), {"type": "interval", "value": 2, "unit": "hour"}),
        (timedelta(days=14), {"type": "interval", "value": 2, "unit": "week"}),
        (86400 * 3, {"type": "interval", "value": 3, "unit": "day"}),
        (300.0, {"type": "interval", "value": 5, "unit": "minute"}),
        (90, {"type": "interval", "value": 2, "unit": "minute"}),
        (1.0, {"type": "interval", "value": 1, "unit": "minute"}),
    ],
)
def test_schedules_convert_to_monitor_schedules(beat_schedule: Any, expected: Any) -> None:
    """Celery's crontabs become five-field crontab strings, intervals the largest unit dividing
    them exactly (else whole minutes, rounded up: Sentry's smallest unit)."""
    config = beat_monitor_config(beat_schedule, "America/New_York")
    assert config == {"schedule": expected, "timezone": "America/New_York"}


class FullMoon(BaseSchedule):
    """A schedule of the app's own kind (neither crontab nor interval): not monitored."""

    def is_due(self, last_run_at: Any) -> tuple[bool, float]:
        return False, 3600.0


def test_monitor_beat_tasks_marks_entries_and_uninstall_unmarks_them(receiver: Receiver) -> None:
    """The call puts slug and config in each monitored entry's headers (keeping the app's own
    headers), leaves excluded entries and unsupported schedules alone, installs once however
    often it is called, and uninstall takes the headers away."""
    app = Celery("beat-side", set_as_current=False)
    shared = {"headers": {"x-team": "ops"}, "queue": "beat"}
    app.conf.beat_schedule = {
        "Hourly Cleanup": {"task": "t.cleanup", "schedule": 3600, "options": shared},
        "internal sync": {"task": "t.sync", "schedule": 60, "options": shared},
        "full moon": {"task": "t.moon", "schedule": FullMoon()},
    }
    client = raven.Client(receiver.dsn, install_sys_hook=False)
    try:
        first = monitor_beat_tasks(app, client, exclude=["^internal", r"\.never$"])
        assert monitor_beat_tasks(app, client, exclude=["^internal"]) is first
        entries = app.conf.beat_schedule
        headers = entries["Hourly Cleanup"]["options"]["headers"]
        assert headers["x-team"] == "ops" and headers[HEADER_SLUG] == "hourly-cleanup"
        assert headers[HEADER_CONFIG] == {
            "schedule": {"type": "interval", "value": 1, "unit": "hour"},
            "timezone": "UTC",
        }
        assert entries["Hourly Cleanup"]["options"]["queue"] == "beat"
        assert HEADER_SLUG not in entries["internal sync"]["options"]["headers"]
        assert shared == {"headers": {"x-team": "ops"}, "queue": "beat"}  # not changed in place
        assert "options" not in entries["full moon"]
        first.uninstall()
        assert not first.installed
        assert entries["Hourly Cleanup"]["options"]["headers"] == {"x-team": "ops"}
    finally:
        client.close()


def test_the_readme_example_marks_the_schedule() -> None:
    """The example under "Celery beat monitors" in raven-celery's README runs as written and
    monitors its two entries, not the excluded one."""
    from raven_celery import beat, handler

    readme = (ROOT / "packages" / "celery" / "README.md").read_text()
    section = readme.split("## Celery beat monitors", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    app, client = namespace["app"], namespace["client"]
    try:
        entries = app.conf.beat_schedule
        assert entries["nightly report"]["options"]["headers"][HEADER_CONFIG] == {
            "schedule": {"type": "crontab", "value": "0 3 * * *"},
            "timezone": "Europe/Paris",
        }
        assert entries["refresh cache"]["options"]["headers"][HEADER_SLUG] == "refresh-cache"
        assert "options" not in entries["internal heartbeat"]
    finally:
        beat._registry[(id(app), id(client))].uninstall()
        handler._registry[id(client)].uninstall()
        client.close()

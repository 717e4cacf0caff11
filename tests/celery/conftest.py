"""Fixtures for the Celery tests: a real Redis, and real ``celery worker`` subprocesses.

Starting a worker costs seconds, so each pool type gets one worker per test session module,
shared by the tests of that module; every test uses marks (unique strings passed as the tasks'
first argument) to find its own events. Each worker sends to a receiver of its own, and each
worker's events are accounted for when it stops: every expected event exactly once, nothing else.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import raven
import redis
from celery.result import AsyncResult
from raven_celery import register_signal

from celery import Celery
from tests.receiver import Receiver
from tests.relay import validate_event

ROOT = Path(__file__).resolve().parents[2]
TASKS = "tests.celery.app"


def _wait(predicate: Callable[[], Any], timeout: float, what: str, poll: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, without persistence."""
    binary = shutil.which("redis-server")
    assert binary, (
        "redis-server is missing: `apt-get install redis-server` (python .ci/servers.py does it)"
    )
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    probe = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)

    def ready() -> bool:
        assert proc.poll() is None, f"redis-server exited with {proc.returncode}"
        try:
            return bool(probe.ping())
        except redis.ConnectionError:
            return False

    try:
        _wait(ready, 10, "redis-server to answer PING")
        yield f"redis://127.0.0.1:{port}"
    finally:
        probe.close()
        proc.terminate()
        proc.wait(10)


class Worker:
    """One ``celery worker`` subprocess, its own Redis database and its own receiver."""

    _next_db = 1

    def __init__(
        self,
        redis_url: str,
        pool: str,
        args: list[str],
        workdir: Path,
        env: dict[str, str] | None = None,
        tasks: str = TASKS,
    ) -> None:
        self.pool = pool
        self.tasks = tasks  # the app module the worker runs (``celery -A``)
        self.args = args
        self.env = env or {}
        db = Worker._next_db
        Worker._next_db += 1
        self.broker = f"{redis_url}/{db}"
        self.receiver = Receiver().start()
        self.log = workdir / f"worker-{pool}-{db}.log"
        self.errors = workdir / f"raven-errors-{pool}-{db}.log"
        self.errors.touch()
        self.app = Celery("tests.celery.producer", broker=self.broker, backend=self.broker)
        # No retries against a stopped Redis: before Celery 5.7, a result collected after the
        # test's Redis is gone would retry at exit for minutes.
        self.app.conf.update(
            broker_connection_retry_on_startup=True,
            result_backend_transport_options={"retry_policy": {"max_retries": 0}},
        )
        self.expected: dict[str, int] = {}
        self.untraced: set[str] = set()  # tasks that must send no transaction
        self.proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None
        self.nodename = f"raven-{pool}-{db}@localhost"

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Worker:
        env = dict(
            os.environ,
            RAVEN_TEST_BROKER=self.broker,
            RAVEN_TEST_DSN=self.receiver.dsn,
            RAVEN_TEST_ERRORS=str(self.errors),
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
        )
        for name in ("SENTRY_DSN", "SENTRY_TRACES_SAMPLE_RATE"):
            env.pop(name, None)
        env.update(self.env)
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            self.tasks,
            "worker",
            "-P",
            self.pool,
            "-n",
            self.nodename,
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            *self.args,
        ]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.output()}")
            return f"{self.nodename} ready." in self.output()

        _wait(ready, 30, f"the {self.pool} worker to be ready")
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def raven_errors(self) -> str:
        return self.errors.read_text(errors="replace")

    def terminate(self) -> None:
        """SIGTERM: Celery's warm shutdown (running tasks finish, then the worker exits)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout: float = 30) -> int:
        if self.proc is None:
            return self.returncode if self.returncode is not None else 0
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(
                f"the {self.pool} worker did not stop on SIGTERM:\n{self.output()}"
            )
        finally:
            self.proc = None
        return self.returncode

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then wait for the worker to exit."""
        self.terminate()
        return self.wait_exit(timeout)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.app.close()
        self.receiver.stop()

    # -- tasks and events -------------------------------------------------------------------------
    def send(self, task: str, mark: str, expect: int, **kwargs: Any) -> AsyncResult:
        """Send ``tests.celery.app.<task>(mark, **kwargs)``, expecting ``expect`` events for it."""
        self.expected[mark] = self.expected.get(mark, 0) + expect
        return self.app.send_task(f"{TASKS}.{task}", args=[mark], kwargs=kwargs)

    def wait_state(self, result: AsyncResult, *states: str, timeout: float = 20) -> str:
        return str(
            _wait(
                lambda: result.state if result.state in states else None,
                timeout,
                f"task {result.id} to reach {states} (log:\n{self.output()})",
            )
        )

    def wait_idle(self, timeout: float = 20) -> None:
        """Until the worker's main process has taken back every task's result from its pool
        (``inspect active`` lists nothing)."""
        inspect = self.app.control.inspect(destination=[self.nodename], timeout=1.0, limit=1)
        _wait(
            lambda: (inspect.active() or {}).get(self.nodename) == [],
            timeout,
            f"the {self.pool} worker to be idle (log:\n{self.output()})",
        )

    def events_for(self, mark: str) -> list[dict[str, Any]]:
        return [event for event in list(self.receiver.events) if event_mark(event) == mark]

    def wait_events(self, mark: str, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        """The events for ``mark`` once ``count`` of them arrived; each is validated by Relay."""
        try:
            self.receiver.wait_until(lambda r: len(self.events_for(mark)) >= count, timeout)
        except AssertionError:
            raise AssertionError(
                f"{len(self.events_for(mark))} events for {mark}, expected {count}; "
                f"worker log:\n{self.output()}"
            ) from None
        events = self.events_for(mark)
        for event in events:
            validate_event(event)
        return events

    def wait_transaction(self, task_id: str, timeout: float = 20) -> dict[str, Any]:
        """The transaction of the task ``task_id`` (validated by Relay), once it arrived."""

        def found() -> dict[str, Any] | None:
            for transaction in list(self.receiver.transactions):
                if task_of(transaction) == task_id:
                    return transaction
            return None

        try:
            self.receiver.wait_until(lambda r: found() is not None, timeout)
        except AssertionError:
            raise AssertionError(
                f"no transaction for task {task_id}; worker log:\n{self.output()}"
            ) from None
        transaction = found()
        assert transaction is not None
        validate_event(transaction)
        return transaction

    def check_ledger(self) -> None:
        """After the worker stopped: each expected event arrived exactly once, and nothing else;
        no transaction for the tasks in ``untraced``."""
        counts: dict[str | None, int] = {}
        for event in self.receiver.events:
            validate_event(event)
            counts[event_mark(event)] = counts.get(event_mark(event), 0) + 1
        expected = {mark: n for mark, n in self.expected.items() if n}
        assert counts == expected, f"events by mark {counts}, expected {expected}"
        traced = {task_of(transaction) for transaction in self.receiver.transactions}
        assert not traced & self.untraced, f"transactions sent for {traced & self.untraced}"
        ids = [event["event_id"] for event in self.receiver.events]
        assert len(ids) == len(set(ids)), "an event was delivered twice"
        assert self.raven_errors() == "", (
            f"Raven logged errors in the worker:\n{self.raven_errors()}"
        )


def event_mark(event: dict[str, Any]) -> str | None:
    """The mark of the task an event belongs to: its first argument, or the end of its message."""
    job = (event.get("extra") or {}).get("celery-job") or {}
    args = job.get("args") or []
    if args and isinstance(args[0], str):
        return args[0]
    message = (event.get("logentry") or {}).get("formatted") or event.get("message") or ""
    return str(message).rsplit(" ", 1)[-1] or None


def task_of(transaction: dict[str, Any]) -> str | None:
    """The id of the task a ``queue.task.celery`` transaction ran (from its queue.process span)."""
    for span in transaction.get("spans") or []:
        if span.get("op") == "queue.process":
            return (span.get("data") or {}).get("messaging.message.id")
    return None


def spans_of(transaction: dict[str, Any], op: str) -> list[dict[str, Any]]:
    """The spans of ``transaction`` whose op is ``op``."""
    return [span for span in transaction["spans"] if span["op"] == op]


def new_mark() -> str:
    return f"m{uuid.uuid4().hex[:12]}"


# Worker command lines by name. Celery replaces a recycled child only on its pool maintenance
# tick (every 5 s), so the recycled worker gets a child per task it runs in the tests. The
# "-traced" workers run with tracing on (every task a transaction).
POOLS: dict[str, list[str]] = {
    "prefork": ["-c", "2"],
    "prefork-recycled": ["-c", "4", "--max-tasks-per-child=1"],
    "threads": ["-c", "2"],
    "solo": [],
    "prefork-traced": ["-c", "2"],
    "threads-traced": ["-c", "2"],
}
ALL_POOLS = ["prefork", "prefork-recycled", "threads", "solo"]
REUSING_POOLS = ["prefork", "threads", "solo"]
TRACED_ENV = {"SENTRY_TRACES_SAMPLE_RATE": "1.0"}


def pools(*names: str) -> pytest.MarkDecorator:
    """Run the test against the workers named (one shared worker each)."""
    return pytest.mark.parametrize("worker", names, indirect=True)


@pytest.fixture(scope="module")
def worker(
    request: pytest.FixtureRequest, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    """A running worker of each pool type, shared by the module's tests; checked when it stops."""
    name = request.param
    pool = name.split("-")[0]
    started = Worker(
        redis_url,
        pool,
        POOLS[name],
        tmp_path_factory.mktemp(f"celery-{name}"),
        env=TRACED_ENV if name.endswith("-traced") else None,
    ).start()
    try:
        yield started
        if started.running:
            started.stop()
            started.check_ledger()
    finally:
        started.close()


@pytest.fixture
def sender(worker: Worker) -> Iterator[raven.Client]:
    """A tracing client in this process (the sending side), registered for Celery, reporting to
    the worker's receiver."""
    client = raven.Client(dsn=worker.receiver.dsn, traces_sample_rate=1.0, release="web@1")
    handler = register_signal(client)
    yield client
    handler.uninstall()
    client.close()

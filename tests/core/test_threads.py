"""``propagate_context_to_threads``: threads and thread-pool jobs started from a request carry
its context, each in a copy of its own, and the patches go when the last client closes."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import raven
from raven import hooks

from .conftest import Harness

ORIGINAL_START = threading.Thread.start
ORIGINAL_SUBMIT = ThreadPoolExecutor.submit


class _Nobody:
    """A holder that holds nothing: releasing it drops a hook whose holders are all gone."""


@pytest.fixture(autouse=True)
def _no_leftover_hook() -> Iterator[None]:
    """Start without the hook that a client of an earlier test, collected without ``close()``,
    left installed."""
    gc.collect()
    if not hooks.holders("threads"):
        hooks.release("threads", _Nobody())
    assert not hooks.is_installed("threads"), f"held by {hooks.holders('threads')}"
    yield


def test_pool_job_carries_the_submitters_tags_and_user(sentry: Harness) -> None:
    """An error captured in a ThreadPoolExecutor job has the tags and user set before submitting."""
    client = sentry.client()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: None).result()  # the worker thread exists before the request
        with client.context:
            client.tags_context({"request": "r1"})
            client.user_context({"id": "u1"})
            pool.submit(client.captureMessage, "in a job").result()
    event = sentry.event()
    assert event["tags"]["request"] == "r1"
    assert event["user"]["id"] == "u1"


def test_plain_thread_carries_the_starters_context(sentry: Harness) -> None:
    """A thread started inside a request captures with the request's tags."""
    client = sentry.client()

    def work() -> None:
        try:
            raise ValueError("in a thread")
        except ValueError:
            client.captureException()

    with client.context:
        client.tags_context({"request": "r1"})
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    (event,) = sentry.events(1)
    assert event["tags"]["request"] == "r1"


def test_concurrent_requests_do_not_see_each_others_data(sentry: Harness) -> None:
    """Two requests sharing one pool worker each get their own data, and a job's changes stay in
    the job."""
    client = sentry.client()
    both_set = threading.Barrier(2)
    seen_after_job: dict[str, dict[str, Any]] = {}

    def job(name: str) -> None:
        client.tags_context({"job": name})
        client.captureMessage(name)

    def request(name: str, pool: ThreadPoolExecutor) -> None:
        with client.context:
            client.tags_context({"request": name})
            client.user_context({"id": name})
            both_set.wait(timeout=10)
            pool.submit(job, name).result()
            seen_after_job[name] = client.context.get()

    with ThreadPoolExecutor(max_workers=1) as pool:
        requests = [threading.Thread(target=request, args=(n, pool)) for n in ("a", "b")]
        for thread in requests:
            thread.start()
        for thread in requests:
            thread.join()
    events = sentry.events(2)
    assert sorted(e["logentry"]["formatted"] for e in events) == ["a", "b"]
    for event in events:
        name = event["logentry"]["formatted"]
        assert event["tags"]["request"] == event["tags"]["job"] == name
        assert event["user"]["id"] == name
    assert seen_after_job["a"]["tags"] == {"request": "a"}
    assert seen_after_job["b"]["tags"] == {"request": "b"}


def test_option_off_leaves_threads_alone(sentry: Harness) -> None:
    """With ``propagate_context_to_threads=False`` a pool job starts without the request's tags
    and nothing is patched."""
    client = sentry.client(propagate_context_to_threads=False)
    assert not hooks.is_installed("threads")
    assert threading.Thread.start is ORIGINAL_START
    with ThreadPoolExecutor(max_workers=1) as pool, client.context:
        client.tags_context({"request": "r1"})
        pool.submit(client.captureMessage, "in a job").result()
    assert "request" not in sentry.event().get("tags", {})


def test_patches_undone_after_the_last_client_closes(sentry: Harness) -> None:
    """Two clients install the patches once; they stay until the second closes, then the original
    methods are back and can be patched again."""
    first, second = sentry.client(), sentry.client()
    assert threading.Thread.start is not ORIGINAL_START
    assert ThreadPoolExecutor.submit is not ORIGINAL_SUBMIT
    first.close()
    assert hooks.is_installed("threads")
    second.close()
    assert not hooks.is_installed("threads")
    assert threading.Thread.start is ORIGINAL_START
    assert ThreadPoolExecutor.submit is ORIGINAL_SUBMIT
    third = sentry.client()
    assert threading.Thread.start is not ORIGINAL_START
    third.close()
    assert threading.Thread.start is ORIGINAL_START


def test_disabled_client_patches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client without a DSN leaves ``Thread.start`` and ``submit`` as they are."""
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    client = raven.Client()
    try:
        assert not hooks.is_installed("threads")
        assert threading.Thread.start is ORIGINAL_START
        assert ThreadPoolExecutor.submit is ORIGINAL_SUBMIT
    finally:
        client.close()


UNCAUGHT_IN_THREAD = textwrap.dedent("""
    import sys, threading
    import raven

    threading.excepthook = lambda args: None  # raven chains to it: no printout
    client = raven.Client(sys.argv[1])
    with client.context:
        client.tags_context({"request": "r1"})

        def work():
            raise KeyError("uncaught in a thread")

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    client.close()
""")


def test_uncaught_error_in_a_thread_carries_the_starters_context(sentry: Harness) -> None:
    """The excepthook's event for an error a thread did not catch has its starter's tags."""
    result = subprocess.run(
        [sys.executable, "-c", UNCAUGHT_IN_THREAD, sentry.receiver.dsn],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    event = sentry.event()
    assert event["exception"]["values"][-1]["type"] == "KeyError"
    assert event["tags"]["request"] == "r1"


def test_an_executor_imported_after_the_client_still_runs_jobs_in_the_submitters_context(
    receiver: Any,
) -> None:
    """``concurrent.futures`` is patched when the app imports it, not by ``import raven``."""
    script = """
import sys, raven
client = raven.Client(sys.argv[1], install_sys_hook=False)
assert "concurrent.futures" not in sys.modules, "import raven imported concurrent.futures"
from concurrent.futures import ThreadPoolExecutor
client.tags_context({"job": "nightly"})
with ThreadPoolExecutor(1) as pool:
    pool.submit(client.captureMessage, "from the pool").result()
client.close()
"""
    subprocess.run([sys.executable, "-c", script, receiver.dsn], check=True, timeout=60)
    (event,) = receiver.wait_for(1)
    assert event["tags"]["job"] == "nightly"

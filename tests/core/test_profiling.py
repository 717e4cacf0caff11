"""Profiling in raven-core: profiled transactions arrive with a ``profile`` item in their envelope
(sample format v1) whose samples show where the time went; the sampler thread exists only while
a profile runs; forked children profile on their own; long or tiny profiles are dropped and
counted; bad options fail at construction."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import raven
from raven.exceptions import ConfigurationError

from tests.core.conftest import Harness
from tests.receiver import Receiver, parse_envelope
from tests.relay import validate_event

ROOT = Path(__file__).resolve().parents[2]


def profiled(sentry: Harness, **options: Any) -> raven.Client:
    return sentry.client(traces_sample_rate=1.0, profiles_sample_rate=1.0, **options)


def profiles(receiver: Receiver) -> list[dict[str, Any]]:
    """The payload of every ``profile`` item that arrived."""
    found = []
    for request in list(receiver.requests):
        if "/envelope/" not in request.path:
            continue
        for headers, payload in parse_envelope(request.body)[1]:
            if headers.get("type") == "profile":
                found.append(json.loads(payload))
    return found


def profiler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "raven.profiler"]


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


@pytest.fixture(autouse=True)
def _no_profiler_thread_left() -> Iterator[None]:
    """Each test starts and ends with no sampler thread (it lingers a tenth of a second)."""
    wait_for(lambda: profiler_threads() == [])
    yield
    wait_for(lambda: profiler_threads() == [])


def hot_function(transaction: Any, ticks: int = 30) -> int:
    """Busy on the CPU until the transaction's profile holds ``ticks`` samples (10 s at most)."""
    deadline = time.monotonic() + 10
    spins = 0
    while len(transaction.profile.ticks) < ticks and time.monotonic() < deadline:
        spins += 1
    return spins


def functions_of(profile: dict[str, Any], sample: dict[str, Any]) -> list[str]:
    data = profile["profile"]
    return [data["frames"][i]["function"] for i in data["stacks"][sample["stack_id"]]]


def check_shape(profile: dict[str, Any]) -> None:
    """The documented v1 shape: every stack and frame index valid, samples in time order,
    each sampled thread described, frames carrying what Sentry reads."""
    assert profile["platform"] == "python" and profile["version"] == "1"
    for key in ("event_id", "timestamp", "release", "environment"):
        assert isinstance(profile[key], str), key
    assert profile["device"]["architecture"]
    assert profile["os"]["name"] and profile["runtime"]["name"] == "CPython"
    data = profile["profile"]
    frames, stacks, samples = data["frames"], data["stacks"], data["samples"]
    assert len(samples) >= 2
    assert all(0 <= i < len(frames) for stack in stacks for i in stack)
    assert all(0 <= s["stack_id"] < len(stacks) for s in samples)
    times = [s["elapsed_since_start_ns"] for s in samples]
    assert times == sorted(times) and times[0] >= 0
    assert len(set(times)) >= 2  # more than one tick
    assert {s["thread_id"] for s in samples} <= set(data["thread_metadata"])
    assert all(isinstance(s["thread_id"], str) for s in samples)
    for frame in frames:
        assert {"function", "module", "filename", "abs_path", "lineno", "in_app"} <= set(frame)
    assert profile["transaction"]["active_thread_id"] in data["thread_metadata"]


def test_profiled_transaction_sends_a_profile_of_where_its_time_went(sentry: Harness) -> None:
    """A transaction busy in one function: its envelope carries a profile whose samples of the
    transaction's thread mostly have that function on the stack; ids link both ways."""
    client = profiled(sentry, release="shop@2.0", environment="staging")
    with client.start_transaction(name="checkout", op="task") as tx:
        hot_function(tx)
    (event,) = sentry.receiver.wait_for_transactions(1)
    validate_event(event)
    (profile,) = profiles(sentry.receiver)
    check_shape(profile)
    assert event["contexts"]["profile"] == {"profile_id": profile["event_id"]}
    assert profile["transaction"] == {
        "id": event["event_id"],
        "trace_id": event["contexts"]["trace"]["trace_id"],
        "name": "checkout",
        "active_thread_id": str(threading.get_ident()),
    }
    assert (profile["release"], profile["environment"]) == ("shop@2.0", "staging")
    mine = [
        s for s in profile["profile"]["samples"] if s["thread_id"] == str(threading.get_ident())
    ]
    hot = [s for s in mine if functions_of(profile, s)[0] == "hot_function"]  # innermost first
    assert len(mine) >= 20 and len(hot) >= 0.8 * len(mine)
    # the test's own frames are the app's
    hot_frames = [f for f in profile["profile"]["frames"] if f["function"] == "hot_function"]
    assert {(f["module"], f["in_app"]) for f in hot_frames} == {(__name__, True)}
    names = {m.get("name") for m in profile["profile"]["thread_metadata"].values()}
    assert "MainThread" in names and "raven.profiler" not in names


def test_other_threads_are_sampled_where_they_wait(sentry: Harness) -> None:
    """A thread parked on an event during the transaction shows in every tick at the same place
    (the sampler reuses an unmoved thread's stack), and the busy thread moves."""
    client = profiled(sentry)
    release = threading.Event()

    def parked() -> None:
        release.wait(10)

    worker = threading.Thread(target=parked, name="parked-worker")
    worker.start()
    try:
        with client.start_transaction(name="with-a-waiter") as tx:
            hot_function(tx, 10)
    finally:
        release.set()
        worker.join(10)
    sentry.receiver.wait_for_transactions(1)
    (profile,) = profiles(sentry.receiver)
    check_shape(profile)
    waiting = [s for s in profile["profile"]["samples"] if s["thread_id"] == str(worker.ident)]
    assert len(waiting) >= 10
    parked_at = {functions_of(profile, s)[2] for s in waiting}  # under Condition/Event.wait
    assert parked_at == {"test_other_threads_are_sampled_where_they_wait.<locals>.parked"}
    assert profile["profile"]["thread_metadata"][str(worker.ident)] == {"name": "parked-worker"}


@pytest.mark.parametrize("options", [{}, {"profiles_sample_rate": 0.0}])
def test_profiling_off_starts_no_thread_and_sends_no_profile(
    sentry: Harness, options: dict[str, Any]
) -> None:
    """Without profiles_sample_rate (or at 0) a traced transaction runs with no profiler thread
    and arrives without a profile; raven.profiling is not even imported when it is off."""
    client = sentry.client(traces_sample_rate=1.0, **options)
    with client.start_transaction(name="plain"):
        assert profiler_threads() == []
    (event,) = sentry.receiver.wait_for_transactions(1)
    assert "profile" not in event["contexts"]
    assert profiles(sentry.receiver) == []
    code = "import raven, sys; raven.Client('http://k@127.0.0.1:9/1', traces_sample_rate=1.0)\n"
    code += "assert 'raven.profiling' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


def test_sampler_thread_runs_only_while_a_profile_runs(sentry: Harness) -> None:
    """Two overlapping profiled transactions in two threads share one sampler thread, which
    ends after the last of them finishes (within its linger of a tenth of a second); both
    profiles arrive."""
    client = profiled(sentry)
    assert profiler_threads() == []
    first_started, second_done = threading.Event(), threading.Event()

    def other() -> None:
        first_started.wait(10)
        with client.start_transaction(name="second") as tx:
            hot_function(tx, 5)
        second_done.set()

    worker = threading.Thread(target=other)
    worker.start()
    with client.start_transaction(name="first") as tx:
        first_started.set()
        hot_function(tx, 5)
        assert len(profiler_threads()) == 1
        second_done.wait(10)
        assert len(profiler_threads()) == 1  # this profile still runs
    worker.join(10)
    wait_for(lambda: profiler_threads() == [])
    sentry.receiver.wait_for_transactions(2)
    wait_for(lambda: len(profiles(sentry.receiver)) == 2)
    by_name = {p["transaction"]["name"]: p for p in profiles(sentry.receiver)}
    assert by_name["second"]["transaction"]["active_thread_id"] == str(worker.ident)
    assert by_name["first"]["transaction"]["active_thread_id"] == str(threading.get_ident())


def test_forked_child_profiles_on_its_own(sentry: Harness) -> None:
    """A child forked while the parent profiles starts its own sampler for its own transaction;
    the parent's profile carries on."""
    client = profiled(sentry)
    with client.start_transaction(name="parent") as tx:
        hot_function(tx, 3)
        pid = os.fork()
        if pid == 0:  # the child: the parent's sampler thread did not survive the fork
            code = 1
            try:
                with client.start_transaction(name="child") as child_tx:
                    if profiler_threads():
                        hot_function(child_tx, 10)
                        code = 0
                client.flush(5)
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        hot_function(tx, 6)
    wait_for(lambda: len(profiles(sentry.receiver)) == 2)
    by_name = {p["transaction"]["name"]: p for p in profiles(sentry.receiver)}
    child = by_name["child"]
    check_shape(child)
    child_threads = set(child["profile"]["thread_metadata"])
    assert child_threads == {child["transaction"]["active_thread_id"]}  # only its own thread
    assert len(child["profile"]["samples"]) >= 10
    assert len(by_name["parent"]["profile"]["samples"]) >= 6


def test_profile_longer_than_the_limit_is_dropped_and_counted(
    sentry: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile that runs past its limit (30 s; 0.2 s here) frees its samples and is counted as
    buffer_overflow; the transaction still arrives, without a profile id."""
    from raven.profiling import sampler

    monkeypatch.setattr(sampler, "MAX_PROFILE_SECONDS", 0.2)
    client = profiled(sentry)
    with client.start_transaction(name="long") as tx:
        profile = tx.profile
        wait_for(lambda: profile.discarded)
        assert profile.ticks == []
    client.captureMessage("carries the client report")
    (event,) = sentry.receiver.wait_for_transactions(1)
    validate_event(event)
    assert "profile" not in event["contexts"]
    assert profiles(sentry.receiver) == []
    sentry.receiver.wait_until(lambda r: r.discarded())
    assert sentry.receiver.discarded() == {("buffer_overflow", "profile"): 1}
    sentry.events(1)


def test_profile_with_fewer_than_two_samples_is_dropped_and_counted(sentry: Harness) -> None:
    """A transaction over before the sampler's second tick (1 sample a second here) sends no
    profile; insufficient_data is counted."""
    client = profiled(sentry, profiles_sampling_frequency=1)
    with client.start_transaction(name="quick"):
        pass
    client.captureMessage("carries the client report")
    (event,) = sentry.receiver.wait_for_transactions(1)
    assert "profile" not in event["contexts"]
    assert profiles(sentry.receiver) == []
    sentry.receiver.wait_until(lambda r: r.discarded())
    assert sentry.receiver.discarded() == {("insufficient_data", "profile"): 1}
    sentry.events(1)


def test_profiles_sampler_decides_per_transaction(sentry: Harness) -> None:
    """profiles_sampler gets the sampling context (name, op, custom keys) and its answer
    decides; profiles it declines are counted as sample_rate."""
    seen: list[dict[str, Any]] = []

    def sampler(context: dict[str, Any]) -> float:
        seen.append(context)
        return 1.0 if context["transaction_context"]["name"] == "keep" else 0.0

    client = sentry.client(traces_sample_rate=1.0, profiles_sampler=sampler)
    for name in ("keep", "skip"):
        with client.start_transaction(
            name=name, op="task", custom_sampling_context={"tenant": "a"}
        ) as tx:
            if name == "keep":
                hot_function(tx, 3)
    client.captureMessage("carries the client report")
    sentry.receiver.wait_for_transactions(2)
    assert [p["transaction"]["name"] for p in profiles(sentry.receiver)] == ["keep"]
    assert [(c["transaction_context"]["op"], c["tenant"]) for c in seen] == [("task", "a")] * 2
    sentry.receiver.wait_until(lambda r: r.discarded())
    assert sentry.receiver.discarded() == {("sample_rate", "profile"): 1}
    sentry.events(1)


def test_transaction_dropped_by_before_send_transaction_drops_its_profile(
    sentry: Harness,
) -> None:
    """A profile never travels without its transaction: dropping the transaction counts the
    profile too."""
    client = profiled(sentry, before_send_transaction=lambda event, hint: None)
    with client.start_transaction(name="dropped") as tx:
        hot_function(tx, 3)
    client.captureMessage("carries the client report")
    sentry.events(1)
    assert profiles(sentry.receiver) == [] and sentry.receiver.transactions == []
    assert sentry.receiver.discarded() == {
        ("before_send", "transaction"): 1,
        ("before_send", "span"): 1,
        ("before_send", "profile"): 1,
    }


def test_rate_limited_profiles_are_dropped_and_counted_but_transactions_flow(
    sentry: Harness,
) -> None:
    """Under a rate limit on category profile, the next transaction arrives without its profile
    item, and the profile is counted as ratelimit_backoff."""
    client = profiled(sentry)
    sentry.receiver.respond_with(headers={"X-Sentry-Rate-Limits": "60:profile:key"})
    with client.start_transaction(name="first") as tx:
        hot_function(tx, 3)
    sentry.receiver.respond_with()
    with client.start_transaction(name="second") as tx:
        hot_function(tx, 3)
    client.captureMessage("carries the client report")
    sentry.receiver.wait_for_transactions(2)
    assert [p["transaction"]["name"] for p in profiles(sentry.receiver)] == ["first"]
    assert sentry.receiver.discarded() == {("ratelimit_backoff", "profile"): 1}
    sentry.events(1)


def test_background_transport_sends_the_profile_in_the_transactions_envelope(
    receiver: Receiver,
) -> None:
    """With the default background transport the profile is encoded on its encoder thread and
    arrives in the same envelope as its transaction."""
    client = raven.Client(
        receiver.dsn, traces_sample_rate=1.0, profiles_sample_rate=1.0, install_sys_hook=False
    )
    try:
        with client.start_transaction(name="bg") as tx:
            hot_function(tx, 3)
        client.flush(10)
        (event,) = receiver.wait_for_transactions(1)
        (request,) = [r for r in receiver.requests if "transaction" in r.item_types]
        assert request.item_types[:2] == ["transaction", "profile"]
        (profile,) = profiles(receiver)
        assert profile["transaction"]["id"] == event["event_id"]
    finally:
        client.close(5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"profiles_sample_rate": 1.5}, "option 'profiles_sample_rate' must be a number between 0"),
        ({"profiles_sample_rate": "often"}, "option 'profiles_sample_rate' must be a number"),
        ({"profiles_sampler": 0.5}, "option 'profiles_sampler' must be callable, got 0.5"),
        ({"profiles_sampling_frequency": 0}, "option 'profiles_sampling_frequency' must be"),
        ({"profiles_sampling_frequency": 1e6}, "between 1 and 1000, got 1000000.0"),
    ],
)
def test_bad_profiling_options_fail_at_construction(options: dict[str, Any], message: str) -> None:
    """Each bad profiling option fails fast, naming the option, the value and what was expected."""
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(".", r"\.")):
        raven.Client("http://k@127.0.0.1:9/1", traces_sample_rate=1.0, **options)

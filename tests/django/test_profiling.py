"""Profiling with raven-django: a profiled request sends a profile, in its transaction's envelope,
whose samples show the view's hot function; with profiling off no profiler thread runs and no
profile is sent. The framework package needs nothing of its own: the core's tracer profiles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.core.test_profiling import profiler_threads, profiles, wait_for
from tests.receiver import Receiver
from tests.relay import validate_event

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def app(settings: Any, sentry: Any) -> Any:
    """Serves the profiling views; returns a function that sets the client's options."""
    from raven_django import get_client
    from raven_django.conf import reset_client

    settings.ROOT_URLCONF = "tests.django.project.urls_profiling"

    def configure(**options: Any) -> Any:
        reset_client()
        settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, **options}
        return get_client()

    return configure


@pytest.fixture(autouse=True)
def _no_profiler_thread_left() -> Iterator[None]:
    """Each test starts and ends with no sampler thread (it lingers a tenth of a second)."""

    wait_for(lambda: profiler_threads() == [])
    yield
    wait_for(lambda: profiler_threads() == [])


def test_profiled_request_shows_its_hot_function(app: Any, web: Any, receiver: Receiver) -> None:
    """A request that spends its time in hot_loop: one transaction (valid for Relay) and one
    profile in the same envelope, linked both ways, whose samples of the request's thread mostly
    have hot_loop on their stack."""
    client = app(traces_sample_rate=1.0, profiles_sample_rate=1.0)
    response = web.get("/report/")
    assert response.status_code == 200
    assert "raven.profiler" in response.content.decode()
    client.flush(10)
    (tx,) = receiver.wait_for_transactions(1)
    validate_event(tx)
    assert tx["transaction"] == "/report/"
    (profile,) = profiles(receiver)
    (request,) = [r for r in receiver.requests if "transaction" in r.item_types]
    assert "profile" in request.item_types
    assert tx["contexts"]["profile"]["profile_id"] == profile["event_id"]
    assert profile["transaction"]["id"] == tx["event_id"]
    assert profile["transaction"]["trace_id"] == tx["contexts"]["trace"]["trace_id"]
    assert profile["transaction"]["name"] == "/report/"
    data = profile["profile"]
    active = profile["transaction"]["active_thread_id"]
    mine = [s for s in data["samples"] if s["thread_id"] == active]
    hot = [
        s
        for s in mine
        if any(data["frames"][i]["function"] == "hot_loop" for i in data["stacks"][s["stack_id"]])
    ]
    assert len(mine) >= 20 and len(hot) >= 0.8 * len(mine)
    hot_frames = [f for f in data["frames"] if f["function"] == "hot_loop"]
    assert {(f["module"], f["in_app"]) for f in hot_frames} == {
        ("tests.django.project.urls_profiling", True)
    }


@pytest.mark.parametrize("rate", [None, 0.0])
def test_request_without_profiling_runs_no_profiler_thread(
    app: Any, web: Any, receiver: Receiver, rate: float | None
) -> None:
    """profiles_sample_rate unset or 0: the request runs with no profiler thread and its
    transaction arrives without a profile."""
    client = app(traces_sample_rate=1.0, profiles_sample_rate=rate)
    response = web.get("/report/")
    assert "raven.profiler" not in response.content.decode()
    client.flush(10)
    (tx,) = receiver.wait_for_transactions(1)
    validate_event(tx)
    assert "profile" not in tx["contexts"]
    assert profiles(receiver) == []

"""Release health with Django: every request (sync and async) is one session, counted by how
it ended."""

from __future__ import annotations

from typing import Any

import pytest

from tests.receiver import Receiver
from tests.sessions import totals

RELEASE = "raven-tests@1.0"  # the sentry fixture's


def test_a_thousand_requests_sum_to_a_thousand_sessions(
    sentry: Any, receiver: Receiver, web: Any
) -> None:
    """1,000 requests of which 10 fail with a 500 and 5 capture a handled error arrive as
    aggregates summing to exactly 1,000: 985 exited, 5 errored, 10 crashed."""
    statuses: dict[int, int] = {}
    for number in range(1000):
        path = "/boom/" if number % 100 == 7 else "/handled/" if number % 200 == 3 else "/ok/"
        status = web.get(path).status_code
        statuses[status] = statuses.get(status, 0) + 1
    assert statuses == {200: 990, 500: 10}
    sentry.flush(10)
    receiver.wait_for(15)
    assert totals(list(receiver.session_aggregates), RELEASE) == {
        "exited": 985,
        "errored": 5,
        "crashed": 10,
        "abnormal": 0,
    }
    assert receiver.sessions == []


@pytest.mark.asyncio
async def test_async_requests_are_counted(sentry: Any, receiver: Receiver, aweb: Any) -> None:
    """Requests through Django's async handler (ASGI) count too: one exited, one crashed."""
    assert (await aweb.get("/ok/")).status_code == 200
    assert (await aweb.get("/async-boom/")).status_code == 500
    sentry.flush(10)
    receiver.wait_until(lambda r: sum(totals(list(r.session_aggregates)).values()) >= 2)
    assert totals(list(receiver.session_aggregates), RELEASE) == {
        "exited": 1,
        "errored": 0,
        "crashed": 1,
        "abnormal": 0,
    }

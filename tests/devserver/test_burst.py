"""A burst: 10,000 events posted at once over 8 keep-alive connections are all answered 200 and
all stored in their issue (benchmarks/devserver.py measures the same burst's rate)."""

from __future__ import annotations

import uuid

from benchmarks.devserver import burst_bodies, sample_event, send_burst

from .conftest import Server

BURST = 10_000


def test_a_burst_of_10000_events_is_ingested_with_none_lost(
    devserver: Server, project: tuple[int, str]
) -> None:
    """Every event of the burst is answered 200 and stored, each under its own event id, in one
    issue whose count is the burst's size."""
    event_ids = [uuid.uuid4().hex for _ in range(BURST)]
    seconds, statuses = send_burst(project[1], burst_bodies(sample_event(), event_ids))
    assert statuses == {200: BURST}
    (issue,) = devserver.issues(project[0])
    assert (issue["count"], issue["stored"]) == (BURST, BURST)
    stored = {
        event["event_id"]
        for offset in range(0, BURST, 1000)
        for event in devserver.json(
            f"/api/0/issues/{issue['id']}/events/", limit=1000, offset=offset
        )
    }
    assert stored == set(event_ids)

"""Beyond errors: transactions with their spans, check-ins, logs and sessions sent by sentry-sdk
(sessions also by hand, crashed and aggregated), attachments, and the pages that show them."""

from __future__ import annotations

import html
import time

from .conftest import Server
from .envelopes import envelope, event, post
from .test_ingest import run_sentry_sdk

SENTRY_SDK_SCRIPT = """
import sys, time, sentry_sdk
from sentry_sdk import logger
from sentry_sdk.crons import capture_checkin
from sentry_sdk.crons.consts import MonitorStatus
sentry_sdk.init(sys.argv[1], release="app@3.1", environment="prod", traces_sample_rate=1.0,
                enable_logs=True, default_integrations=False)
with sentry_sdk.start_transaction(op="task", name="nightly-report"):
    with sentry_sdk.start_span(op="db.query", name="SELECT * FROM orders"):
        time.sleep(0.01)
        with sentry_sdk.start_span(op="http.client", name="GET https://rates.example/eur"):
            time.sleep(0.005)
    with sentry_sdk.start_span(op="render", name="report.html"):
        time.sleep(0.002)
    sentry_sdk.capture_message("rates were stale")
check_in = capture_checkin(monitor_slug="nightly-report", status=MonitorStatus.IN_PROGRESS)
capture_checkin(monitor_slug="nightly-report", check_in_id=check_in, status=MonitorStatus.OK,
                duration=1.5)
capture_checkin(monitor_slug="hourly-sync", status=MonitorStatus.ERROR)
logger.warning("payment failed for {order}", order="o-9")
scope = sentry_sdk.get_isolation_scope()
scope.start_session()
scope.end_session()
sentry_sdk.flush(10)
"""


def test_sentry_sdk_transactions_check_ins_logs_and_sessions(
    devserver: Server, project: tuple[int, str]
) -> None:
    """A transaction arrives with its spans nested as sent (the waterfall shows them, and its
    trace lists the message captured inside it); check-ins update per monitor; a log line keeps
    its template's attributes; the session counts in its release's health."""
    run_sentry_sdk(SENTRY_SDK_SCRIPT, project[1])
    (transaction,) = devserver.json("/api/0/transactions/", project=project[0])
    assert (transaction["name"], transaction["op"], transaction["span_count"]) == (
        "nightly-report", "task", 3)  # fmt: skip
    page = html.unescape(devserver.page(f"/transactions/{transaction['event_id']}"))
    rows = [line for line in page.splitlines() if 'class="label"' in line]
    assert [row.split("padding-left: ")[-1][:3] for row in rows[1:]] == ["1em", "2em", "1em"]
    assert "GET https://rates.example/eur" in page and "SELECT * FROM orders" in page
    trace = html.unescape(devserver.page(f"/transactions?trace={transaction['trace_id']}"))
    assert "nightly-report" in trace and "rates were stale" in trace

    monitors = {m["monitor"]: m for m in devserver.json("/api/0/monitors/", project=project[0])}
    assert monitors["nightly-report"]["check_ins"] == 1  # in_progress, then ok: one check-in
    assert monitors["nightly-report"]["last_status"] == "ok"
    assert (monitors["hourly-sync"]["errors"], monitors["hourly-sync"]["last_status"]) == (
        1,
        "error",
    )
    assert "1.50 s" in devserver.page("/monitors?monitor=nightly-report")

    (line,) = devserver.json("/api/0/logs/", project=project[0])
    assert (line["level"], line["body"]) == ("warn", "payment failed for o-9")
    assert line["attributes"]["sentry.message.template"] == "payment failed for {order}"

    (health,) = devserver.json("/api/0/release-health/", project=project[0])
    assert (health["release"], health["total"], health["crash_free"]) == ("app@3.1", 1, 1.0)


def test_crash_free_rate_per_release(devserver: Server, project: tuple[int, str]) -> None:
    """Single sessions (a crash is final: a later update does not undo it) and aggregates from
    server-mode SDKs add up to each release's crash-free rate."""
    now = time.time()

    def session(
        sid: str, status: str, **fields: object
    ) -> tuple[dict[str, str], dict[str, object]]:
        return {"type": "session"}, {
            "sid": sid, "status": status, "started": now, "errors": 0,
            "attrs": {"release": "app@2.0", "environment": "prod"}, **fields,
        }  # fmt: skip

    post(devserver, project[1], envelope(session("a", "ok", init=True), headers={}))
    post(devserver, project[1], envelope(session("a", "crashed", errors=1), headers={}))
    post(devserver, project[1], envelope(session("a", "exited"), headers={}))  # too late
    post(devserver, project[1], envelope(session("b", "exited", init=True), headers={}))
    aggregates = {
        "aggregates": [{"started": "2026-01-01T10:00:00Z", "exited": 6, "crashed": 2, "errored": 1},
                       {"started": "2026-01-01T10:01:00Z", "exited": 1}],
        "attrs": {"release": "app@1.9", "environment": "prod"},
    }  # fmt: skip
    assert (
        post(devserver, project[1], envelope(({"type": "sessions"}, aggregates), headers={}))[0]
        == 200
    )
    health = {h["release"]: h for h in devserver.json("/api/0/release-health/", project=project[0])}
    assert (health["app@2.0"]["total"], health["app@2.0"]["crashed"]) == (2, 1)
    assert health["app@2.0"]["crash_free"] == 0.5
    assert (health["app@1.9"]["total"], health["app@1.9"]["crashed"]) == (10, 2)
    assert health["app@1.9"]["crash_free"] == 0.8
    page = devserver.page(f"/sessions?project={project[0]}")
    assert "50.00 %" in page and "80.00 %" in page


def test_attachments_are_kept_with_their_event(devserver: Server, project: tuple[int, str]) -> None:
    """An attachment sent with an event is listed on the event's page and downloads as sent."""
    payload = event("with a log file")
    content = b"line 1\nline 2\n\x00binary tail"
    body = envelope(
        ({"type": "event"}, payload),
        ({"type": "attachment", "filename": "app.log", "content_type": "text/plain"}, content),
        headers={"event_id": payload["event_id"]},
    )
    assert post(devserver, project[1], body)[0] == 200
    page = devserver.page(f"/events/{payload['event_id']}")
    assert "app.log" in page and f"text/plain, {len(content)} bytes" in page
    link = page.split('href="/attachments/')[1].split('"')[0]
    status, headers, downloaded = devserver.request(f"/attachments/{link}")
    assert (status, downloaded) == (200, content)
    assert "app.log" in headers["content-disposition"]

"""raven-core against a real Bugsink: what a plain ``raven.Client`` sends is what Bugsink stores."""

from __future__ import annotations

import inspect
import logging
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import raven
from raven.handlers.logging import SentryHandler

from tests.e2e.bugsink import PROJECT_QUOTA_PER_5_MINUTES, Project
from tests.e2e.proxy import RecordingProxy
from tests.relay import validate_event


class Cart:
    def __repr__(self) -> str:
        return "<Cart of alice>"


def checkout(cart: Cart, items: list[int]) -> float:
    total = sum(items)
    return apply_discount(total, code="SPRING-24")


def apply_discount(total: int, code: str) -> float:
    rates = {"WINTER-23": 0.1}
    if code not in rates:
        raise ValueError(f"discount code {code} expired")  # the raise line
    return total * (1 - rates[code])


@pytest.fixture
def client(project: Project) -> Iterator[raven.Client]:
    """A plain client with the default (threaded) transport, sending to this test's project."""
    client = raven.Client(
        project.dsn, release="shop@1.4.2", environment="e2e", install_sys_hook=False
    )
    yield client
    client.close(5)


def _frames(data: dict[str, Any]) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = data["exception"]["values"][-1]["stacktrace"]["frames"]
    return frames


def test_exception_arrives_with_everything(client: raven.Client, project: Project) -> None:
    """An exception captured by a plain Client is stored by Bugsink with stack, locals, context and scope data."""
    client.user_context({"id": "42", "username": "alice"})
    client.tags_context({"shop.region": "eu-west"})
    client.captureBreadcrumb(message="cart loaded", category="shop", data={"items": 3})
    try:
        checkout(Cart(), [3, 4, 5])
    except ValueError:
        event_id = client.captureException(extra={"attempt": 2})
    assert event_id is not None
    assert client.flush(10)

    (issue,) = project.issues()
    assert (issue["calculated_type"], issue["calculated_value"]) == (
        "ValueError",
        "discount code SPRING-24 expired",
    )
    stored = project.event(event_id)
    data = stored["data"]
    assert uuid.UUID(stored["event_id"]) == uuid.UUID(event_id)
    validate_event(data)

    frames = _frames(data)
    assert [f["function"] for f in frames[-3:]] == [
        "test_exception_arrives_with_everything",
        "checkout",
        "apply_discount",
    ]
    top = frames[-1]
    source, first = inspect.getsourcelines(apply_discount)
    raise_line = next(i for i, line in enumerate(source) if "# the raise line" in line)
    assert top["lineno"] == first + raise_line
    assert top["context_line"] == source[raise_line].rstrip("\n")
    assert top["pre_context"][-1] == source[raise_line - 1].rstrip("\n")
    assert top["abs_path"] == __file__ and top["module"] == __name__ and top["in_app"] is True
    assert top["vars"]["code"] in ("SPRING-24", "'SPRING-24'")
    assert top["vars"]["total"] == 12
    assert top["vars"]["rates"] == {"WINTER-23": 0.1}
    assert frames[-2]["vars"]["items"] == [3, 4, 5]
    assert frames[-2]["vars"]["cart"] == "<Cart of alice>"

    assert data["user"] == {"id": "42", "username": "alice"}
    assert data["tags"]["shop.region"] == "eu-west"
    assert data["extra"]["attempt"] == 2
    crumbs = data["breadcrumbs"]["values"]
    assert {"message": "cart loaded", "category": "shop", "data": {"items": 3}}.items() <= crumbs[
        -1
    ].items()
    assert data["release"] == "shop@1.4.2"
    assert data["environment"] == "e2e"
    assert data["level"] == "error"
    assert data["sdk"]["name"] == "raven.python"


def test_identical_errors_group_into_one_issue(client: raven.Client, project: Project) -> None:
    """Repeated errors that differ only in numbers are one issue; another type is another issue."""
    for order in (17, 18, 19):
        try:
            raise RuntimeError(f"order {order} could not be charged")
        except RuntimeError:
            client.captureException()
    try:
        raise LookupError("no such order")
    except LookupError:
        client.captureException()
    assert client.flush(10)

    issues = {issue["calculated_type"]: issue for issue in project.issues()}
    assert sorted(issues) == ["LookupError", "RuntimeError"]
    assert issues["RuntimeError"]["digested_event_count"] == 3
    assert issues["LookupError"]["digested_event_count"] == 1


def test_fingerprint_decides_the_issue(client: raven.Client, project: Project) -> None:
    """Different errors sent with one fingerprint become one issue."""
    for exc in (KeyError("sku"), IndexError("line 3")):
        try:
            raise exc
        except Exception:
            client.captureException(fingerprint=["inventory-sync"])
    assert client.flush(10)
    (issue,) = project.issues()
    assert issue["digested_event_count"] == 2


def test_message_and_logging_events(client: raven.Client, project: Project) -> None:
    """captureMessage and the logging handler produce message events Bugsink stores."""
    message_id = client.captureMessage("disk %s is %d%% full", params=("/var", 93), level="warning")
    log = logging.getLogger("tests.e2e.shop")
    handler = SentryHandler(client, level=logging.ERROR)
    log.addHandler(handler)
    try:
        log.error("payment gateway %s timed out", "acme", extra={"gateway_ms": 3000})
    finally:
        log.removeHandler(handler)
    assert message_id is not None
    assert client.flush(10)

    stored = project.event(message_id)["data"]
    validate_event(stored)
    assert stored["level"] == "warning"
    text = stored.get("logentry", stored.get("message"))
    assert "disk %s is %d%% full" in str(text) or "disk /var is 93% full" in str(text)
    events = project.events()
    assert len(events) == 2
    logged = next(e["data"] for e in events if e["data"].get("logger") == "tests.e2e.shop")
    validate_event(logged)
    assert logged["level"] == "error"
    assert "payment gateway" in str(logged.get("logentry", logged.get("message")))


def test_store_endpoint_is_accepted(project: Project, proxy: RecordingProxy) -> None:
    """With transport_protocol="store" the event goes to the legacy /store/ endpoint and Bugsink stores it."""
    client = raven.Client(
        proxy.dsn_for(project.dsn),
        transport_protocol="store",
        release="legacy@1",
        install_sys_hook=False,
    )
    try:
        try:
            {}["missing"]
        except KeyError:
            event_id = client.captureException()
        assert event_id is not None
        assert client.flush(10)
    finally:
        client.close(5)
    (exchange,) = proxy.snapshot()
    assert exchange.path == f"/api/{project.id}/store/" and exchange.status == 200
    stored = project.event(event_id)["data"]
    validate_event(stored)
    assert stored["release"] == "legacy@1"
    assert _frames(stored)[-1]["function"] == "test_store_endpoint_is_accepted"


def test_quota_answer_is_honoured(project: Project, proxy: RecordingProxy) -> None:
    """After Bugsink's 429 with X-Sentry-Rate-Limits the client sends no events and counts each one it drops."""
    client = raven.Client(proxy.dsn_for(project.dsn), install_sys_hook=False)
    try:
        for n in range(PROJECT_QUOTA_PER_5_MINUTES):
            client.captureMessage(f"within quota {n}")
            assert client.flush(10)
        assert project.digested_count() == PROJECT_QUOTA_PER_5_MINUTES
        assert all(e.status == 200 for e in proxy.snapshot())

        client.captureMessage("over quota")
        assert client.flush(10)
        refused = proxy.snapshot()[-1]
        assert refused.status == 429 and refused.carries_event
        assert "60::key" in refused.response_headers.get("X-Sentry-Rate-Limits", "")
        sent_before = sum(e.carries_event for e in proxy.snapshot())

        for n in range(5):
            client.captureMessage(f"while limited {n}")
            try:
                raise OSError(f"disk {n}")
            except OSError:
                client.captureException()
        assert client.flush(10)
        assert sum(e.carries_event for e in proxy.snapshot()) == sent_before
        assert client.reports.totals.get(("ratelimit_backoff", "default")) == 5
        assert client.reports.totals.get(("ratelimit_backoff", "error")) == 5
        assert project.digested_count() == PROJECT_QUOTA_PER_5_MINUTES
    finally:
        client.close(5)


def test_uncaught_exception_in_a_script_is_delivered_before_exit(
    project: Project, tmp_path: Path
) -> None:
    """A script that dies of an uncaught exception still gets its event into Bugsink before the process exits."""
    script = tmp_path / "nightly_job.py"
    script.write_text(
        textwrap.dedent(f"""
        import raven
        client = raven.Client({project.dsn!r}, release="jobs@7")

        def reconcile(batch):
            raise ZeroDivisionError("batch " + str(batch) + " has no rows")

        reconcile(12)
    """)
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "ZeroDivisionError" in result.stderr
    (event,) = project.wait_for_events(1)
    data = event["data"]
    validate_event(data)
    assert data["release"] == "jobs@7"
    assert data["exception"]["values"][-1]["type"] == "ZeroDivisionError"
    assert data["exception"]["values"][-1]["mechanism"]["handled"] is False
    assert [f["function"] for f in _frames(data)] == ["<module>", "reconcile"]
    assert _frames(data)[-1]["vars"]["batch"] == 12

"""Ingestion: what real SDKs send arrives, and what Sentry refuses is refused the way Sentry
refuses it, without ever taking the server down."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import brotli
import pytest
import raven

from .conftest import Server
from .envelopes import auth, envelope, event, event_envelope, key_of, post, project_of


def checkout(cart: list[str], discount: float) -> float:
    total_items = len(cart)
    return total_items / discount


def test_raven_events_arrive_grouped_with_stack_and_locals(
    devserver: Server, project: tuple[int, str], client: raven.Client
) -> None:
    """Two captures of one error from Raven's client make one issue with a count of 2, one user,
    and an event whose in-app frame carries its context line and locals."""
    client.user_context({"id": "u-1", "username": "ada"})
    for _ in range(2):
        try:
            checkout(["book"], 0.0)
        except ZeroDivisionError:
            client.captureException()
    (issue,) = devserver.issues(project[0])
    assert (issue["title"], issue["count"], issue["users"]) == (
        "ZeroDivisionError: float division by zero",
        2,
        1,
    )
    assert issue["culprit"] == "tests.devserver.test_ingest in checkout"
    (latest, _) = devserver.json(f"/api/0/issues/{issue['id']}/events/")
    stored = devserver.json(f"/api/0/events/{latest['event_id']}/")["data"]
    frame = stored["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert frame["function"] == "checkout" and frame["vars"]["total_items"] == 1
    assert frame["context_line"].strip() == "return total_items / discount"


SENTRY_SDK_SCRIPT = """
import sys, sentry_sdk
sentry_sdk.init(sys.argv[1], release="shop@2.0", environment="staging", default_integrations=False)
sentry_sdk.set_user({"id": "sdk-user"})
def pay(order_id):
    raise KeyError(order_id)
try:
    pay("o-1")
except KeyError:
    sentry_sdk.capture_exception()
sentry_sdk.capture_message("cache miss")
sentry_sdk.flush(10)
"""


def run_sentry_sdk(script: str, dsn: str) -> None:
    """Run ``script`` with sentry-sdk in a process of its own (its hooks stay out of pytest's)."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), dsn],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_sentry_sdk_events_arrive(devserver: Server, project: tuple[int, str]) -> None:
    """The official SDK's envelopes are accepted: its exception and its message become issues with
    their release, environment and user."""
    run_sentry_sdk(SENTRY_SDK_SCRIPT, project[1])
    issues = {i["title"]: i for i in devserver.issues(project[0])}
    assert sorted(issues) == ["KeyError: 'o-1'", "cache miss"]
    error = issues["KeyError: 'o-1'"]
    assert (error["release"], error["environment"], error["users"]) == ("shop@2.0", "staging", 1)
    (latest,) = devserver.json(f"/api/0/issues/{error['id']}/events/")
    data = devserver.json(f"/api/0/events/{latest['event_id']}/")["data"]
    assert data["sdk"]["name"] == "sentry.python"


def test_the_legacy_store_endpoint(devserver: Server, project: tuple[int, str]) -> None:
    """Raven's ``transport_protocol="store"`` (one event per POST to /store/) arrives too."""
    client = raven.Client(
        "sync+" + project[1], transport_protocol="store", install_sys_hook=False, hook_libraries=()
    )
    event_id = client.captureMessage("stored the old way")
    client.close(timeout=5)
    (issue,) = devserver.issues(project[0])
    assert issue["title"] == "stored the old way"
    assert devserver.json(f"/api/0/events/{event_id}/")["issue_id"] == issue["id"]


def _deflate(body: bytes) -> bytes:
    return zlib.compress(body)


def _raw_deflate(body: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(body) + compressor.flush()


ENCODINGS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": _deflate,
    "deflate (raw)": _raw_deflate,
    "br": brotli.compress,
    "identity": lambda body: body,
}


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_compressed_bodies(devserver: Server, project: tuple[int, str], name: str) -> None:
    """gzip, deflate (zlib-wrapped or raw), br and plain bodies are all read."""
    payload = event(f"encoded with {name}")
    body = ENCODINGS[name](event_envelope(payload))
    coding = name.split()[0]
    status, _, answer = post(devserver, project[1], body, {"Content-Encoding": coding})
    assert (status, answer) == (200, {"id": payload["event_id"]})
    assert [i["title"] for i in devserver.issues(project[0])] == [f"encoded with {name}"]


def test_key_in_the_query_string_or_the_envelope_header(
    devserver: Server, project: tuple[int, str]
) -> None:
    """The key is also taken from ``?sentry_key=`` and from the envelope's ``dsn`` header."""
    key = key_of(project[1])
    first = event("key in the query string")
    status, _, _ = post(
        devserver, project[1], event_envelope(first), with_auth=False,
        query=f"?sentry_version=7&sentry_key={key}",
    )  # fmt: skip
    assert status == 200
    second = event("key in the envelope")
    body = envelope(
        ({"type": "event"}, second), headers={"event_id": second["event_id"], "dsn": project[1]}
    )
    assert post(devserver, project[1], body, with_auth=False)[0] == 200
    titles = sorted(i["title"] for i in devserver.issues(project[0]))
    assert titles == ["key in the envelope", "key in the query string"]


def _refusals(dsn: str, other_dsn: str) -> dict[str, tuple[dict[str, Any], int, str]]:
    """name -> (post() arguments, status Sentry answers, part of the detail)."""
    ok = event_envelope(event("never stored"))
    huge = event("too big", extra={"blob": "x" * (1024 * 1024)})
    corrupt = gzip.compress(ok)[:-12] + b"garbage!" * 2
    unknown_project = dsn.rsplit("/", 1)[0] + "/999"
    return {
        "no auth": ({"body": ok, "with_auth": False}, 401, "missing authorization"),
        "wrong key": ({"body": ok, "headers": auth("0" * 32)}, 403, "is not the key of project"),
        "another project's key": (
            {"body": ok, "headers": auth(key_of(other_dsn))}, 403, "is not the key of project"),
        "unknown project": ({"body": ok, "dsn": unknown_project}, 403, "does not exist"),
        "header and query disagree": (
            {"body": ok, "query": "?sentry_key=" + "1" * 32}, 401, "different keys"),
        "event over 1 MiB": ({"body": event_envelope(huge)}, 413, "size limit"),
        "store event over 1 MiB": (
            {"body": json.dumps(huge).encode(), "endpoint": "store"}, 413, "size limit"),
        "corrupt gzip": ({"body": corrupt, "headers": {"Content-Encoding": "gzip"}}, 400, "gzip"),
        "truncated gzip": (
            {"body": gzip.compress(ok)[:20], "headers": {"Content-Encoding": "gzip"}}, 400, "gzip"),
        "corrupt br": ({"body": b"\xff" * 40, "headers": {"Content-Encoding": "br"}}, 400, "br"),
        "unknown encoding": (
            {"body": ok, "headers": {"Content-Encoding": "lzma"}}, 400, "unsupported"),
        "envelope header not JSON": ({"body": b"{oops\n"}, 400, "envelope header"),
        "item longer than the body": (
            {"body": b'{}\n{"type":"event","length":500}\n{}\n'}, 400, "shorter than its length"),
        "store body not JSON": ({"body": b"{not json", "endpoint": "store"}, 400, "not JSON"),
        "too many sessions": (
            {"body": envelope(*[({"type": "session"}, {"sid": str(n), "started": 1,
                                  "attrs": {"release": "r"}}) for n in range(101)])},
            413, "too many sessions"),
    }  # fmt: skip


REFUSALS = list(_refusals("http://k@h/1", "http://k@h/2"))


@pytest.mark.parametrize("name", REFUSALS)
def test_refused_as_sentry_refuses_and_the_server_lives_on(
    devserver: Server, project: tuple[int, str], name: str
) -> None:
    """Bad auth, oversize, corrupt bodies and malformed envelopes get Sentry's status with a
    ``detail`` and an ``X-Sentry-Error`` header; nothing is stored and the server keeps serving."""
    other = devserver.json("/api/0/projects/")[0]["dsn"]
    arguments, expected, detail = _refusals(project[1], other)[name]
    arguments.setdefault("dsn", project[1])
    status, headers, answer = post(devserver, **arguments)
    assert status == expected, answer
    assert detail in answer["detail"] and detail in headers["x-sentry-error"]
    assert devserver.issues(project[0]) == []
    follow_up = event("still alive")
    assert post(devserver, project[1], event_envelope(follow_up))[0] == 200
    assert devserver.process.poll() is None


def test_unknown_item_types_are_skipped_and_counted(
    devserver: Server, project: tuple[int, str]
) -> None:
    """An envelope with an event and item types the server does not know (or does not show) is
    accepted: the event is stored, the other items are counted by type, never silently lost."""
    payload = event("with company")
    body = envelope(
        ({"type": "event"}, payload),
        ({"type": "mystery_item"}, b"\x00\x01 anything"),
        ({"type": "profile"}, {"samples": []}),
        ({"type": "client_report"},
         {"discarded_events": [{"reason": "queue_overflow", "category": "error", "quantity": 3}]}),
        headers={"event_id": payload["event_id"]},
    )  # fmt: skip
    status, _, answer = post(devserver, project[1], body)
    assert (status, answer) == (200, {"id": payload["event_id"]})
    assert [i["title"] for i in devserver.issues(project[0])] == ["with company"]
    counts = {
        (c["item"], c["detail"]): c["quantity"]
        for c in devserver.json("/api/0/item-counts/")
        if c["project_id"] == project[0]
    }
    assert counts == {
        ("skipped", "mystery_item"): 1,
        ("skipped", "profile"): 1,
        ("discarded", "queue_overflow / error"): 3,
    }
    assert "mystery_item" in devserver.page("/projects")


def test_an_event_sent_twice_is_counted_once(devserver: Server, project: tuple[int, str]) -> None:
    """A retried envelope (same event id) does not count its event twice."""
    body = event_envelope(event("retried", event_id=uuid.uuid4().hex))
    assert post(devserver, project[1], body)[0] == 200
    assert post(devserver, project[1], body)[0] == 200
    (issue,) = devserver.issues(project[0])
    assert issue["count"] == 1


def test_a_transaction_sent_twice_is_stored_once(
    devserver: Server, project: tuple[int, str]
) -> None:
    """A transaction sent again (the sender's answer was lost) is listed once."""
    event_id = uuid.uuid4().hex
    transaction = {
        "type": "transaction",
        "event_id": event_id,
        "transaction": "/checkout",
        "start_timestamp": 1_700_000_000.0,
        "timestamp": 1_700_000_000.25,
        "contexts": {"trace": {"trace_id": uuid.uuid4().hex, "span_id": "a" * 16, "op": "http"}},
        "spans": [],
    }
    body = envelope(({"type": "transaction"}, transaction), headers={"event_id": event_id})
    assert post(devserver, project[1], body)[0] == 200
    assert post(devserver, project[1], body)[0] == 200
    stored = devserver.json("/api/0/transactions/", project=project[0])
    assert [t["event_id"] for t in stored] == [event_id]


def test_projects_each_have_their_own_key(devserver: Server, project: tuple[int, str]) -> None:
    """Project 1 exists from the start; a new project's DSN has its own key and id."""
    projects = {p["id"]: p for p in devserver.json("/api/0/projects/")}
    assert projects[1]["dsn"] == devserver.dsn
    assert key_of(project[1]) != key_of(devserver.dsn)
    assert project_of(project[1]) == project[0] != 1

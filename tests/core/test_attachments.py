"""Attachments: files added to the scope or to one capture arrive as ``attachment`` items of the
event's envelope, byte-identical; caps, rate limits, unreadable paths and the outbox never cost
the event, and every attachment left out is counted (category ``attachment``, in bytes)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import raven

from tests.core.conftest import BASE_OPTIONS, Harness
from tests.receiver import Receiver

BINARY = bytes(range(256)) * 64 + b"\n\r\n\x00 end"  # every byte value, newlines included


def _attachments_of(receiver: Receiver, event_id: str) -> list[dict[str, Any]]:
    return [a for a in receiver.attachments if a["event_id"] == event_id]


def _raise_and_capture(client: raven.Client, **kwargs: Any) -> str | None:
    try:
        raise ValueError("boom")
    except ValueError:
        return client.captureException(**kwargs)


def test_bytes_and_path_arrive_byte_identical_with_their_headers(
    sentry: Harness, tmp_path: Path
) -> None:
    """A scope's bytes and file attachments arrive with the error, payloads byte-identical, with
    filename, content_type, attachment_type and length item headers."""
    log = tmp_path / "app.log"
    log.write_bytes(b"line 1\nline 2\n" * 100)
    client = sentry.client()
    client.add_attachment(BINARY, filename="dump.bin", content_type="application/x-dump")
    client.add_attachment(log)  # os.PathLike; the file name and type come from the path
    client.add_attachment(str(log), filename="renamed.txt")
    event_id = _raise_and_capture(client)
    event = sentry.event()
    assert event["event_id"] == event_id
    attachments = _attachments_of(sentry.receiver, event_id)
    assert [a["headers"] for a in attachments] == [
        {
            "type": "attachment",
            "filename": "dump.bin",
            "content_type": "application/x-dump",
            "attachment_type": "event.attachment",
            "length": len(BINARY),
        },
        {
            "type": "attachment",
            "filename": "app.log",
            "content_type": "text/plain",
            "attachment_type": "event.attachment",
            "length": log.stat().st_size,
        },
        {
            "type": "attachment",
            "filename": "renamed.txt",
            "content_type": "text/plain",
            "attachment_type": "event.attachment",
            "length": log.stat().st_size,
        },
    ]
    assert [a["payload"] for a in attachments] == [BINARY, log.read_bytes(), log.read_bytes()]
    assert sentry.receiver.requests[0].item_types[:1] == ["event"]


def test_scope_attachments_go_with_every_event_until_cleared(sentry: Harness) -> None:
    """An attachment of the scope travels with each event of the scope, messages included, and
    no longer after clear_attachments()."""
    client = sentry.client()
    client.add_attachment(b"config", filename="config.json")
    first = client.captureMessage("first")
    second = _raise_and_capture(client)
    client.clear_attachments()
    third = client.captureMessage("third")
    sentry.events(3)
    receiver = sentry.receiver
    assert [a["payload"] for a in _attachments_of(receiver, first)] == [b"config"]
    assert [a["payload"] for a in _attachments_of(receiver, second)] == [b"config"]
    assert _attachments_of(receiver, third) == []


def test_per_capture_attachments_go_with_that_event_only(sentry: Harness, tmp_path: Path) -> None:
    """attachments= on captureException, captureMessage and capture sends them with that event
    (after the scope's), in each accepted form, and never with the next one."""
    path = tmp_path / "trace.txt"
    path.write_text("trace")
    client = sentry.client()
    client.add_attachment(b"scope", filename="scope.txt")
    exc_id = _raise_and_capture(
        client,
        attachments=[
            b"raw",
            (b"tuple", "t.csv"),
            (b"typed", "t.dat", "application/x-t"),
            {"data": b"dict", "filename": "d.json"},
            path,
        ],
    )
    msg_id = client.captureMessage("message", attachments=[{"path": str(path)}])
    cap_id = client.capture(
        "raven.events.Message", message="capture", attachments=[(b"c", "c.txt")]
    )
    plain_id = client.captureMessage("no per-capture attachments")
    sentry.events(4)
    receiver = sentry.receiver

    def names(event_id: str | None) -> list[tuple[str, bytes]]:
        assert event_id is not None
        return [
            (a["headers"]["filename"], a["payload"]) for a in _attachments_of(receiver, event_id)
        ]

    assert names(exc_id) == [
        ("scope.txt", b"scope"),
        ("attachment", b"raw"),
        ("t.csv", b"tuple"),
        ("t.dat", b"typed"),
        ("d.json", b"dict"),
        ("trace.txt", b"trace"),
    ]
    types = {a["headers"]["filename"]: a["headers"]["content_type"] for a in receiver.attachments}
    assert types["t.csv"] == "text/csv" and types["t.dat"] == "application/x-t"
    assert names(msg_id) == [("scope.txt", b"scope"), ("trace.txt", b"trace")]
    assert names(cap_id) == [("scope.txt", b"scope"), ("c.txt", b"c")]
    assert names(plain_id) == [("scope.txt", b"scope")]


def test_scope_attachments_are_isolated_between_threads(sentry: Harness) -> None:
    """Two threads inside their own scopes add attachments at the same time; each event carries
    only its own thread's, and nothing is left in the outer scope."""
    client = sentry.client()
    barrier = threading.Barrier(2)
    ids: dict[int, str | None] = {}

    def work(index: int) -> None:
        with client.context:
            client.add_attachment(f"from {index}".encode(), filename=f"{index}.txt")
            barrier.wait(timeout=10)
            ids[index] = _raise_and_capture(client)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sentry.events(2)
    for index, event_id in ids.items():
        assert event_id is not None
        payloads = [a["payload"] for a in _attachments_of(sentry.receiver, event_id)]
        assert payloads == [f"from {index}".encode()]
    assert client.context.attachments == ()


def test_attachment_over_the_cap_is_left_out_and_counted(sentry: Harness, tmp_path: Path) -> None:
    """An attachment over max_attachment_size (bytes or a file, not read) is left out and counted
    as too_large in bytes; the event and the attachments under the cap still arrive."""
    big = tmp_path / "big.log"
    big.write_bytes(b"x" * 5000)
    client = sentry.client(max_attachment_size=1000)
    event_id = _raise_and_capture(
        client, attachments=[(b"y" * 1001, "big.bin"), big, (b"ok", "small.txt")]
    )
    sentry.event()
    received = _attachments_of(sentry.receiver, event_id)  # type: ignore[arg-type]
    assert [a["headers"]["filename"] for a in received] == ["small.txt"]
    assert sentry.receiver.discarded() == {("too_large", "attachment"): 1001 + 5000}


def test_attachments_over_the_envelope_cap_are_left_out_and_counted(sentry: Harness) -> None:
    """max_attachments_size caps one event's attachments together: the first that fit are
    sent, the ones that would pass the cap are left out and counted."""
    client = sentry.client(max_attachments_size=2500)
    event_id = client.captureMessage(
        "m", attachments=[(b"a" * 1000, "a"), (b"b" * 1000, "b"), (b"c" * 1000, "c"), (b"d", "d")]
    )
    sentry.event()
    received = _attachments_of(sentry.receiver, event_id)  # type: ignore[arg-type]
    assert [a["headers"]["filename"] for a in received] == ["a", "b", "d"]
    assert sentry.receiver.discarded() == {("too_large", "attachment"): 1000}


def test_attachment_rate_limit_drops_only_attachments(sentry: Harness) -> None:
    """After the server rate-limits category attachment (a 429 naming it), the next error goes
    without its attachments, which are counted as ratelimit_backoff in bytes."""
    receiver = sentry.receiver
    client = sentry.client()
    receiver.respond_with(429, {"X-Sentry-Rate-Limits": "60:attachment:key"})
    client.captureMessage("answered 429")
    receiver.respond_with(200)
    event_id = _raise_and_capture(client, attachments=[(b"z" * 300, "z.bin"), (b"q", "q")])
    (event,) = sentry.events(1)  # the 429'd envelope was not kept by the server
    assert event["event_id"] == event_id
    assert receiver.attachments == []
    assert receiver.discarded() == {("ratelimit_backoff", "attachment"): 301}


def test_rate_limited_error_counts_its_attachments(sentry: Harness) -> None:
    """An error dropped because category error is rate limited is counted with its attachments."""
    receiver = sentry.receiver
    client = sentry.client()
    receiver.respond_with(200, {"X-Sentry-Rate-Limits": "60:error:key"})
    client.captureMessage("sets the limit")  # a message: category default, still sent
    client.add_attachment(b"12345", filename="five.txt")
    assert _raise_and_capture(client) is not None  # dropped by the transport, not the client
    receiver.respond_with(200)
    client.captureMessage("carries the report")
    sentry.events(2)
    assert receiver.discarded() == {
        ("ratelimit_backoff", "error"): 1,
        ("ratelimit_backoff", "attachment"): 5,
    }


@pytest.mark.parametrize("missing", ["str", "pathlike", "directory"])
def test_unreadable_path_never_raises_and_the_event_is_sent(
    sentry: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture, missing: str
) -> None:
    """A path that is missing (or not a file) when the event is sent is logged on raven.* and
    counted (invalid); the event and the other attachments still arrive."""
    path: Any = {
        "str": str(tmp_path / "gone.log"),
        "pathlike": tmp_path / "gone.log",
        "directory": tmp_path,
    }[missing]
    client = sentry.client()
    client.add_attachment(path, filename="unreadable.log")
    with caplog.at_level(logging.WARNING, logger="raven"):
        event_id = _raise_and_capture(client, attachments=[(b"kept", "kept.txt")])
    sentry.event()
    assert [a["payload"] for a in _attachments_of(sentry.receiver, event_id)] == [b"kept"]  # type: ignore[arg-type]
    assert any("unreadable.log" in r.getMessage() for r in caplog.records)
    assert all(r.name.startswith("raven") for r in caplog.records)
    client.clear_attachments()
    client.captureMessage("carries the report")
    sentry.events(2)
    assert sentry.receiver.discarded() == {("invalid", "attachment"): 1}


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((None,), {}), ((123,), {}), ((b"x",), {"filename": 5}), ((b"x",), {"content_type": b"t"})],
)
def test_bad_arguments_are_logged_and_ignored(
    sentry: Harness, caplog: pytest.LogCaptureFixture, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """add_attachment with something that is not bytes or a path, or a bad filename or type,
    never raises: one warning on raven.* however many calls, nothing added; a capture's bad
    attachment is left out and its good ones sent."""
    client = sentry.client()
    with caplog.at_level(logging.WARNING, logger="raven"):
        for _ in range(3):
            client.add_attachment(*args, **kwargs)
        assert len(caplog.records) == 1 and "attachment" in caplog.records[0].getMessage()
        assert caplog.records[0].name.startswith("raven")
        event_id = client.captureMessage("m", attachments=[object(), (b"ok", "ok.txt")])
    sentry.event()
    assert [a["payload"] for a in _attachments_of(sentry.receiver, event_id)] == [b"ok"]  # type: ignore[arg-type]


def test_the_background_sender_reads_paths_when_it_sends(
    receiver: Receiver, tmp_path: Path
) -> None:
    """With the default (background) transport a file is read when the event is encoded, and
    arrives byte-identical."""
    path = tmp_path / "state.bin"
    path.write_bytes(BINARY)
    client = raven.Client(receiver.dsn, **BASE_OPTIONS)
    try:
        client.add_attachment(os.fspath(path))
        event_id = _raise_and_capture(client)
        assert client.flush(10)
        (attachment,) = receiver.wait_for_attachments(1)
        assert attachment["event_id"] == event_id and attachment["payload"] == BINARY
    finally:
        client.close(5)


def test_outbox_keeps_attachments_while_the_server_is_down(
    receiver: Receiver, tmp_path: Path
) -> None:
    """An error captured while the server is down is kept in the outbox with its attachments;
    the next process's client delivers both."""
    outbox = str(tmp_path / "outbox")
    receiver.stop()
    first = raven.Client(receiver.dsn, outbox_path=outbox, shutdown_timeout=0.5, **BASE_OPTIONS)
    event_id = _raise_and_capture(first, attachments=[(BINARY, "kept.bin")])
    first.close(0.5)
    assert os.listdir(outbox)
    receiver.start()
    second = raven.Client(receiver.dsn, outbox_path=outbox, **BASE_OPTIONS)
    try:
        assert second.flush(20)
        (event,) = receiver.wait_for(1)
        assert event["event_id"] == event_id
        (attachment,) = receiver.wait_for_attachments(1)
        assert attachment["event_id"] == event_id and attachment["payload"] == BINARY
    finally:
        second.close(5)


def test_no_attachments_no_items(sentry: Harness) -> None:
    """An event without attachments is sent as before: one event item, no attachment state."""
    client = sentry.client()
    client.captureMessage("plain")
    sentry.event()
    assert sentry.receiver.requests[0].item_types == ["event"]
    assert client.context.attachments == ()


@pytest.mark.parametrize("reason", ["sample_rate", "before_send"])
def test_an_event_dropped_by_the_client_counts_its_attachments(
    sentry: Harness, reason: str
) -> None:
    """An event left out by sample_rate or before_send is counted with its attachments (scope's
    and the capture's), in bytes."""
    options: dict[str, Any] = (
        {"sample_rate": 0.0} if reason == "sample_rate" else {"before_send": lambda e, h: None}
    )
    client = sentry.client(dsn=sentry.receiver.dsn, **options)
    client.add_attachment(b"1234", filename="scope.txt")
    assert client.captureMessage("dropped", attachments=[(b"123456", "own.txt")]) is None
    assert client.flush(5)  # sends the pending client report
    sentry.receiver.wait_until(
        lambda r: r.discarded() == {(reason, "default"): 1, (reason, "attachment"): 10}
    )
    assert sentry.receiver.events == [] and sentry.receiver.attachments == []


def test_attachments_never_take_the_events_place_in_the_queue(receiver: Receiver) -> None:
    """With a small send queue, an attachment larger than half of queue_max_bytes is left out
    (too_large, counted in bytes) and the event is still delivered by the background sender."""
    client = raven.Client(receiver.dsn, queue_max_bytes=100_000, **BASE_OPTIONS)
    try:
        event_id = client.captureMessage(
            "queued", attachments=[(b"b" * 80_000, "big.bin"), (b"s" * 1000, "small.bin")]
        )
        assert client.flush(10)
        (event,) = receiver.wait_for(1)
        assert event["event_id"] == event_id
        (attachment,) = receiver.wait_for_attachments(1)
        assert attachment["headers"]["filename"] == "small.bin"
        receiver.wait_until(lambda r: r.discarded() == {("too_large", "attachment"): 80_000})
    finally:
        client.close(5)

"""What one received item does to the database: an event joins (or opens) its issue, a
transaction, session, check-in, log batch, client report or attachment is kept, and any other
item type is counted, never dropped silently."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .grouping import group, user_key

__all__ = ["TERMINAL_SESSION_STATES", "Record", "apply", "epoch"]

TERMINAL_SESSION_STATES = frozenset({"exited", "crashed", "abnormal"})


@dataclass
class Record:
    """One thing to store: ``kind`` is the item type (``event``, ``transaction``, ...), or
    ``project`` to create a project named ``payload["name"]``."""

    kind: str
    project_id: int
    payload: dict[str, Any] = field(default_factory=dict)
    raw: bytes = b""
    headers: dict[str, Any] = field(default_factory=dict)
    event_id: str | None = None


def epoch(value: Any, default: float | None = None) -> float | None:
    """A Sentry timestamp (seconds since the epoch, or RFC 3339 text) as seconds."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return default
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()
    return default


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _raw(record: Record) -> bytes:
    """The item's JSON as stored: zlib-compressed (a tenth of the size, for little CPU)."""
    return zlib.compress(record.raw or json.dumps(record.payload).encode(), 1)


def _trace(data: dict[str, Any]) -> dict[str, Any]:
    contexts = data.get("contexts")
    trace = contexts.get("trace") if isinstance(contexts, dict) else None
    return trace if isinstance(trace, dict) else {}


def _event_id(record: Record) -> str:
    value = record.payload.get("event_id") or record.event_id or uuid.uuid4().hex
    return str(value).replace("-", "").lower()


def _event(db: sqlite3.Connection, record: Record, now: float) -> int | None:
    """Store an event in its issue; the issue's id (None for a duplicate event id)."""
    data, project = record.payload, record.project_id
    event_id = _event_id(record)
    duplicate = "SELECT 1 FROM events WHERE event_id = ? AND project_id = ?"
    if db.execute(duplicate, (event_id, project)).fetchone():
        return None
    grouping = group(data)
    timestamp = epoch(data.get("timestamp"), now) or now
    level = str(data.get("level") or ("error" if grouping.kind == "error" else "info"))
    release, environment = _text(data.get("release")), _text(data.get("environment"))
    row = db.execute(
        "SELECT id FROM issues WHERE project_id = ? AND hash = ?", (project, grouping.hash)
    ).fetchone()
    if row is None:
        issue_id = db.execute(
            "INSERT INTO issues (project_id, hash, kind, title, culprit, level, release,"
            " environment, first_seen, last_seen, count, stored) VALUES (?,?,?,?,?,?,?,?,?,?,1,1)",
            (project, grouping.hash, grouping.kind, grouping.title, grouping.culprit, level)
            + (release, environment, timestamp, timestamp),
        ).lastrowid
    else:
        issue_id = row[0]
        db.execute(
            "UPDATE issues SET count = count + 1, stored = stored + 1, title = ?, culprit = ?,"
            " level = ?, release = coalesce(?, release), environment = coalesce(?, environment),"
            " last_seen = max(last_seen, ?), first_seen = min(first_seen, ?) WHERE id = ?",
            (grouping.title, grouping.culprit, level, release, environment, timestamp)
            + (timestamp, issue_id),
        )
    user = user_key(data)
    if user is not None:
        added = db.execute(
            "INSERT OR IGNORE INTO issue_users (issue_id, user) VALUES (?, ?)", (issue_id, user)
        ).rowcount
        if added:
            db.execute("UPDATE issues SET users = users + 1 WHERE id = ?", (issue_id,))
    db.execute(
        "INSERT OR IGNORE INTO issue_seen_in (issue_id, release, environment) VALUES (?, ?, ?)",
        (issue_id, release or "", environment or ""),
    )
    db.execute(
        "INSERT INTO events (project_id, issue_id, event_id, timestamp, received, level, release,"
        " environment, title, trace_id, data) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (project, issue_id, event_id, timestamp, now, level, release, environment)
        + (grouping.title, _text(_trace(data).get("trace_id")), _raw(record)),
    )
    return int(issue_id) if issue_id is not None else None


def _transaction(db: sqlite3.Connection, record: Record, now: float) -> None:
    """Store a transaction once per event id (an SDK may send one again after a lost answer)."""
    data, event_id = record.payload, _event_id(record)
    duplicate = "SELECT 1 FROM transactions WHERE event_id = ? AND project_id = ?"
    if db.execute(duplicate, (event_id, record.project_id)).fetchone():
        return
    end = epoch(data.get("timestamp"), now) or now
    start = epoch(data.get("start_timestamp"), end) or end
    trace = _trace(data)
    spans = data.get("spans")
    db.execute(
        "INSERT INTO transactions (project_id, event_id, trace_id, name, op, status, start,"
        " duration, span_count, release, environment, data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (record.project_id, event_id, _text(trace.get("trace_id")))
        + (str(data.get("transaction") or "<unnamed transaction>"), _text(trace.get("op")))
        + (_text(trace.get("status")), start, max(0.0, end - start))
        + (len(spans) if isinstance(spans, list) else 0, _text(data.get("release")))
        + (_text(data.get("environment")), _raw(record)),
    )


def _attrs(data: dict[str, Any]) -> tuple[str, str]:
    attrs = data.get("attrs")
    if not isinstance(attrs, dict):
        return "", ""
    return str(attrs.get("release") or ""), str(attrs.get("environment") or "")


def _session(db: sqlite3.Connection, record: Record, now: float) -> bool:
    data, project = record.payload, record.project_id
    sid = str(data.get("sid") or uuid.uuid4())
    status = str(data.get("status") or "ok")
    errors = int(data.get("errors") or 0)
    release, environment = _attrs(data)
    started = epoch(data.get("started"), now) or now
    row = db.execute(
        "SELECT status FROM sessions WHERE project_id = ? AND sid = ?", (project, sid)
    ).fetchone()
    if row is None:
        db.execute(
            "INSERT INTO sessions (project_id, sid, release, environment, status, errors, started,"
            " updated) VALUES (?,?,?,?,?,?,?,?)",
            (project, sid, release, environment, status, errors, started, now),
        )
        return True
    if row[0] not in TERMINAL_SESSION_STATES:  # a terminal state is final
        db.execute(
            "UPDATE sessions SET status = ?, errors = max(errors, ?), updated = ?"
            " WHERE project_id = ? AND sid = ?",
            (status, errors, now, project, sid),
        )
    return False


def _session_aggregates(db: sqlite3.Connection, record: Record, now: float) -> None:
    release, environment = _attrs(record.payload)
    for bucket in record.payload.get("aggregates") or []:
        if isinstance(bucket, dict):
            counts = [int(bucket.get(k) or 0) for k in ("exited", "errored", "crashed", "abnormal")]
            db.execute(
                "INSERT INTO session_aggregates (project_id, release, environment, started,"
                " exited, errored, crashed, abnormal) VALUES (?,?,?,?,?,?,?,?)",
                (record.project_id, release, environment, epoch(bucket.get("started"), now))
                + tuple(counts),
            )


def _check_in(db: sqlite3.Connection, record: Record, now: float) -> bool:
    data, project = record.payload, record.project_id
    check_in_id = str(data.get("check_in_id") or uuid.uuid4().hex).replace("-", "")
    status, duration = str(data.get("status") or "ok"), data.get("duration")
    duration = float(duration) if isinstance(duration, int | float) else None
    updated = db.execute(
        "UPDATE check_ins SET status = ?, duration = coalesce(?, duration), data = ?"
        " WHERE check_in_id = ? AND project_id = ?",
        (status, duration, _raw(record), check_in_id, project),
    ).rowcount
    if not updated:
        db.execute(
            "INSERT INTO check_ins (project_id, check_in_id, monitor, status, duration,"
            " environment, release, received, data) VALUES (?,?,?,?,?,?,?,?,?)",
            (project, check_in_id, str(data.get("monitor_slug") or "?"), status, duration)
            + (_text(data.get("environment")), _text(data.get("release")), now, _raw(record)),
        )
    return not updated


def _logs(db: sqlite3.Connection, record: Record, now: float) -> int:
    rows = [
        (record.project_id, epoch(item.get("timestamp"), now), str(item.get("level") or "info"))
        + (str(item.get("body") or ""), _text(item.get("trace_id")))
        + (json.dumps(item.get("attributes") or {}),)
        for item in record.payload.get("items") or []
        if isinstance(item, dict)
    ]
    db.executemany(
        "INSERT INTO logs (project_id, timestamp, level, body, trace_id, attributes)"
        " VALUES (?,?,?,?,?,?)",
        rows,
    )
    return len(rows)


def _count(db: sqlite3.Connection, project: int, item: str, detail: str, quantity: int) -> None:
    db.execute(
        "INSERT INTO item_counts (project_id, item, detail, quantity) VALUES (?,?,?,?)"
        " ON CONFLICT DO UPDATE SET quantity = quantity + excluded.quantity",
        (project, item, detail, quantity),
    )


def _client_report(db: sqlite3.Connection, record: Record, now: float) -> None:
    for entry in record.payload.get("discarded_events") or []:
        if isinstance(entry, dict):
            detail = f"{entry.get('reason')} / {entry.get('category')}"
            _count(db, record.project_id, "discarded", detail, int(entry.get("quantity") or 0))


def _attachment(db: sqlite3.Connection, record: Record, now: float) -> None:
    db.execute(
        "INSERT INTO attachments (project_id, event_id, filename, content_type, size, data)"
        " VALUES (?,?,?,?,?,?)",
        (record.project_id, record.event_id, str(record.headers.get("filename") or "attachment"))
        + (str(record.headers.get("content_type") or "application/octet-stream"),)
        + (len(record.raw), record.raw),
    )


def _project(db: sqlite3.Connection, record: Record, now: float) -> tuple[int, str]:
    key = secrets.token_hex(16)
    name = str(record.payload.get("name") or "project")
    project_id = db.execute(
        "INSERT INTO projects (name, public_key, created) VALUES (?, ?, ?)", (name, key, now)
    ).lastrowid
    assert project_id is not None
    return project_id, key


_STORE: dict[str, Callable[[sqlite3.Connection, Record, float], Any]] = {
    "event": _event,
    "transaction": _transaction,
    "session": _session,
    "sessions": _session_aggregates,
    "check_in": _check_in,
    "log": _logs,
    "client_report": _client_report,
    "attachment": _attachment,
    "project": _project,
}


def apply(db: sqlite3.Connection, record: Record, now: float | None = None) -> Any:
    """Store ``record``; what it returns: an event's issue id (None for a duplicate), a project's
    (id, key), a log batch's number of lines, whether a session or check-in is a new one."""
    store = _STORE.get(record.kind)
    if store is None:  # an item type not kept: counted
        _count(db, record.project_id, "skipped", record.kind, 1)
        return None
    return store(db, record, time.time() if now is None else now)

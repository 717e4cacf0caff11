"""What the pages and the JSON API read: issues filtered and sorted, an issue's events one at a
time, transactions, sessions per release, check-ins per monitor, logs and projects."""

from __future__ import annotations

import json
import sqlite3
import zlib
from dataclasses import dataclass
from typing import Any

__all__ = [
    "IssueFilter",
    "attachments",
    "check_ins",
    "event",
    "event_neighbours",
    "facets",
    "issue",
    "issue_events",
    "issues",
    "item_counts",
    "logs",
    "monitors",
    "projects",
    "release_health",
    "trace_events",
    "transaction",
    "transactions",
]

SORTS = {"last_seen": "last_seen DESC", "count": "count DESC", "first_seen": "first_seen DESC"}


@dataclass(frozen=True)
class IssueFilter:
    """The issue list's filters: project, level, release, environment, free text, sort, page."""

    project: int | None = None
    level: str = ""
    release: str = ""
    environment: str = ""
    query: str = ""
    sort: str = "last_seen"
    page: int = 1
    per_page: int = 50


def _dicts(rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    return [dict(row) for row in rows]


def issues(db: sqlite3.Connection, where: IssueFilter) -> tuple[list[dict[str, Any]], int]:
    """One page of issues matching ``where`` and how many match in all."""
    clauses: list[str] = []
    params: list[Any] = []
    if where.project is not None:
        clauses.append("project_id = ?")
        params.append(where.project)
    if where.level:
        clauses.append("level = ?")
        params.append(where.level)
    for column in ("release", "environment"):
        value = getattr(where, column)
        if value:
            clauses.append(f"id IN (SELECT issue_id FROM issue_seen_in WHERE {column} = ?)")
            params.append(value)
    if where.query:
        clauses.append("(title LIKE ? ESCAPE '\\' OR culprit LIKE ? ESCAPE '\\')")
        pattern = "%" + where.query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [pattern + "%", pattern + "%"]
    condition = " WHERE " + " AND ".join(clauses) if clauses else ""
    total = db.execute(f"SELECT count(*) FROM issues{condition}", params).fetchone()[0]
    order = SORTS.get(where.sort, SORTS["last_seen"])
    rows = db.execute(
        f"SELECT * FROM issues{condition} ORDER BY {order}, id DESC LIMIT ? OFFSET ?",
        [*params, where.per_page, (max(where.page, 1) - 1) * where.per_page],
    ).fetchall()
    return _dicts(rows), int(total)


def facets(db: sqlite3.Connection, project: int | None) -> dict[str, list[str]]:
    """The levels, releases and environments issues were seen with (the filters' choices)."""
    scope, params = ("WHERE project_id = ?", [project]) if project is not None else ("", [])
    seen = f"SELECT DISTINCT {{0}} FROM issue_seen_in WHERE {{0}} != '' AND issue_id IN (SELECT id FROM issues {scope}) ORDER BY 1"
    return {
        "level": [r[0] for r in db.execute(f"SELECT DISTINCT level FROM issues {scope}", params)],
        "release": [r[0] for r in db.execute(seen.format("release"), params)],
        "environment": [r[0] for r in db.execute(seen.format("environment"), params)],
    }


def issue(db: sqlite3.Connection, issue_id: int) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM issues WHERE id = ?", (issue_id,)).fetchone()
    return dict(row) if row else None


def _event_row(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    found = dict(row)
    found["data"] = json.loads(zlib.decompress(found["data"]))
    return found


def event(
    db: sqlite3.Connection, *, event_id: str | None = None, issue_id: int | None = None
) -> dict[str, Any] | None:
    """An event by its id, or the latest of an issue, with its JSON decoded under ``data``."""
    if event_id is not None:
        row = db.execute(
            "SELECT * FROM events WHERE event_id = ?", (event_id.replace("-", "").lower(),)
        ).fetchone()
    else:
        row = db.execute(
            "SELECT * FROM events WHERE issue_id = ? ORDER BY id DESC LIMIT 1", (issue_id,)
        ).fetchone()
    return _event_row(row)


def event_neighbours(db: sqlite3.Connection, issue_id: int, row_id: int) -> dict[str, Any]:
    """The event ids around one event of an issue: newest, newer, older, oldest (None at the ends)."""
    one = "SELECT event_id FROM events WHERE issue_id = ? AND id {} ? ORDER BY id {} LIMIT 1"
    found = {}
    for name, op, order, bound in (
        ("newer", ">", "ASC", row_id),
        ("older", "<", "DESC", row_id),
        ("newest", "<=", "DESC", 2**62),
        ("oldest", ">=", "ASC", 0),
    ):
        row = db.execute(one.format(op, order), (issue_id, bound)).fetchone()
        found[name] = row[0] if row else None
    return found


def issue_events(
    db: sqlite3.Connection, issue_id: int, limit: int = 20, offset: int = 0
) -> list[dict[str, Any]]:
    """An issue's latest events (without their JSON)."""
    rows = db.execute(
        "SELECT id, event_id, timestamp, level, release, environment, title, trace_id"
        " FROM events WHERE issue_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
        (issue_id, limit, offset),
    ).fetchall()
    return _dicts(rows)


def attachments(db: sqlite3.Connection, event_id: str) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT id, filename, content_type, size FROM attachments WHERE event_id = ?", (event_id,)
    ).fetchall()
    return _dicts(rows)


def transactions(
    db: sqlite3.Connection, project: int | None, trace_id: str = "", limit: int = 100
) -> list[dict[str, Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if project is not None:
        clauses.append("project_id = ?")
        params.append(project)
    if trace_id:
        clauses.append("trace_id = ?")
        params.append(trace_id)
    condition = " WHERE " + " AND ".join(clauses) if clauses else ""
    rows = db.execute(
        "SELECT id, event_id, trace_id, name, op, status, start, duration, span_count, release,"
        f" environment FROM transactions{condition} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return _dicts(rows)


def trace_events(db: sqlite3.Connection, trace_id: str) -> list[dict[str, Any]]:
    """The errors and messages captured in a trace."""
    rows = db.execute(
        "SELECT event_id, issue_id, title, level, timestamp FROM events WHERE trace_id = ?"
        " ORDER BY id LIMIT 100",
        (trace_id,),
    ).fetchall()
    return _dicts(rows)


def transaction(db: sqlite3.Connection, event_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM transactions WHERE event_id = ?", (event_id,)).fetchone()
    if row is None:
        return None
    found = dict(row)
    found["data"] = json.loads(zlib.decompress(found["data"]))
    return found


def release_health(db: sqlite3.Connection, project: int | None) -> list[dict[str, Any]]:
    """Per release and environment: sessions, crashed, errored, abnormal and the crash-free rate,
    from single sessions and from aggregates alike."""
    scope, params = ("WHERE project_id = ?", [project]) if project is not None else ("", [])
    rows = db.execute(
        "SELECT release, environment, sum(total) AS total, sum(crashed) AS crashed,"
        " sum(errored) AS errored, sum(abnormal) AS abnormal FROM ("
        " SELECT release, environment, 1 AS total, status = 'crashed' AS crashed,"
        f"  (errors > 0 AND status != 'crashed') AS errored, status = 'abnormal' AS abnormal"
        f"  FROM sessions {scope}"
        " UNION ALL SELECT release, environment, exited + errored + crashed + abnormal,"
        f"  crashed, errored, abnormal FROM session_aggregates {scope}"
        ") GROUP BY release, environment ORDER BY release DESC, environment",
        params * 2,
    ).fetchall()
    found = _dicts(rows)
    for row in found:
        row["crash_free"] = 1 - row["crashed"] / row["total"] if row["total"] else None
    return found


def monitors(db: sqlite3.Connection, project: int | None) -> list[dict[str, Any]]:
    """Each monitor with its number of check-ins, its failures and its latest status."""
    scope, params = ("WHERE project_id = ?", [project]) if project is not None else ("", [])
    rows = db.execute(
        "SELECT monitor, count(*) AS check_ins, sum(status = 'error') AS errors,"
        " max(received) AS last_received,"
        " (SELECT status FROM check_ins AS c WHERE c.monitor = check_ins.monitor"
        "  ORDER BY id DESC LIMIT 1) AS last_status"
        f" FROM check_ins {scope} GROUP BY monitor ORDER BY monitor",
        params,
    ).fetchall()
    return _dicts(rows)


def check_ins(db: sqlite3.Connection, monitor: str, limit: int = 50) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT check_in_id, status, duration, environment, release, received FROM check_ins"
        " WHERE monitor = ? ORDER BY id DESC LIMIT ?",
        (monitor, limit),
    ).fetchall()
    return _dicts(rows)


def logs(db: sqlite3.Connection, project: int | None, limit: int = 200) -> list[dict[str, Any]]:
    scope, params = ("WHERE project_id = ?", [project]) if project is not None else ("", [])
    rows = db.execute(
        f"SELECT * FROM logs {scope} ORDER BY id DESC LIMIT ?", [*params, limit]
    ).fetchall()
    found = _dicts(rows)
    for row in found:
        attributes = json.loads(row["attributes"])
        row["attributes"] = {
            k: v.get("value") if isinstance(v, dict) else v for k, v in attributes.items()
        }
    return found


def projects(db: sqlite3.Connection) -> list[dict[str, Any]]:
    return _dicts(db.execute("SELECT * FROM projects ORDER BY id").fetchall())


def item_counts(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Items counted rather than stored: SDKs' discards (client reports) and skipped item types."""
    rows = db.execute(
        "SELECT project_id, item, detail, quantity FROM item_counts ORDER BY project_id, item"
    ).fetchall()
    return _dicts(rows)

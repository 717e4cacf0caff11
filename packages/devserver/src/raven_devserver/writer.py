"""The one thread that writes: requests hand it their records and wait; it commits whatever has
queued up in one transaction (a group commit), prunes past the retention bounds, then answers
them all. An answered request's events are on disk, and a burst costs one commit per batch."""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from .db import Database
from .records import Record, apply

__all__ = ["Retention", "Writer"]

log = logging.getLogger("raven_devserver")

_BATCH = 500  # requests per transaction at most
# Tables pruned by count besides events (attachments are bulky: fewer of them).
_TABLES = ("transactions", "logs", "check_ins", "sessions", "session_aggregates", "attachments")


@dataclass(frozen=True)
class Retention:
    """How much is kept: events in all and per issue, and rows of each other kind of telemetry."""

    max_events: int = 100_000
    max_events_per_issue: int = 10_000
    max_attachments: int = 1_000

    def __post_init__(self) -> None:
        for name in ("max_events", "max_events_per_issue", "max_attachments"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")

    def limit(self, table: str) -> int:
        return self.max_attachments if table == "attachments" else self.max_events


_Job = tuple[list[Record], "Future[list[Any]]"]


class Writer:
    """Start with :meth:`start`; :meth:`submit` records from any thread; :meth:`stop` at the end."""

    def __init__(self, db: Database, retention: Retention) -> None:
        self.db = db
        self.retention = retention
        self.version = 0  # bumped after every commit: pages use it to notice new data
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._listeners: list[Callable[[int], None]] = []
        self._thread: threading.Thread | None = None
        with db.writing() as connection:
            self._rows = {
                t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("events", *_TABLES)
            }

    def start(self) -> Writer:
        self._thread = threading.Thread(target=self._run, name="raven-devserver-writer")
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def on_commit(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(version)`` (in the writer thread) after each commit."""
        self._listeners.append(listener)

    def submit(self, records: list[Record]) -> Future[list[Any]]:
        """Queue ``records``; the future gives what each stored record returned, once committed."""
        future: Future[list[Any]] = Future()
        self._queue.put((records, future))
        return future

    def _run(self) -> None:
        running = True
        while running:
            job = self._queue.get()
            if job is None:
                break
            jobs = [job]
            while len(jobs) < _BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    running = False
                    break
                jobs.append(more)
            self._commit(jobs)

    def _commit(self, jobs: list[_Job]) -> None:
        try:
            with self.db.writing() as connection:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    results = [self._apply_all(connection, records) for records, _ in jobs]
                    self._prune(connection, {r for rs in results for r in rs if type(r) is int})
                    connection.execute("COMMIT")
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
        except Exception as exc:
            log.exception("could not store a batch of %d requests", len(jobs))
            for _, future in jobs:
                future.set_exception(exc)
            return
        self.version += 1
        for listener in self._listeners:
            try:
                listener(self.version)
            except Exception:
                log.exception("a commit listener failed")
        for (_, future), result in zip(jobs, results, strict=True):
            future.set_result(result)

    def _apply_all(self, connection: sqlite3.Connection, records: list[Record]) -> list[Any]:
        results = []
        now = time.time()
        for record in records:
            connection.execute("SAVEPOINT record")
            try:
                result = apply(connection, record, now)
            except Exception:
                # One malformed item (a field of an unexpected type) spoils only itself.
                connection.execute("ROLLBACK TO record")
                log.exception("could not store a %s item; skipped", record.kind)
                result = None
            connection.execute("RELEASE record")
            results.append(result)
            self._added(record, result)
        return results

    def _added(self, record: Record, result: Any) -> None:
        table = {"event": "events", "transaction": "transactions", "log": "logs"}.get(record.kind)
        table = table or {"check_in": "check_ins", "session": "sessions"}.get(record.kind)
        table = table or {"sessions": "session_aggregates", "attachment": "attachments"}.get(
            record.kind
        )
        if table == "logs":
            self._rows[table] += result or 0
        elif table is not None and (record.kind not in ("event", "session", "check_in") or result):
            self._rows[table] += 1

    def _prune(self, connection: sqlite3.Connection, issues: set[int]) -> None:
        """Drop the oldest events past the per-issue and total bounds (issue counts stay)."""
        per_issue = self.retention.max_events_per_issue
        for issue_id in issues:
            deleted = connection.execute(
                "DELETE FROM events WHERE issue_id = ? AND id < (SELECT id FROM events"
                " WHERE issue_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (issue_id, issue_id, per_issue - 1),
            ).rowcount
            if deleted > 0:
                connection.execute(
                    "UPDATE issues SET stored = stored - ? WHERE id = ?", (deleted, issue_id)
                )
                self._rows["events"] -= deleted
        excess = self._rows["events"] - self.retention.max_events
        if excess > 0:
            oldest = "SELECT id, issue_id FROM events ORDER BY id LIMIT ?"
            by_issue = connection.execute(
                f"SELECT issue_id, count(*) FROM ({oldest}) GROUP BY issue_id", (excess,)
            ).fetchall()
            connection.executemany(
                "UPDATE issues SET stored = stored - ? WHERE id = ?",
                [(count, issue_id) for issue_id, count in by_issue],
            )
            connection.execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?)",
                (excess,),
            )
            self._rows["events"] -= excess
        for table in _TABLES:
            excess = self._rows[table] - self.retention.limit(table)
            if excess > 0:
                connection.execute(
                    f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} ORDER BY id LIMIT ?)",
                    (excess,),
                )
                self._rows[table] -= excess

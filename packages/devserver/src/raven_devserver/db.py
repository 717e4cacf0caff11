"""The SQLite database: its schema and its connections.

A file database is opened in WAL mode: one writer connection (the writer thread's) and one
reading connection per page-serving thread, so pages never wait for ingestion. ``--memory`` has a
single connection, shared under a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["SCHEMA", "Database"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, public_key TEXT NOT NULL UNIQUE,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS issues (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, hash TEXT NOT NULL,
    kind TEXT NOT NULL, title TEXT NOT NULL, culprit TEXT NOT NULL, level TEXT NOT NULL,
    release TEXT, environment TEXT, first_seen REAL NOT NULL, last_seen REAL NOT NULL,
    count INTEGER NOT NULL DEFAULT 0, users INTEGER NOT NULL DEFAULT 0,
    stored INTEGER NOT NULL DEFAULT 0, UNIQUE (project_id, hash));
CREATE INDEX IF NOT EXISTS issues_last_seen ON issues (project_id, last_seen);
CREATE TABLE IF NOT EXISTS issue_users (
    issue_id INTEGER NOT NULL, user TEXT NOT NULL, PRIMARY KEY (issue_id, user)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS issue_seen_in (
    issue_id INTEGER NOT NULL, release TEXT NOT NULL, environment TEXT NOT NULL,
    PRIMARY KEY (issue_id, release, environment)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS issue_seen_in_release ON issue_seen_in (release, issue_id);
CREATE INDEX IF NOT EXISTS issue_seen_in_environment ON issue_seen_in (environment, issue_id);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, issue_id INTEGER NOT NULL,
    event_id TEXT NOT NULL, timestamp REAL NOT NULL, received REAL NOT NULL, level TEXT NOT NULL,
    release TEXT, environment TEXT, title TEXT NOT NULL, trace_id TEXT, data BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS events_event_id ON events (event_id, project_id);
CREATE INDEX IF NOT EXISTS events_issue ON events (issue_id, id);
CREATE INDEX IF NOT EXISTS events_trace ON events (trace_id);
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, event_id TEXT NOT NULL,
    trace_id TEXT, name TEXT NOT NULL, op TEXT, status TEXT, start REAL NOT NULL,
    duration REAL NOT NULL, span_count INTEGER NOT NULL, release TEXT, environment TEXT,
    data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS transactions_event_id ON transactions (event_id);
CREATE INDEX IF NOT EXISTS transactions_trace ON transactions (trace_id);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, sid TEXT NOT NULL, release TEXT NOT NULL,
    environment TEXT NOT NULL, status TEXT NOT NULL, errors INTEGER NOT NULL,
    started REAL NOT NULL, updated REAL NOT NULL, UNIQUE (project_id, sid));
CREATE TABLE IF NOT EXISTS session_aggregates (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, release TEXT NOT NULL,
    environment TEXT NOT NULL, started REAL NOT NULL, exited INTEGER NOT NULL,
    errored INTEGER NOT NULL, crashed INTEGER NOT NULL, abnormal INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS check_ins (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, check_in_id TEXT NOT NULL,
    monitor TEXT NOT NULL, status TEXT NOT NULL, duration REAL, environment TEXT, release TEXT,
    received REAL NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS check_ins_monitor ON check_ins (project_id, monitor, id);
CREATE INDEX IF NOT EXISTS check_ins_check_in_id ON check_ins (check_in_id);
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, timestamp REAL NOT NULL,
    level TEXT NOT NULL, body TEXT NOT NULL, trace_id TEXT, attributes BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS attachments (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, event_id TEXT, filename TEXT NOT NULL,
    content_type TEXT NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS attachments_event ON attachments (event_id);
CREATE TABLE IF NOT EXISTS item_counts (
    project_id INTEGER NOT NULL, item TEXT NOT NULL, detail TEXT NOT NULL,
    quantity INTEGER NOT NULL, PRIMARY KEY (project_id, item, detail)) WITHOUT ROWID;
"""


def _connect(target: str, uri: bool = False) -> sqlite3.Connection:
    connection = sqlite3.connect(target, uri=uri, check_same_thread=False, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA busy_timeout = 10000")
    return connection


class Database:
    """Connections to one SQLite database: ``path`` None keeps it in memory for this process."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._local = threading.local()
        if path is None:
            self._shared: sqlite3.Connection | None = _connect(":memory:")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._shared = None
        with self.writing() as connection:
            if path is not None:
                connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.executescript(SCHEMA)

    def _writer(self) -> sqlite3.Connection:
        if self._shared is not None:
            return self._shared
        writer: sqlite3.Connection | None = getattr(self, "_writer_connection", None)
        if writer is None:
            writer = self._writer_connection = _connect(str(self.path))
        return writer

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """The one writing connection (callers: the writer thread, and start-up)."""
        with self._lock:
            yield self._writer()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading, this thread's own (or the shared one, for a memory database)."""
        if self._shared is not None:
            with self._lock:
                yield self._shared
            return
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            assert self.path is not None
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            connection = self._local.connection = _connect(uri, uri=True)
        yield connection

    def close(self) -> None:
        with self._lock:
            for connection in (self._shared, getattr(self, "_writer_connection", None)):
                if connection is not None:
                    connection.close()

"""Release health: how many requests, tasks or runs of each release ended healthy, errored or
crashed (Sentry shows it as the crash-free rate beside every release).

Imported only when session tracking is on (option ``auto_session_tracking``, on by default when
the client has a release). Two modes:

- **Request mode** (web requests, Celery tasks): frameworks call
  :meth:`raven.Client.start_request_session` when a request starts and
  :meth:`raven.Client.end_request_session` when it ends. Each request is counted, when it ends,
  into the aggregate of the minute it started (``exited``, ``errored`` or ``crashed``); the
  aggregates are sent as one ``sessions`` item from a background thread at most once a minute,
  and at ``client.flush()``, ``client.close()`` and interpreter exit. All a request pays is a
  context variable set and reset and a counter incremented under a lock; memory holds one
  bucket per minute not yet sent.
- **Application mode** (scripts, CLIs, one Lambda invocation): one session per process (or
  per :meth:`raven.Client.start_session` / :meth:`raven.Client.end_session`), sent once as a
  ``session`` item when it ends: at exit (after the excepthook), ``close()`` or ``end_session``.
  The process session starts with the client, and is given up (never sent) the moment a
  framework starts a request session or the app starts a session itself: a web server or a
  worker is counted per request or task, not as one long process.

What counts (:meth:`SessionTracker.note_capture`): an exception captured with a mechanism that
says ``handled: False`` (what frameworks report for a 500 or a failed task, and the excepthook
for an uncaught exception) makes the session ``crashed``; any other exception captured at level
``error`` or ``fatal`` (the default level of ``captureException``) makes it ``errored``; an
exception captured at a lower level, ``captureMessage`` and ``captureQuery`` (whatever their
level) never count. A capture counts even when ``sample_rate`` or ``before_send`` then drops the
event: the error happened. Crashed is final. Formats: ``PROTOCOL.md`` in this package,
"Sessions".
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

__all__ = ["FLUSH_INTERVAL", "ProcessSession", "RequestSession", "SessionTracker"]

logger = logging.getLogger("raven.sessions")

FLUSH_INTERVAL = 60.0  # seconds: aggregates are sent at most this often (besides flush/close)
MAX_AGGREGATES = 100  # buckets per ``sessions`` item (Sentry's limit)
OK, ERRORED, CRASHED = 0, 1, 2  # a request's status: only ever raised
_AGGREGATE_KEYS = ("exited", "errored", "crashed")  # bucket counts, by status
_ERROR_LEVELS = frozenset({"error", "fatal", "critical"})

_now = time.time  # the wall clock sessions are dated by (a test moves it)
_live: weakref.WeakSet[SessionTracker] = weakref.WeakSet()
_process_hooks_registered = False


# One request or task (request mode), the token raven.Client.start_request_session returns: a
# list, the cheapest mutable thing to make per request: [the minute it started (whole minutes
# since the epoch), its status (OK, ERRORED, CRASHED), the context variable's token (None once
# ended)].
RequestSession = list[Any]


class ProcessSession:
    """The session of a process or of one unit of work (application mode)."""

    __slots__ = ("sid", "started", "clock", "status", "errors", "auto")

    def __init__(self, auto: bool) -> None:
        self.sid = _uuid4()
        self.started = time.time()
        self.clock = time.monotonic()
        self.status = "ok"
        self.errors = 0
        self.auto = auto  # started with the client: given up when a framework takes over

    def payload(self, status: str | None, attrs: Mapping[str, str]) -> dict[str, Any]:
        """The ``session`` item's payload: its one and final update (``init`` true)."""
        final = status or ("crashed" if self.status == "crashed" else "exited")
        now = time.time()
        return {
            "sid": self.sid,
            "init": True,
            "started": _iso(self.started),
            "timestamp": _iso(now),
            "duration": round(max(0.0, time.monotonic() - self.clock), 3),
            "status": final,
            "errors": self.errors + (1 if final == "crashed" and not self.errors else 0),
            "attrs": dict(attrs),
        }


class SessionTracker:
    """The sessions of one client (see the module's docstring)."""

    def __init__(self, client: Any) -> None:
        opts = client.options
        self.client = client
        self.attrs: dict[str, str] = {"release": str(opts.release)}
        if opts.environment:
            self.attrs["environment"] = str(opts.environment)
        self._current: ContextVar[RequestSession | None] = ContextVar(
            f"raven.sessions.{id(self):x}", default=None
        )
        self.request_mode = False
        self.process: ProcessSession | None = None
        self._reset()
        _live.add(self)
        _register_process_hooks()

    def _reset(self) -> None:
        """Fresh counting state, no thread: at construction and in a forked child (whose copy
        of the buckets and of the process session is its parent's to send)."""
        self._lock = threading.Lock()
        self._buckets: dict[float, list[int]] = {}  # minute -> [exited, errored, crashed]
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.closed = False

    # -- request mode ---------------------------------------------------------------------------
    def enter_request_mode(self) -> None:
        """From now on sessions are requests and tasks: the process session is given up (never
        sent); a server is counted per request, not as one long session."""
        self.request_mode = True
        self.process = None

    def start_request(self) -> RequestSession:
        """A request or task starts: it is the current session of this thread or task."""
        if not self.request_mode:
            self.enter_request_mode()
        session: RequestSession = [_now() // 60, OK, None]
        session[2] = self._current.set(session)
        return session

    def end_request(self, session: RequestSession | None) -> None:
        """The request ends: count it into its minute's bucket (once; None is no session)."""
        if session is None or session[2] is None:
            return
        token, session[2] = session[2], None
        try:
            self._current.reset(token)
        except ValueError:  # ended in another context than started: forget it there
            self._current.set(None)
        with self._lock:
            bucket = self._buckets.get(session[0])
            if bucket is not None:
                bucket[session[1]] += 1
                return
            bucket = self._buckets[session[0]] = [0, 0, 0]
            bucket[session[1]] += 1
            crowded = len(self._buckets) >= MAX_AGGREGATES
            if self._thread is None and not self.closed:
                self._start_thread()
        if crowded or self.closed:  # the thread is behind (or gone): keep memory bounded
            self.flush()

    def _start_thread(self) -> None:
        thread = threading.Thread(
            target=_run, args=(weakref.ref(self), self._wake), name="raven-sessions", daemon=True
        )
        self._thread = thread
        try:
            thread.start()
        except RuntimeError:  # at interpreter shutdown: what is counted goes out at exit or close
            pass

    # -- application mode -------------------------------------------------------------------------
    def start_process_session(self, auto: bool = False) -> None:
        """Start an application-mode session; one the app started itself and did not end is
        ended (and sent) first; the automatic process session is given up."""
        current = self.process
        if current is not None and not current.auto:
            self.end_process_session()
        if not auto:
            self.request_mode = False
        self.process = ProcessSession(auto)

    def end_process_session(self, status: str | None = None) -> None:
        """End the application-mode session and send it (``status``: the final status, default
        ``exited``, or ``crashed`` when an unhandled exception was captured)."""
        session, self.process = self.process, None
        if session is not None:
            self._send("session", session.payload(status, self.attrs))

    # -- what the app captures ------------------------------------------------------------------
    def note_capture(self, event_type: str, data: Any, kwargs: Mapping[str, Any]) -> None:
        """A capture of the app: mark the current session errored or crashed (see the module's
        docstring for what counts)."""
        if not event_type.endswith("Exception"):
            return  # captureMessage, captureQuery
        mechanism = kwargs.get("mechanism")
        crashed = isinstance(mechanism, Mapping) and mechanism.get("handled") is False
        if not crashed:
            level = kwargs.get("level")
            if level is None and isinstance(data, Mapping):
                level = data.get("level")
            if not _is_error_level(level):
                return
        session = self._current.get()
        if session is not None:
            session[1] = CRASHED if crashed else max(session[1], ERRORED)
            return
        process = self.process
        if process is not None:
            process.errors += 1
            if crashed:
                process.status = "crashed"

    # -- sending --------------------------------------------------------------------------------
    def flush(self) -> None:
        """Send every aggregate counted so far (one ``sessions`` item per 100 minutes)."""
        with self._lock:
            buckets, self._buckets = self._buckets, {}
        if not buckets:
            return
        aggregates = []
        for minute in sorted(buckets):
            counts = buckets[minute]
            aggregate: dict[str, Any] = {"started": _iso(int(minute) * 60)}
            aggregate.update((key, n) for key, n in zip(_AGGREGATE_KEYS, counts, strict=True) if n)
            aggregates.append(aggregate)
        for start in range(0, len(aggregates), MAX_AGGREGATES):
            payload = {
                "aggregates": aggregates[start : start + MAX_AGGREGATES],
                "attrs": self.attrs,
            }
            self._send("sessions", payload)

    def _send(self, item_type: str, payload: dict[str, Any]) -> None:
        # Sessions go out from close(), flush() and exit: a send error (raise_send_errors on a
        # synchronous transport) is the transport's to log, never an exception for the app.
        try:
            self.client.send_item(item_type, payload, category="session")
        except Exception as exc:
            logger.warning("a %s item was not sent: %s", item_type, exc)

    def close(self) -> None:
        """End the process session (sent) and send the aggregates; stop the thread. Requests
        that end later are sent as they end."""
        self.closed = True
        self.end_process_session()
        self.flush()
        self._wake.set()


def _run(ref: weakref.ref[SessionTracker], wake: threading.Event) -> None:
    """The background thread: sends the aggregates once a minute; holds its tracker weakly, so
    that a client the app drops (never closed) is collected and the thread ends."""
    from .guard import capture_internal_errors

    while True:
        wake.wait(FLUSH_INTERVAL)
        tracker = ref()
        if tracker is None or tracker.closed:
            return
        with capture_internal_errors("sessions", "sending session aggregates"):
            tracker.flush()
        del tracker


def _is_error_level(level: Any) -> bool:
    """True for no level (an exception's default, ``error``), ``error``/``fatal``/``critical``
    (any case) and logging levels from ``ERROR`` (40) up."""
    if level is None:
        return True
    if isinstance(level, str):
        return level.strip().lower() in _ERROR_LEVELS
    if isinstance(level, int) and not isinstance(level, bool):
        return level >= logging.ERROR
    return False


def _iso(timestamp: float) -> str:
    """RFC 3339 UTC with microseconds (whole minutes come out as ``...:00.000000Z``)."""
    seconds = int(timestamp)
    micros = int(round((timestamp - seconds) * 1_000_000))
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros:06d}Z"


def _uuid4() -> str:
    """A random (version 4) UUID in its 8-4-4-4-12 form, without importing ``uuid``."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# -- process events: exit and fork ------------------------------------------------------------------
def _register_process_hooks() -> None:
    """At exit (after the excepthook captured an uncaught exception, before the transports
    close: ``atexit`` runs the hooks registered last first), end the process sessions and send
    the aggregates; in a forked child, start over."""
    global _process_hooks_registered
    if _process_hooks_registered:
        return
    _process_hooks_registered = True
    atexit.register(_close_all_at_exit)
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _close_all_at_exit() -> None:
    from .guard import capture_internal_errors

    for tracker in list(_live):
        with capture_internal_errors("sessions", "sending sessions at exit"):
            if not tracker.closed:
                tracker.close()


def _after_fork_in_child() -> None:
    for tracker in list(_live):
        tracker._reset()
        tracker.process = None

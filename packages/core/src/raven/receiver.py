"""A Sentry-compatible ingestion server on loopback: it accepts envelopes and store requests
(gzip, deflate or plain), keeps what arrived, and answers as told.

``raven test`` uses it when no DSN is configured, and test suites (ours, and users' own) use it
to see exactly what Raven sends.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Receiver", "parse_envelope"]


def parse_envelope(body: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bytes]]]:
    """(envelope headers, [(item headers, payload)]) following the envelope grammar."""
    header_line, _, rest = body.partition(b"\n")
    headers = json.loads(header_line)
    items = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item_headers = json.loads(item_line)
        length = item_headers.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length:]
            if rest.startswith(b"\n"):
                rest = rest[1:]
        items.append((item_headers, payload))
    return headers, items


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    wire_bytes: int
    status: int
    envelope_headers: dict[str, Any] = field(default_factory=dict)
    item_types: list[str] = field(default_factory=list)


class Receiver:
    """Start with ``Receiver().start()``; ``dsn`` points at it. Thread-safe."""

    def __init__(self, project_id: int = 1, public_key: str = "public") -> None:
        self.project_id = project_id
        self.public_key = public_key
        self.events: list[dict[str, Any]] = []
        self.transactions: list[dict[str, Any]] = []
        self.client_reports: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []  # each log of every ``log`` item
        self.metrics: list[dict[str, Any]] = []  # each metric of every ``trace_metric`` item
        self.check_ins: list[dict[str, Any]] = []  # the payload of every ``check_in`` item
        self.sessions: list[dict[str, Any]] = []  # the payload of every ``session`` item
        self.session_aggregates: list[dict[str, Any]] = []  # of every ``sessions`` item
        # Every ``attachment`` item: {"event_id" (the envelope's), "headers" (the item's), "payload"}.
        self.attachments: list[dict[str, Any]] = []
        self.requests: list[Request] = []
        self.received_bodies = 0  # requests read, answered or not
        self._cond = threading.Condition()
        self._status = 200
        self._headers: dict[str, str] = {}
        self._delay = 0.0
        self._gate = threading.Event()
        self._gate.set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = (
                True  # one small answer in two writes: no 40 ms delayed-ACK stall
            )

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                receiver._handle(self)

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        server.allow_reuse_address = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket: new connections are refused until :meth:`start`."""
        self._gate.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    down = stop
    up = start

    @property
    def dsn(self) -> str:
        return f"http://{self.public_key}@127.0.0.1:{self.port}/{self.project_id}"

    def respond_with(
        self, status: int = 200, headers: dict[str, str] | None = None, delay: float = 0.0
    ) -> None:
        """How to answer from now on (``delay`` seconds before answering)."""
        with self._cond:
            self._status, self._headers, self._delay = status, dict(headers or {}), delay

    def pause(self) -> None:
        """Hang: requests are read but not answered until :meth:`resume`."""
        self._gate.clear()

    def resume(self) -> None:
        self._gate.set()

    # -- reading what arrived ------------------------------------------------------------------
    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The events once at least ``count`` arrived; AssertionError after ``timeout`` seconds."""
        return self._wait(self.events, "events", count, timeout)

    def wait_for_transactions(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The transactions once at least ``count`` arrived (AssertionError after ``timeout``)."""
        return self._wait(self.transactions, "transactions", count, timeout)

    def wait_for_logs(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The logs once at least ``count`` arrived (AssertionError after ``timeout``)."""
        return self._wait(self.logs, "logs", count, timeout)

    def wait_for_metrics(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The metrics once at least ``count`` arrived (AssertionError after ``timeout``)."""
        return self._wait(self.metrics, "metrics", count, timeout)

    def wait_for_check_ins(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The check-ins once at least ``count`` arrived (AssertionError after ``timeout``)."""
        return self._wait(self.check_ins, "check-ins", count, timeout)

    def wait_for_sessions(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The ``session`` items once at least ``count`` arrived (AssertionError after ``timeout``)."""
        return self._wait(self.sessions, "sessions", count, timeout)

    def wait_for_attachments(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The attachments once at least ``count`` arrived (AssertionError after ``timeout``)."""
        return self._wait(self.attachments, "attachments", count, timeout)

    def session_totals(self) -> dict[str, int]:
        """``exited``, ``errored``, ``crashed`` and ``abnormal`` summed over every aggregate of
        every ``sessions`` item that arrived."""
        totals = {"exited": 0, "errored": 0, "crashed": 0, "abnormal": 0}
        with self._cond:
            for payload in self.session_aggregates:
                for aggregate in payload.get("aggregates", []):
                    for key in totals:
                        totals[key] += int(aggregate.get(key, 0))
        return totals

    def _wait(
        self, arrived: list[dict[str, Any]], what: str, count: int, timeout: float
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(arrived) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"receiver got {len(arrived)} {what}, expected {count}")
                self._cond.wait(remaining)
            return list(arrived)

    def wait_until(self, predicate: Any, timeout: float = 10.0) -> None:
        """Wait until ``predicate(receiver)`` is true."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("receiver: condition not met in time")
                self._cond.wait(remaining)

    def discarded(self) -> dict[tuple[str, str], int]:
        """Sum of client-report quantities by (reason, category)."""
        totals: dict[tuple[str, str], int] = {}
        with self._cond:
            for report in self.client_reports:
                for item in report.get("discarded_events", []):
                    key = (item["reason"], item["category"])
                    totals[key] = totals.get(key, 0) + int(item["quantity"])
        return totals

    # -- the server side -----------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        with self._cond:
            status, headers, delay = self._status, dict(self._headers), self._delay
        with self._cond:
            self.received_bodies += 1
            self._cond.notify_all()
        self._gate.wait()
        if delay:
            time.sleep(delay)
        request = Request(
            handler.path, {k.lower(): v for k, v in handler.headers.items()}, b"", len(raw), status
        )
        body = b""
        try:
            body = _decode(raw, handler.headers.get("Content-Encoding", ""))
            request.body = body
        except Exception:
            status = request.status = 400
        events, transactions, reports, logs, metrics = [], [], [], [], []
        check_ins: list[dict[str, Any]] = []
        sessions: list[dict[str, Any]] = []
        session_aggregates: list[dict[str, Any]] = []
        attachments: list[dict[str, Any]] = []
        if status == 200:
            try:
                if "/envelope/" in handler.path:
                    env_headers, items = parse_envelope(body)
                    request.envelope_headers = env_headers
                    for item_headers, payload in items:
                        request.item_types.append(item_headers.get("type", ""))
                        if item_headers.get("type") == "event":
                            events.append(json.loads(payload))
                        elif item_headers.get("type") == "transaction":
                            transactions.append(json.loads(payload))
                        elif item_headers.get("type") == "client_report":
                            reports.append(json.loads(payload))
                        elif item_headers.get("type") == "log":
                            logs.extend(json.loads(payload)["items"])
                        elif item_headers.get("type") == "trace_metric":
                            metrics.extend(json.loads(payload)["items"])
                        elif item_headers.get("type") == "check_in":
                            check_ins.append(json.loads(payload))
                        elif item_headers.get("type") == "session":
                            sessions.append(json.loads(payload))
                        elif item_headers.get("type") == "sessions":
                            session_aggregates.append(json.loads(payload))
                        elif item_headers.get("type") == "attachment":
                            attachments.append(
                                {
                                    "event_id": env_headers.get("event_id"),
                                    "headers": item_headers,
                                    "payload": payload,
                                }
                            )
                elif "/store/" in handler.path:
                    events.append(json.loads(body))
                else:
                    status = request.status = 404
            except Exception:
                status = request.status = 400
        # Kept before answering: whoever got the answer can rely on the event being here.
        with self._cond:
            self.requests.append(request)
            self.events.extend(events)
            self.transactions.extend(transactions)
            self.client_reports.extend(reports)
            self.logs.extend(logs)
            self.metrics.extend(metrics)
            self.check_ins.extend(check_ins)
            self.sessions.extend(sessions)
            self.session_aggregates.extend(session_aggregates)
            self.attachments.extend(attachments)
            self._cond.notify_all()
        first = (events or transactions or [{}])[0]
        answer = json.dumps({"id": first.get("event_id")}).encode()
        try:
            handler.send_response(status)
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(answer)))
            handler.end_headers()
            handler.wfile.write(answer)
        except OSError:
            pass


def _decode(raw: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding == "gzip":
        return gzip.decompress(raw)
    if encoding == "deflate":
        try:
            return zlib.decompress(raw)
        except zlib.error:
            return zlib.decompress(raw, -15)
    return raw

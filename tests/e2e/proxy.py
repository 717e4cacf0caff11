"""A recording HTTP proxy between an SDK and Bugsink: every request, Bugsink's answer, and the
envelope item types it carried, so tests can see what the SDK sent (or did not send)."""

from __future__ import annotations

import gzip
import http.client
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from raven.receiver import parse_envelope

from tests.e2e.bugsink import wait_until

__all__ = ["Exchange", "RecordingProxy"]


@dataclass
class Exchange:
    path: str
    status: int
    response_headers: dict[str, str]
    item_types: list[str] = field(default_factory=list)

    @property
    def carries_event(self) -> bool:
        return "/store/" in self.path or "event" in self.item_types


class RecordingProxy:
    """Forwards every POST to ``upstream`` (host:port) and records the exchange."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                proxy._forward(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def dsn_for(self, dsn: str) -> str:
        """``dsn`` rewritten to go through this proxy."""
        parts = urlsplit(dsn)
        netloc = f"{parts.username}@127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def snapshot(self) -> list[Exchange]:
        with self._lock:
            return list(self.exchanges)

    def transactions(self) -> list[Exchange]:
        """The exchanges that carried a transaction."""
        return [e for e in self.snapshot() if "transaction" in e.item_types]

    def assert_transactions_accepted_under_bugsinks_limit(self) -> None:
        """Wait for a transaction, then check that every one sent was accepted and answered with
        the ``transaction`` rate limit Bugsink puts on every transaction (it stores none)."""
        wait_until(lambda: bool(self.transactions()), 20, lambda: "no transaction was sent")
        for exchange in self.transactions():
            assert exchange.status == 200
            assert "transaction" in exchange.response_headers["X-Sentry-Rate-Limits"]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {
            k: v
            for k, v in handler.headers.items()
            if k.lower() not in ("host", "content-length", "connection")
        }
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        try:
            upstream.request("POST", handler.path, body=body, headers=headers)
            response = upstream.getresponse()
            answer = response.read()
            status, answer_headers = response.status, dict(response.getheaders())
        finally:
            upstream.close()
        exchange = Exchange(
            handler.path,
            status,
            answer_headers,
            _item_types(handler.path, body, handler.headers.get("Content-Encoding", "")),
        )
        with self._lock:
            self.exchanges.append(exchange)
        handler.send_response(status)
        for key, value in answer_headers.items():
            if key.lower() not in (
                "content-length",
                "connection",
                "transfer-encoding",
                "server",
                "date",
            ):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)


def _item_types(path: str, body: bytes, encoding: str) -> list[str]:
    if "/envelope/" not in path:
        return []
    encoding = encoding.strip().lower()
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "deflate":
        body = zlib.decompress(body, -15)
    _, items = parse_envelope(body)
    return [str(headers.get("type")) for headers, _ in items]

"""A loopback pass-through in front of the receiver that notes each event the receiver has
answered for, *before* the answer goes back to the SDK.

"Delivered before the runtime posted the error" is then exact: once the SDK has its answer (what
``client.flush`` waits for), the event id is already here. The receiver itself files an event
just after answering, so reading it at that instant could miss an event that was delivered.
"""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["DeliveryLog"]


class DeliveryLog:
    """``DeliveryLog(receiver_port).start()``; point the SDK at :meth:`dsn`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._lock = threading.Lock()
        self._answered: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    def answered(self) -> list[str]:
        """Ids of the events the receiver has answered 2xx for, so far."""
        with self._lock:
            return list(self._answered)

    def dsn(self, public_key: str = "public", project_id: int = 1) -> str:
        assert self._server is not None
        return f"http://{public_key}@127.0.0.1:{self._server.server_address[1]}/{project_id}"

    def start(self) -> DeliveryLog:
        log = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                log._forward(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {
            k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")
        }
        connection = http.client.HTTPConnection("127.0.0.1", self.target_port, timeout=10)
        try:
            connection.request("POST", handler.path, body, headers)
            response = connection.getresponse()
            answer, status, answer_headers = response.read(), response.status, response.getheaders()
        finally:
            connection.close()
        if 200 <= status < 300:
            event_id = _event_id(body, handler.headers.get("Content-Encoding", ""))
            if event_id:
                with self._lock:
                    self._answered.append(event_id)
        handler.send_response(status)
        for key, value in answer_headers:
            if key.lower() not in (
                "content-length",
                "connection",
                "transfer-encoding",
                "date",
                "server",
            ):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)


def _event_id(body: bytes, encoding: str) -> str | None:
    """The ``event_id`` of an envelope (from its header line) or of a store body."""
    try:
        encoding = encoding.strip().lower()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        first = json.loads(body.partition(b"\n")[0])
        value = first.get("event_id")
        return value if isinstance(value, str) else None
    except (OSError, ValueError, zlib.error):
        return None

"""A small forward proxy on loopback for the tests, recording what passed through it.

It speaks the two ways clients use a proxy: ``CONNECT host:port`` (a tunnel, for https targets;
the bytes are relayed untouched) and absolute-form requests (``POST http://host/path``, for http
targets; forwarded with ``Connection: close``). ``tests/tls/`` holds a CA (``ca.pem``) and a
certificate for 127.0.0.1 signed by it (``server.pem``), valid until 2126, for https targets:
:func:`serve_tls` turns a started :class:`~raven.receiver.Receiver` into an https one.
"""

from __future__ import annotations

import select
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["CA_CERTS", "ForwardProxy", "Passed", "serve_tls"]

TLS = Path(__file__).resolve().parent / "tls"
CA_CERTS = str(TLS / "ca.pem")


@dataclass
class Passed:
    """One request that went through the proxy: ``CONNECT`` and its target, or a forwarded one."""

    method: str
    target: str  # "host:port" for CONNECT, the absolute URL otherwise
    headers: dict[str, str]
    bytes_up: int = 0  # bytes from the client to the target (the body, or the tunnel's traffic)


class ForwardProxy:
    """Start with ``ForwardProxy().start()``; ``url`` points at it; ``passed`` lists the traffic."""

    def __init__(self) -> None:
        self.passed: list[Passed] = []
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ForwardProxy:
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            rbufsize = 0  # unbuffered: nothing the tunnel must relay is left in a buffer

            def handle(self) -> None:
                proxy._handle(self)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _record(self, passed: Passed) -> None:
        with self._lock:
            self.passed.append(passed)

    def _handle(self, handler: socketserver.StreamRequestHandler) -> None:
        line = handler.rfile.readline(65537).decode("latin-1").strip()
        if not line:
            return
        method, target, _ = line.split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            header = handler.rfile.readline(65537).decode("latin-1")
            if header in ("\r\n", "\n", ""):
                break
            name, _, value = header.partition(":")
            headers[name.strip().lower()] = value.strip()
        passed = Passed(method, target, headers)
        self._record(passed)
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = socket.create_connection((host, int(port)), timeout=30)
            handler.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            handler.wfile.flush()
            self._tunnel(handler.connection, upstream, passed)
            return
        self._forward(handler, method, target, headers, passed)

    def _tunnel(self, client: socket.socket, upstream: socket.socket, passed: Passed) -> None:
        sockets = [client, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 30)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        passed.bytes_up += len(data)
                        upstream.sendall(data)
                    else:
                        client.sendall(data)
        finally:
            upstream.close()

    def _forward(
        self,
        handler: socketserver.StreamRequestHandler,
        method: str,
        url: str,
        headers: dict[str, str],
        passed: Passed,
    ) -> None:
        parts = urlsplit(url)
        length = int(headers.get("content-length") or 0)
        body = b""
        while len(body) < length and (chunk := handler.rfile.read(length - len(body))):
            body += chunk
        passed.bytes_up = len(body)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {path} HTTP/1.1"]
        lines += [
            f"{k}: {v}"
            for k, v in headers.items()
            if k not in ("connection", "proxy-connection", "keep-alive")
        ]
        lines.append("Connection: close")
        with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=30) as up:
            up.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            answer = b""
            while chunk := up.recv(65536):
                answer += chunk
        # The answer as is, but the client must not keep this connection: we close it.
        head, sep, rest = answer.partition(b"\r\n\r\n")
        head_lines = [h for h in head.split(b"\r\n") if not h.lower().startswith(b"connection:")]
        handler.wfile.write(b"\r\n".join(head_lines) + b"\r\nConnection: close" + sep + rest)
        handler.wfile.flush()


def serve_tls(receiver: Any) -> str:
    """Make a started Receiver answer over TLS (certificate for 127.0.0.1); its https DSN."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(TLS / "server.pem"))
    server = receiver._server
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return str(receiver.dsn).replace("http://", "https://")

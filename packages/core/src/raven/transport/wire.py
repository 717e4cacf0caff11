"""HTTP/1.1 POSTs on one kept-alive socket: the sender's connection when no proxy applies.

A sender thread POSTs one envelope per event or transaction, and every microsecond it spends
holding the GIL is taken from the app's threads. urllib3 and http.client spend most of a small
POST's ~300 µs in their general machinery (header parsing through ``email``, pool bookkeeping);
writing the request in one ``sendall`` and reading the answer with a buffered reader takes a
fifth of that. Only what a Sentry server's answer needs is read: the status, the headers, a body
framed by ``Content-Length``, chunked, or ended by the server closing the connection.

Several requests waiting together are pipelined once the server has kept the connection alive
(HTTP/1.1 servers answer pipelined requests in order): written in one ``sendall`` and answered
through the same buffered reader. Every blocking call lets the app's threads take the GIL and
makes them wait to get it back, so a batch costs them a few hand-offs instead of three a request.
A server that closes after an answer has not read what followed it: that is sent again. One
that breaks off a pipeline it had begun to answer, or never answers it, is not pipelined to
again.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Answer", "WireConnection", "WireError", "tls_context"]

Answer = tuple[int, dict[str, str], str]  # status, lower-case headers, body text

MAX_LINE = 65536  # a status or header line longer than this is not a Sentry server's answer
MAX_HEADERS = 200
MAX_BODY = 1 << 20  # answers are a small JSON object; more than this is read and dropped
JOIN_BODY_BELOW = 64 * 1024  # smaller bodies go out with the headers in one write


class WireError(ConnectionError):
    """The server's answer could not be read (closed early, malformed, too long)."""


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """A client TLS context: ``verify`` is True (the bundle requests uses), False (no
    verification) or a CA bundle file or directory."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        from requests.utils import DEFAULT_CA_BUNDLE_PATH  # certifi's bundle

        verify = DEFAULT_CA_BUNDLE_PATH
    import os.path

    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


class WireConnection:
    """POSTs to ``url``'s server over one socket, reconnecting when the server closed it."""

    def __init__(self, url: str, timeout: float, tls: ssl.SSLContext | None) -> None:
        parts = urlsplit(url)
        self.secure = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.secure else 80)
        self.host_header = parts.netloc.rpartition("@")[2]
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = timeout
        self.tls = tls if self.secure else None
        self._sock: socket.socket | None = None
        self._reader: Any = None
        self.pipelining = True  # False once the server mishandled a pipeline

    def post_all(
        self, requests: Sequence[tuple[dict[str, str], bytes]]
    ) -> tuple[list[Answer], OSError | None]:
        """POST each ``(headers, body)`` in order: the answers to the first ones, and the error
        that stopped the others (None when every request was answered)."""
        answers: list[Answer] = []
        while len(answers) < len(requests):
            rest = requests[len(answers) :]
            if len(rest) > 1 and self.pipelining and self._reusable():
                got, error = self._pipeline(rest)
                answers += got
                if error is not None:
                    return answers, error
                continue  # all answered, or the rest go again on a new connection
            try:
                answers.append(self.post(*rest[0]))
            except OSError as exc:
                return answers, exc
        return answers, None

    def post(self, headers: dict[str, str], body: bytes) -> Answer:
        """POST ``body`` to the connection's URL: (status, lowercase headers, body text). Raises
        OSError when the server cannot be reached or answers nothing."""
        head = self._head(headers, len(body))
        reused = self._sock is not None and not self._dropped()
        if not reused:
            self.close()
            self._connect()
        try:
            return self._exchange(head, body)
        except OSError as exc:
            self.close()
            if not reused or getattr(exc, "answered", False) or isinstance(exc, TimeoutError):
                raise  # a timeout may mean the server has it: sending it again could double it
        # The server closed a kept-alive connection as we wrote: once more on a new one.
        self._connect()
        try:
            return self._exchange(head, body)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        sock, self._sock, self._reader = self._sock, None, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    # -- the request -----------------------------------------------------------------------------
    def _head(self, headers: dict[str, str], length: int) -> bytes:
        lines = [
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host_header}\r\nContent-Length: {length}\r\n"
        ]
        lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    def _pipeline(
        self, requests: Sequence[tuple[dict[str, str], bytes]]
    ) -> tuple[list[Answer], OSError | None]:
        """Write ``requests`` together on the kept-alive connection, then read their answers.
        The error is None when the unanswered rest can be sent again: the server closed the
        connection after an answer (it read nothing after that request) or before the first."""
        assert self._sock is not None
        answers: list[Answer] = []
        try:
            self._sock.sendall(b"".join(self._head(h, len(b)) + b for h, b in requests))
            while len(answers) < len(requests) and self._sock is not None:
                answers.append(self._answer())  # closes the socket after a closing answer
            return answers, None
        except OSError as exc:
            self.close()
            stopped = isinstance(exc, TimeoutError) or getattr(exc, "answered", False)
            if answers or stopped:
                self.pipelining = False  # it began answering and broke off: one at a time now
            return answers, exc if stopped else None

    def _reusable(self) -> bool:
        """The connection is open and the server has not closed it since its last answer."""
        if self._sock is not None and not self._dropped():
            return True
        self.close()
        return False

    def _connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._reader = sock.makefile("rb")

    def _dropped(self) -> bool:
        """The idle connection was closed by the server (readable means EOF or stray bytes)."""
        assert self._sock is not None
        try:
            if hasattr(select, "poll"):  # select() fails past file descriptor 1024: a busy app
                poller = select.poll()
                poller.register(self._sock, select.POLLIN)
                return bool(poller.poll(0))
            return bool(select.select([self._sock], [], [], 0)[0])  # Windows
        except (OSError, ValueError):
            return True

    def _exchange(self, head: bytes, body: bytes) -> Answer:
        sock = self._sock
        assert sock is not None
        if len(body) < JOIN_BODY_BELOW:
            sock.sendall(head + body)
        else:
            sock.sendall(head)
            sock.sendall(body)
        return self._answer()

    # -- the answer ------------------------------------------------------------------------------
    def _answer(self) -> Answer:
        for _ in range(10):
            version, status = self._status_line()
            headers = self._headers()
            if status >= 200:
                break  # 1xx (100 Continue, 103 Early Hints): the real answer follows
        else:
            raise _answered(WireError("no final answer after ten informational ones"))
        body, closes = self._body(status, headers)
        connection = headers.get("connection", "").lower()
        if (
            closes
            or "close" in connection
            or (version == "HTTP/1.0" and "keep-alive" not in connection)
        ):
            self.close()
        return status, headers, body.decode("utf-8", "replace")

    def _line(self) -> bytes:
        line: bytes = self._reader.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise _answered(WireError("answer line too long"))
        return line

    def _status_line(self) -> tuple[str, int]:
        line = self._line()
        if not line:
            raise WireError("the server closed the connection without answering")
        parts = line.decode("latin-1").split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise _answered(WireError(f"not an HTTP answer: {line[:80]!r}"))
        return parts[0], int(parts[1])

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS):
            line = self._line()
            if line in (b"\r\n", b"\n"):
                return headers
            if not line:
                raise _answered(WireError("the server closed the connection mid-answer"))
            name, sep, value = line.decode("latin-1").partition(":")
            if sep:
                key = name.strip().lower()
                value = value.strip()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
        raise _answered(WireError("too many header lines"))

    def _body(self, status: int, headers: dict[str, str]) -> tuple[bytes, bool]:
        """The body, and whether the connection ends with it."""
        if status in (204, 304):
            return b"", False
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._chunked(), False
        length = headers.get("content-length")
        if length is not None:
            try:
                size = int(length.split(",")[0])
            except ValueError:
                raise _answered(WireError(f"bad Content-Length {length!r}")) from None
            if size > MAX_BODY:
                return self._exactly(MAX_BODY), True  # the rest is never read: start over
            return self._exactly(size), False
        rest: bytes = self._reader.read(MAX_BODY)
        return rest, True  # ends when the server closes

    def _exactly(self, size: int) -> bytes:
        data: bytes = self._reader.read(size)
        if len(data) < size:
            raise _answered(WireError("the server closed the connection mid-body"))
        return data

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self._line()
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _answered(WireError(f"bad chunk size {line[:40]!r}")) from None
            if size == 0:
                while self._line() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            chunk = self._exactly(size)
            total += size
            if total <= MAX_BODY:
                parts.append(chunk)
            self._exactly(2)  # the CRLF after the chunk


def _answered(exc: WireError) -> WireError:
    """Mark an error as happening after the server began answering: never sent again."""
    exc.answered = True  # type: ignore[attr-defined]
    return exc

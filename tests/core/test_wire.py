"""The sender's own HTTP/1.1 connection (raven.transport.wire), against a real TLS receiver and a
scripted socket server that answers the way real servers and proxies do: chunked, without a
length, HTTP/1.0, after a ``100 Continue``, closing kept-alive connections, or not at all."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import raven
from raven.transport.wire import WireConnection

from tests.proxy import CA_CERTS, serve_tls
from tests.receiver import Receiver

TRANSPORTS = ["sync+", ""]  # DSN prefixes: the synchronous and the background transport
OK_BODY = b'{"id":"x"}'


@pytest.fixture(autouse=True)
def no_env_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


class ScriptedServer:
    """Reads whole HTTP requests on loopback and answers each with ``answer(n)`` (n counts
    requests from 0): the raw bytes to write, and whether to close the connection after them.
    ``hold(n)``: request n's answer waits until a later request has been read (a client that
    waits for each answer before writing the next request then never gets one)."""

    def __init__(
        self,
        answer: Callable[[int], tuple[bytes, bool]],
        hold: Callable[[int], bool] = lambda n: False,
    ) -> None:
        self.answer = answer
        self.hold = hold
        self.messages: list[str] = []  # the captured messages, in arrival order
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.dsn = f"http://key@127.0.0.1:{self.port}/1"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        held: list[bytes] = []
        with conn:
            while True:
                head = []
                while (line := reader.readline()) not in (b"\r\n", b""):
                    head.append(line.decode("latin-1"))
                if not head:
                    return
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])
                }
                body = reader.read(int(headers["content-length"]))
                if headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                with self._lock:
                    number = len(self.messages)
                    self.messages.extend(_messages(body))
                data, close = self.answer(number)
                held.append(data)
                if self.hold(number) and not close:
                    continue
                conn.sendall(b"".join(held))
                held.clear()
                if close:
                    _linger(conn)
                    return

    def stop(self) -> None:
        self._listener.close()


def _linger(conn: socket.socket) -> None:
    """Close as nginx, Apache and Go do: stop writing, then read and drop what the client sent
    on until it closes too. Closing with unread bytes would make the kernel reset the connection
    and discard answers the client had not yet read."""
    try:
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(2)
        while conn.recv(65536):
            pass
    except OSError:
        pass


def _messages(envelope: bytes) -> list[str]:
    """The captured messages in an envelope (its event items)."""
    lines = envelope.split(b"\n")
    found = []
    for header, payload in zip(lines[1::2], lines[2::2], strict=False):
        if json.loads(header).get("type") == "event":
            found.append(json.loads(payload)["logentry"]["formatted"])
    return found


@pytest.fixture
def scripted() -> Iterator[Callable[[Callable[[int], tuple[bytes, bool]]], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(
        answer: Callable[[int], tuple[bytes, bool]], hold: Callable[[int], bool] = lambda n: False
    ) -> ScriptedServer:
        servers.append(ScriptedServer(answer, hold))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def send_three(dsn: str, **options: object) -> raven.Client:
    client = raven.Client(dsn, install_sys_hook=False, **options)  # type: ignore[arg-type]
    for i in range(3):
        client.captureMessage(f"message {i}")
        assert client.flush(10)
    return client


# -- TLS without a proxy ------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", TRANSPORTS)
def test_tls_is_verified_against_ca_certs(receiver: Receiver, prefix: str) -> None:
    """An https DSN with ``ca_certs`` naming the server's CA delivers over a verified connection."""
    client = send_three(prefix + serve_tls(receiver), ca_certs=CA_CERTS)
    assert [e["logentry"]["formatted"] for e in receiver.wait_for(3)] == [
        f"message {i}" for i in range(3)
    ]
    client.close()


@pytest.mark.raven_errors_expected
def test_tls_certificate_the_bundle_does_not_trust_is_refused(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """A server whose certificate the default CA bundle does not trust gets nothing; the event is
    counted as lost (``network_error``) and the raven logger says why."""
    client = raven.Client("sync+" + serve_tls(receiver), install_sys_hook=False)
    client.captureMessage("never over an unverified connection")
    assert not receiver.requests
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    assert client.transport.reports.take()["discarded_events"] == [
        {"reason": "network_error", "category": "default", "quantity": 1}
    ]


@pytest.mark.parametrize("prefix", TRANSPORTS)
def test_tls_without_verification_when_verify_ssl_is_off(receiver: Receiver, prefix: str) -> None:
    send_three(prefix + serve_tls(receiver), verify_ssl=False)
    assert len(receiver.wait_for(3)) == 3


def test_burst_over_tls_arrives_once_each(receiver: Receiver) -> None:
    """A burst over a verified TLS connection (requests that wait together are pipelined through
    the TLS layer): every event arrives, none twice."""
    client = raven.Client(serve_tls(receiver), ca_certs=CA_CERTS, install_sys_hook=False)
    for i in range(40):
        client.captureMessage(f"burst {i}")
    assert client.flush(10)
    messages = sorted(e["logentry"]["formatted"] for e in receiver.wait_for(40))
    assert messages == sorted(f"burst {i}" for i in range(40))
    client.close()


# -- what servers answer ------------------------------------------------------------------------
def _answer(status: bytes, headers: bytes, body: bytes = OK_BODY) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\n" + headers + b"\r\n" + body


ANSWERS: dict[str, Callable[[int], tuple[bytes, bool]]] = {
    "content-length": lambda n: (_answer(b"200 OK", b"Content-Length: 10\r\n"), False),
    "chunked, with a trailer": lambda n: (
        _answer(
            b"200 OK",
            b"Transfer-Encoding: chunked\r\n",
            b'4;ext=1\r\n{"id\r\n6\r\n":"x"}\r\n0\r\nX-Trailer: 1\r\n\r\n',
        ),
        False,
    ),
    "no length, then close": lambda n: (_answer(b"200 OK", b"Connection: close\r\n"), True),
    "HTTP/1.0 without keep-alive": lambda n: (
        b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n" + OK_BODY,
        True,
    ),
    "100 Continue first": lambda n: (
        b"HTTP/1.1 100 Continue\r\n\r\n" + _answer(b"200 OK", b"Content-Length: 10\r\n"),
        False,
    ),
    "kept-alive connection closed silently after each answer": lambda n: (
        _answer(b"200 OK", b"Content-Length: 10\r\n"),
        True,
    ),
    "no reason phrase, folded header names in any case": lambda n: (
        b"HTTP/1.1 202\r\ncOnTeNt-LeNgTh: 10\r\n\r\n" + OK_BODY,
        False,
    ),
}


@pytest.mark.parametrize("prefix", TRANSPORTS)
@pytest.mark.parametrize("framing", list(ANSWERS))
def test_every_answer_framing_is_read_and_the_next_event_still_goes_out(
    scripted: Callable[..., ScriptedServer], framing: str, prefix: str
) -> None:
    """Three events, one after the other, each answered in the given framing: all arrive once,
    in order, whether the connection is kept or closed by the server."""
    server = scripted(ANSWERS[framing])
    client = send_three(prefix + server.dsn, send_client_reports=False)
    assert server.messages == [f"message {i}" for i in range(3)]
    client.close()


def test_connection_is_kept_alive_between_events(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(ANSWERS["content-length"])
    send_three("sync+" + server.dsn, send_client_reports=False)
    assert server.connections == 1


@pytest.mark.parametrize("prefix", TRANSPORTS)
def test_rate_limits_in_a_chunked_answer_are_honoured(
    scripted: Callable[..., ScriptedServer], prefix: str
) -> None:
    """``X-Sentry-Rate-Limits`` read from a chunked answer, header name in any case, stops the
    limited category: the second message is held back and counted, not sent."""
    server = scripted(
        lambda n: (
            _answer(
                b"200 OK",
                b"transfer-encoding: chunked\r\nx-sentry-rate-limits: 60:default;error\r\n",
                b"a\r\n" + OK_BODY + b"\r\n0\r\n\r\n",
            ),
            False,
        )
    )
    client = raven.Client(prefix + server.dsn, install_sys_hook=False, send_client_reports=False)
    client.captureMessage("first")
    client.flush(10)
    client.captureMessage("second")
    client.flush(10)
    assert server.messages == ["first"]
    assert client.transport.reports.pending()


@pytest.mark.raven_errors_expected
def test_server_that_closes_without_answering_counts_the_event_lost(
    scripted: Callable[..., ScriptedServer], caplog: pytest.LogCaptureFixture
) -> None:
    """A server that reads the request and hangs up gives no answer: the sync transport counts
    the event lost, says why on the raven logger, and the app goes on."""
    server = scripted(lambda n: (b"", True))
    client = raven.Client("sync+" + server.dsn, install_sys_hook=False)
    client.captureMessage("into the void")
    assert server.messages == ["into the void"]  # it was read, but never answered
    assert "closed the connection without answering" in caplog.text
    assert client.transport.reports.take()["discarded_events"] == [
        {"reason": "network_error", "category": "default", "quantity": 1}
    ]


def test_connection_is_kept_alive_with_file_descriptors_past_1024(
    scripted: Callable[..., ScriptedServer],
) -> None:
    """A busy app holds many files: the check that the idle connection is still open works for a
    socket numbered past 1024 too (``select()`` cannot take it; the connection would be
    reopened for every event)."""
    import os
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard == resource.RLIM_INFINITY or hard >= 1200, f"open files capped at {hard}"
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    server = scripted(ANSWERS["content-length"])
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        send_three("sync+" + server.dsn, send_client_reports=False)
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert server.messages == [f"message {i}" for i in range(3)]
    assert server.connections == 1


def test_sync_transport_shared_by_many_threads_delivers_every_event(receiver: Receiver) -> None:
    """The synchronous transport's one kept connection is shared by the app's threads: threads
    that find it busy post on a connection of their own, and every event arrives once."""
    client = raven.Client("sync+" + receiver.dsn, install_sys_hook=False)
    start = threading.Barrier(8)

    def capture(worker: int) -> None:
        start.wait(5)
        for i in range(25):
            client.captureMessage(f"thread {worker} message {i}")

    threads = [threading.Thread(target=capture, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    messages = sorted(e["logentry"]["formatted"] for e in receiver.wait_for(200))
    assert messages == sorted(f"thread {w} message {i}" for w in range(8) for i in range(25))
    client.close()


def test_closing_while_another_thread_sends_lets_that_send_finish(
    scripted: Callable[..., ScriptedServer],
) -> None:
    """``close()`` from one thread while another thread's synchronous send waits for the answer
    waits for that send: it completes (delivered, no error swallowed), then the connection
    closes."""
    arrived = threading.Event()

    def slow(n: int) -> tuple[bytes, bool]:
        arrived.set()
        time.sleep(0.3)  # the server takes its time: close() comes in meanwhile
        return ANSWERS["content-length"](n)

    server = scripted(slow)
    client = raven.Client("sync+" + server.dsn, install_sys_hook=False, send_client_reports=False)
    sender = threading.Thread(target=client.captureMessage, args=("in flight at close",))
    sender.start()
    assert arrived.wait(5)
    client.close()
    sender.join(5)
    assert server.messages == ["in flight at close"]
    assert client.transport.reports.take() is None  # nothing was counted lost


# -- pipelining ---------------------------------------------------------------------------------
def _requests(*messages: str) -> list[tuple[dict[str, str], bytes]]:
    """Envelope POSTs (headers, body), one captured message each."""
    return [
        (
            {"Content-Type": "application/x-sentry-envelope"},
            b'{}\n{"type":"event"}\n' + json.dumps({"logentry": {"formatted": m}}).encode() + b"\n",
        )
        for m in messages
    ]


def _connection(server: ScriptedServer, timeout: float = 5.0) -> WireConnection:
    return WireConnection(f"http://127.0.0.1:{server.port}/api/1/envelope/", timeout, None)


def test_requests_waiting_together_are_pipelined(scripted: Callable[..., ScriptedServer]) -> None:
    """Once the server has kept the connection alive, several requests go out before any answer
    is read: this server answers the second to fifth only after it has read the fifth."""
    server = scripted(ANSWERS["content-length"], hold=lambda n: 1 <= n < 4)
    connection = _connection(server)
    answers, error = connection.post_all(_requests("first"))
    assert (error, [a[0] for a in answers]) == (None, [200])
    answers, error = connection.post_all(_requests(*(f"pipelined {i}" for i in range(4))))
    assert (error, [a[0] for a in answers]) == (None, [200] * 4)
    assert server.messages == ["first"] + [f"pipelined {i}" for i in range(4)]
    assert server.connections == 1


def test_a_new_connection_is_not_pipelined_before_its_first_answer(
    scripted: Callable[..., ScriptedServer],
) -> None:
    """The first request on a connection goes alone: a server that closes after every answer (as
    gunicorn's sync workers do) never receives requests it would not read."""
    server = scripted(ANSWERS["no length, then close"])
    answers, error = _connection(server).post_all(_requests(*(f"m{i}" for i in range(4))))
    assert (error, [a[0] for a in answers]) == (None, [200] * 4)
    assert server.messages == [f"m{i}" for i in range(4)]
    assert server.connections == 4


def test_requests_after_a_closing_answer_are_sent_again(
    scripted: Callable[..., ScriptedServer],
) -> None:
    """A server that answers with ``Connection: close`` in the middle of a pipeline (its limit of
    requests per connection) has not read what followed: that arrives, once, on a new
    connection."""

    def answer(n: int) -> tuple[bytes, bool]:
        return ANSWERS["no length, then close" if n == 2 else "content-length"](n)

    server = scripted(answer)
    connection = _connection(server)
    connection.post_all(_requests("first"))
    answers, error = connection.post_all(_requests(*(f"m{i}" for i in range(5))))
    assert (error, [a[0] for a in answers]) == (None, [200] * 5)
    assert server.messages == ["first"] + [f"m{i}" for i in range(5)]
    assert server.connections == 2
    assert connection.pipelining


def test_server_breaking_off_a_pipeline_is_sent_one_request_at_a_time(
    scripted: Callable[..., ScriptedServer],
) -> None:
    """A server that answers the first pipelined request and hangs up without saying so did not
    read the rest: they arrive once, on new connections, and this server is not pipelined to
    again."""
    server = scripted(lambda n: (ANSWERS["content-length"](n)[0], n == 1))
    connection = _connection(server, timeout=2.0)
    connection.post_all(_requests("first"))
    answers, error = connection.post_all(_requests(*(f"m{i}" for i in range(4))))
    assert (error, [a[0] for a in answers]) == (None, [200] * 4)
    assert not connection.pipelining
    assert server.messages == ["first"] + [f"m{i}" for i in range(4)]


def test_pipeline_the_server_never_answers_times_out_and_stops_pipelining(
    scripted: Callable[..., ScriptedServer],
) -> None:
    """A pipeline answered in part, then not at all: the answers read are returned with the
    timeout, and the connection is not pipelined again."""
    server = scripted(ANSWERS["content-length"], hold=lambda n: n >= 2)
    connection = _connection(server, timeout=0.5)
    connection.post_all(_requests("first"))
    answers, error = connection.post_all(_requests("second", "third", "fourth"))
    assert isinstance(error, TimeoutError)
    assert [a[0] for a in answers] == [200]
    assert not connection.pipelining


@pytest.mark.raven_errors_expected
def test_background_sender_delivers_every_event_once_across_closing_answers(
    scripted: Callable[..., ScriptedServer],
) -> None:
    """The background sender takes what waits together and pipelines it: against a server that
    closes every third connection's answer and refuses one event with a 503 (retried), each of
    60 events arrives, none twice except the refused one."""

    def answer(n: int) -> tuple[bytes, bool]:
        if n == 17:
            return _answer(b"503 Service Unavailable", b"Content-Length: 10\r\n"), False
        return ANSWERS["no length, then close" if n % 3 == 2 else "content-length"](n)

    server = scripted(answer)
    client = raven.Client(server.dsn, install_sys_hook=False, send_client_reports=False)
    for i in range(60):
        client.captureMessage(f"event {i}")
    assert client.flush(30)
    refused = server.messages[17]
    assert sorted(server.messages) == sorted([f"event {i}" for i in range(60)] + [refused])
    client.close()

"""Delivery in a hostile world: outboxes left by earlier processes, proxies, huge events, servers
that never answer or silence us forever, signal handlers, clients never closed, and redirects."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import raven
from raven.transport import threaded
from raven.transport.ratelimit import MAX_LIMIT_SECONDS

from tests.core.test_delivery_process import run_script
from tests.proxy import CA_CERTS, ForwardProxy, serve_tls
from tests.receiver import Receiver
from tests.relay import validate_event

TRANSPORTS = ["sync+", ""]  # DSN prefixes: the synchronous and the background transport


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    """A forward proxy (CONNECT and absolute-form) on loopback, recording what passed."""
    server = ForwardProxy().start()
    yield server
    server.stop()


@pytest.fixture
def no_env_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy from the environment unless a test sets one."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def make_client(dsn: str, **options: object) -> raven.Client:
    return raven.Client(dsn, install_sys_hook=False, **options)  # type: ignore[arg-type]


# -- the outbox at start-up ----------------------------------------------------------------------

LEAVE_EVENTS = """
    import sys, raven
    client = raven.Client(sys.argv[1], outbox_path=sys.argv[2], shutdown_timeout=0.2, install_sys_hook=False)
    print(" ".join(client.captureMessage("left %s", params=(i,)) for i in range(20)))
"""
FLUSH_ONLY = """
    import os, sys, raven
    client = raven.Client(sys.argv[1], outbox_path=sys.argv[2], shutdown_timeout=0.2, install_sys_hook=False)
    print(client.flush(float(sys.argv[3])), flush=True)
    os._exit(0)  # no exit hook: what arrived was sent before flush() returned
"""


def test_outbox_left_by_an_earlier_process_is_sent_by_one_that_captures_nothing(
    receiver: Receiver, tmp_path: Path
) -> None:
    """A process that only starts a client sends the outbox it found; flush() is True only once delivered."""
    outbox = tmp_path / "outbox"
    receiver.stop()
    first = run_script(LEAVE_EVENTS, receiver.dsn, str(outbox))
    assert first.returncode == 0, first.stderr
    ids = first.stdout.split()
    assert len(list(outbox.glob("*.raven"))) == 20

    still_down = run_script(FLUSH_ONLY, receiver.dsn, str(outbox), "0.5")
    assert still_down.stdout.split() == ["False"], still_down.stderr  # the outbox still holds them
    assert len(list(outbox.glob("*.raven"))) == 20

    receiver.start()
    second = run_script(FLUSH_ONLY, receiver.dsn, str(outbox), "20")
    assert second.stdout.split() == ["True"], second.stderr
    assert sorted(e["event_id"] for e in receiver.events) == sorted(ids)  # each once
    assert list(outbox.glob("*.raven")) == []
    validate_event(receiver.events[0])


# -- behind a proxy --------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_env_proxy")
@pytest.mark.parametrize("prefix", TRANSPORTS)
def test_http_proxy_option_carries_events_through_a_forward_proxy(
    receiver: Receiver, proxy: ForwardProxy, prefix: str
) -> None:
    """With ``http_proxy``, the event goes to the proxy, which forwards it to the server."""
    client = make_client(prefix + receiver.dsn, http_proxy=proxy.url)
    event_id = client.captureMessage("through the proxy")
    assert client.flush(10)
    (event,) = receiver.wait_for(1)
    assert event["event_id"] == event_id
    (passed,) = proxy.passed
    assert passed.method == "POST"
    assert passed.target == f"http://127.0.0.1:{receiver.port}/api/1/envelope/"
    assert passed.bytes_up == receiver.requests[0].wire_bytes


@pytest.mark.usefixtures("no_env_proxy")
@pytest.mark.parametrize("prefix", TRANSPORTS)
def test_https_proxy_option_tunnels_tls_through_connect_with_ca_certs(
    receiver: Receiver, proxy: ForwardProxy, prefix: str
) -> None:
    """With ``https_proxy`` and ``ca_certs``, the event crosses the proxy inside a verified TLS tunnel."""
    dsn = serve_tls(receiver)
    client = make_client(prefix + dsn, https_proxy=proxy.url, ca_certs=CA_CERTS)
    event_id = client.captureMessage("through the tunnel")
    assert client.flush(10)
    (event,) = receiver.wait_for(1)
    assert event["event_id"] == event_id
    (passed,) = proxy.passed
    assert (passed.method, passed.target) == ("CONNECT", f"127.0.0.1:{receiver.port}")
    assert "x-sentry-auth" not in passed.headers  # the proxy sees the tunnel, not the request
    assert passed.bytes_up > receiver.requests[0].wire_bytes  # the body went through, encrypted


@pytest.mark.usefixtures("no_env_proxy")
@pytest.mark.parametrize("prefix", TRANSPORTS)
def test_empty_proxy_option_bypasses_the_environment_proxy(
    receiver: Receiver, proxy: ForwardProxy, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``http_proxy=""`` sends directly although HTTP_PROXY is set; without it, HTTP_PROXY is used."""
    for name in ("HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy.url)
    direct = make_client(prefix + receiver.dsn, http_proxy="")
    direct.captureMessage("direct")
    assert direct.flush(10)
    receiver.wait_for(1)
    assert proxy.passed == []
    via_env = make_client(prefix + receiver.dsn)
    via_env.captureMessage("via the environment")
    assert via_env.flush(10)
    receiver.wait_for(2)
    assert [p.method for p in proxy.passed] == ["POST"]


# -- sizes are trimmed, not dropped ------------------------------------------------------------


@pytest.mark.parametrize("prefix", TRANSPORTS)
def test_huge_breadcrumbs_and_tags_are_trimmed_to_fit_not_dropped(
    receiver: Receiver, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """100 breadcrumbs of 1 MB and 100,000 tags arrive trimmed; nothing says the queue is full."""
    caplog.set_level(logging.WARNING, logger="raven")
    client = make_client(prefix + receiver.dsn)
    for i in range(100):
        client.captureBreadcrumb(message=f"{i} " + "x" * 1_000_000, category="big")
    crumbs_id = client.captureMessage("after huge breadcrumbs")
    client.context.breadcrumbs.clear()
    client.tags_context({f"tag{i}": f"value{i}" for i in range(100_000)})
    tags_id = client.captureMessage("with 100,000 tags")
    assert client.flush(30)
    crumbs, tags = receiver.wait_for(2)
    assert (crumbs["event_id"], tags["event_id"]) == (crumbs_id, tags_id)
    assert 0 < len(crumbs["breadcrumbs"]["values"]) <= 10
    assert crumbs["breadcrumbs"]["values"][-1]["message"].startswith("99 ")
    assert 0 < len(tags["tags"]) <= 100
    for request in receiver.requests:
        assert len(request.body) <= client.options.max_event_bytes + 1000
    assert client.reports.totals == {}
    assert "queue is full" not in caplog.text
    validate_event(crumbs)
    validate_event(tags)


# -- nothing blocks forever ----------------------------------------------------------------------


def test_flush_with_a_tiny_byte_bound_returns_after_reporting_the_drops(
    receiver: Receiver,
) -> None:
    """flush() with a queue_max_bytes nothing fits in sends the client report once and returns."""
    client = make_client(receiver.dsn, queue_max_bytes=1)
    for _ in range(3):
        client.captureMessage("does not fit")
    started = time.monotonic()
    assert client.flush(10)
    assert time.monotonic() - started < 5  # generous: the bound is what this is about
    receiver.wait_until(lambda r: r.discarded().get(("queue_overflow", "default")) == 3)


def test_flush_without_timeout_gives_up_while_the_server_is_down(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """flush() with no timeout returns False after DEFAULT_FLUSH_TIMEOUT while the server is down."""
    monkeypatch.setattr(threaded, "DEFAULT_FLUSH_TIMEOUT", 1.0)
    receiver.stop()
    client = make_client(receiver.dsn)
    client.captureMessage("nobody listens")
    started = time.monotonic()
    assert client.flush() is False
    assert time.monotonic() - started < 10  # generous: the bound is what this is about
    client.close(0)


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "inf"},
        {"Retry-After": "1e309"},
        {"X-Sentry-Rate-Limits": "inf:error:organization"},
        {"X-Sentry-Rate-Limits": "1e309::organization"},
    ],
)
def test_unbounded_rate_limits_are_capped_at_an_hour(
    receiver: Receiver, headers: dict[str, str]
) -> None:
    """A server asking for an infinite pause silences the client for at most MAX_LIMIT_SECONDS."""
    receiver.respond_with(429, headers)
    client = make_client("sync+" + receiver.dsn)
    client.captureMessage("limited")
    receiver.wait_until(lambda r: len(r.requests) == 1)
    limit = client.transport.rate_limits.retry_after("error")  # type: ignore[union-attr]
    assert MAX_LIMIT_SECONDS == 3600
    assert 3000 < limit <= MAX_LIMIT_SECONDS


SIGNAL_CAPTURES = """
    import os, signal, sys, raven
    client = raven.Client(sys.argv[1], install_sys_hook=False)
    interval = float(sys.argv[2])
    handled = 0
    def on_alarm(signum, frame):
        global handled
        handled += 1
        client.captureMessage("from SIGALRM")
        if handled % 10 == 0:
            os.kill(os.getpid(), signal.SIGUSR1)  # a signal raised from inside a handler
    def on_usr1(signum, frame):
        global handled
        handled += 1
        client.captureMessage("from SIGUSR1")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.setitimer(signal.ITIMER_REAL, interval, interval)
    for i in range(300):
        client.captureMessage("from the app")
    signal.setitimer(signal.ITIMER_REAL, 0)
    assert client.flush(30)
    print(handled)
"""


@pytest.mark.parametrize(("prefix", "interval"), [("sync+", "0.003"), ("", "0.0005")])
def test_captures_from_signal_handlers_never_deadlock(
    receiver: Receiver, prefix: str, interval: str
) -> None:
    """Signal handlers that capture while the app captures: the process ends and every event arrives."""
    result = run_script(SIGNAL_CAPTURES, prefix + receiver.dsn, interval)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    handled = int(result.stdout)
    assert handled > 0
    events = receiver.wait_for(300 + handled, timeout=30)
    assert len(events) == 300 + handled, result.stderr
    assert len({e["event_id"] for e in events}) == len(events)


# -- clients never closed ------------------------------------------------------------------------


def raven_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("raven-")]


def test_dropped_clients_release_their_threads(receiver: Receiver) -> None:
    """100 clients created per request, never closed nor flushed: every event arrives, no thread stays."""
    before = len(raven_threads())
    for i in range(100):
        client = make_client(receiver.dsn)
        client.captureMessage("request %s", params=(i,))
    del client
    assert len(receiver.wait_for(100, timeout=30)) == 100
    deadline = time.monotonic() + 30
    while len(raven_threads()) > before and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.05)
    assert len(raven_threads()) <= before


# -- redirects -------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", TRANSPORTS)
def test_redirect_to_another_origin_is_not_followed(
    receiver: Receiver, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A 307 to another server sends it nothing (no event, no X-Sentry-Auth); the drop is counted."""
    elsewhere = Receiver().start()
    try:
        target = f"http://127.0.0.1:{elsewhere.port}/api/1/envelope/"
        receiver.respond_with(307, {"Location": target})
        client = make_client(prefix + receiver.dsn)
        client.captureMessage("redirected")
        assert client.flush(10)  # a followed redirect would have reached `elsewhere` by now
        assert receiver.requests[0].status == 307
        assert client.reports.totals.get(("send_error", "default")) == 1
        assert "redirects are not followed" in caplog.text
        assert target in caplog.text
        assert elsewhere.requests == []
        assert elsewhere.received_bodies == 0
    finally:
        elsewhere.stop()

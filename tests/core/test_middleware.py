"""The WSGI middleware: what it reports, the request data it attaches, and per-request context."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.util import setup_testing_defaults

import pytest
import raven
import requests
from raven.middleware import Sentry
from raven.processors import MASK

from .conftest import Harness

StartResponse = Callable[..., Any]


def call(app: Any, path: str = "/", **environ: Any) -> tuple[list[bytes], BaseException | None]:
    """Run one request through ``app`` the way a WSGI server does: call, iterate, always close."""
    env: dict[str, Any] = {"PATH_INFO": path, **environ}
    setup_testing_defaults(env)
    body: list[bytes] = []
    result: Any = None
    try:
        result = app(env, lambda status, headers, exc_info=None: None)
        body.extend(result)
    except BaseException as exc:
        return body, exc
    finally:
        if result is not None and hasattr(result, "close"):
            result.close()
    return body, None


def hello(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def raising(exc: BaseException) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        raise exc

    return app


class TrackedBody:
    """A response iterable that may raise while iterated, and records ``close()``."""

    def __init__(
        self, fail_at: int | None = None, close_error: BaseException | None = None
    ) -> None:
        self.fail_at = fail_at
        self.close_error = close_error
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        for index in range(3):
            if index == self.fail_at:
                raise RuntimeError("broken while streaming")
            yield b"chunk"

    def close(self) -> None:
        self.closed += 1
        if self.close_error is not None:
            raise self.close_error


def test_successful_request_passes_through(receiver: Any, client: raven.Client) -> None:
    """A request that succeeds returns the app's body and sends nothing."""
    body, error = call(Sentry(hello, client))
    assert body == [b"hello"] and error is None
    assert receiver.requests == []


def test_exception_from_the_app_is_reported_and_reraised(
    sentry: Harness, client: raven.Client
) -> None:
    """An exception raised by the app is sent (mechanism wsgi, unhandled) and re-raised unchanged."""
    exc = ValueError("view failed")
    body, error = call(Sentry(raising(exc), client), "/orders/7", QUERY_STRING="page=2")
    assert error is exc
    event = sentry.event()
    value = event["exception"]["values"][-1]
    assert value["value"] == "view failed"
    assert value["mechanism"]["type"] == "wsgi" and value["mechanism"]["handled"] is False
    assert event["request"]["url"] == "http://127.0.0.1/orders/7"
    assert event["request"]["query_string"] == "page=2"


@pytest.mark.parametrize("code", [0, None])
def test_clean_system_exit_is_not_reported(
    receiver: Any, client: raven.Client, code: int | None
) -> None:
    """``SystemExit(0)`` (or no code) is a clean exit: re-raised, not reported."""
    _, error = call(Sentry(raising(SystemExit(code)), client))
    assert isinstance(error, SystemExit)
    assert receiver.requests == []


@pytest.mark.parametrize("exc", [SystemExit(1), SystemExit("fatal"), KeyboardInterrupt()])
def test_failing_exit_and_keyboard_interrupt_are_reported(
    sentry: Harness, client: raven.Client, exc: BaseException
) -> None:
    """``SystemExit(1)`` and ``KeyboardInterrupt`` are reported, then re-raised."""
    _, error = call(Sentry(raising(exc), client))
    assert error is exc
    assert sentry.event()["exception"]["values"][-1]["type"] == type(exc).__name__


def test_error_while_iterating_the_response(sentry: Harness, client: raven.Client) -> None:
    """An exception raised while the body streams is reported and re-raised; close() still runs."""
    tracked = TrackedBody(fail_at=1)
    body, error = call(Sentry(lambda env, sr: tracked, client))
    assert body == [b"chunk"] and isinstance(error, RuntimeError)
    assert tracked.closed == 1
    assert sentry.event()["exception"]["values"][-1]["value"] == "broken while streaming"


def test_close_is_always_called_once(receiver: Any, client: raven.Client) -> None:
    """The app's ``close()`` is called after a normal response, once even if close is called twice."""
    tracked = TrackedBody()
    middleware = Sentry(lambda env, sr: tracked, client)
    env: dict[str, Any] = {}
    setup_testing_defaults(env)
    result = middleware(env, lambda *a: None)
    assert list(result) == [b"chunk"] * 3
    result.close()  # type: ignore[attr-defined]
    result.close()  # type: ignore[attr-defined]
    assert tracked.closed == 1 and receiver.requests == []


def test_error_in_close_is_reported(sentry: Harness, client: raven.Client) -> None:
    """An exception raised by the app's ``close()`` is reported and re-raised."""
    tracked = TrackedBody(close_error=RuntimeError("close failed"))
    with pytest.raises(RuntimeError, match="close failed"):
        call(Sentry(lambda env, sr: tracked, client))
    assert sentry.event()["exception"]["values"][-1]["value"] == "close failed"


def test_context_is_reset_after_each_request(sentry: Harness, client: raven.Client) -> None:
    """What one request puts in the context is gone for the next request and after the response."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/first":
            client.user_context({"id": "first-user"})
            client.tags_context({"first": "yes"})
            start_response("200 OK", [])
            return [b"ok"]
        raise ValueError(path)

    middleware = Sentry(app, client)
    call(middleware, "/first")
    assert client.context.get() == {}
    call(middleware, "/second")
    event = sentry.event()
    assert "user" not in event and "first" not in event["tags"]
    assert event["request"]["url"].endswith("/second")


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def log_request(self, *args: Any) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """Serve a WSGI app with a real threaded server on loopback; returns its base URL."""
    servers: list[WSGIServer] = []

    def start(app: Any) -> str:
        server = make_server(
            "127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler
        )
        servers.append(server)
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_request_data_is_attached_and_scrubbed(
    sentry: Harness, client: raven.Client, serve: Callable[[Any], str]
) -> None:
    """Through a real server: url, method, query, headers, cookies and env arrive, secrets masked."""
    base = serve(Sentry(raising(ValueError("boom")), client))
    response = requests.post(
        f"{base}/pay?order=7&token=abc",
        data={"amount": "3"},
        headers={
            "Authorization": "Bearer xyz",
            "Cookie": "sessionid=s1; theme=dark",
            "X-Request-Id": "r-1",
        },
        timeout=5,
    )
    assert response.status_code == 500  # the server's own error response is unchanged
    request = sentry.event()["request"]
    assert request["url"] == f"{base}/pay" and request["method"] == "POST"
    assert request["query_string"] == f"order=7&token={MASK}"
    assert request["headers"]["Authorization"] == MASK
    assert request["headers"]["X-Request-Id"] == "r-1"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Cookie" not in request["headers"]
    assert request["cookies"] == {"sessionid": MASK, "theme": MASK}
    assert request["env"] == {
        "SERVER_NAME": request["env"]["SERVER_NAME"],
        "SERVER_PORT": base.rsplit(":", 1)[1],
    }


def test_remote_addr_only_with_send_default_pii(
    sentry: Harness, serve: Callable[[Any], str]
) -> None:
    """The client's IP address (``REMOTE_ADDR``) is attached only when ``send_default_pii`` is on."""
    client = sentry.client(send_default_pii=True)
    base = serve(Sentry(raising(ValueError("boom")), client))
    assert requests.get(f"{base}/", timeout=5).status_code == 500
    assert sentry.event()["request"]["env"]["REMOTE_ADDR"] == "127.0.0.1"


def test_concurrent_requests_keep_their_own_context(
    sentry: Harness, serve: Callable[[Any], str]
) -> None:
    """Twenty concurrent requests through a threaded server: each event has only its own user and tags."""
    client = sentry.client(dsn=sentry.receiver.dsn)
    count = 20
    barrier = threading.Barrier(count)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        user = environ["PATH_INFO"].strip("/")
        client.user_context({"id": user})
        client.tags_context({"user": user})
        barrier.wait(timeout=30)
        raise ValueError(user)

    base = serve(Sentry(app, client))
    threads = [
        threading.Thread(target=requests.get, args=(f"{base}/u{i}",), kwargs={"timeout": 30})
        for i in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.flush(30)
    events = sentry.events(count)
    for event in events:
        user = event["exception"]["values"][-1]["value"]
        assert event["user"] == {"id": user} and event["tags"] == {"user": user}
        assert event["request"]["url"].endswith("/" + user)


def test_with_tracing_each_request_is_a_transaction_linked_to_its_errors(sentry: Harness) -> None:
    client = sentry.client(traces_sample_rate=1.0)
    app = Sentry(hello, client)
    call(app, "/ok", HTTP_SENTRY_TRACE="771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1")
    _, error = call(Sentry(raising(ValueError("boom")), client), "/broken")
    assert isinstance(error, ValueError)
    ok, broken = sentry.receiver.wait_for_transactions(2)
    sentry.validate(sentry.receiver.transactions)
    assert ok["transaction"] == "/ok" and ok["contexts"]["trace"]["status"] == "ok"
    assert ok["contexts"]["trace"]["trace_id"] == "771a43a4192642f0b136d5159a501700"
    assert ok["contexts"]["trace"]["data"] == {"http.response.status_code": 200}
    assert broken["contexts"]["trace"]["status"] == "internal_error"
    (event,) = sentry.events(1)
    assert event["contexts"]["trace"]["trace_id"] == broken["contexts"]["trace"]["trace_id"]
    assert event["contexts"]["trace"]["span_id"] == broken["contexts"]["trace"]["span_id"]


def test_without_tracing_no_transaction_is_sent(sentry: Harness) -> None:
    client = sentry.client()
    call(Sentry(hello, client), "/ok")
    call(Sentry(raising(ValueError("boom")), client), "/broken")
    sentry.events(1)
    assert sentry.receiver.transactions == []

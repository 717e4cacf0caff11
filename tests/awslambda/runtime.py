"""A loopback implementation of the AWS Lambda Runtime API, enough to let AWS's own runtime client
(``python -m awslambdaric``) run a handler in a subprocess: it hands out invocations on
``/invocation/next`` and records what the runtime posts to ``/response`` and ``/error``."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Invocation", "RuntimeAPI"]

PREFIX = "/2018-06-01/runtime"
ARN = "arn:aws:lambda:eu-west-1:123456789012:function:raven-test"


@dataclass
class Invocation:
    """One invocation: what was handed to the runtime and what it posted back."""

    event: Any
    deadline_ms: int
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    arn: str = ARN
    outcome: str | None = None  # "response" or "error" once posted
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # What RuntimeAPI(on_post=...) returned at the moment the runtime posted the outcome.
    seen_at_post: Any = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait(self, timeout: float = 10.0) -> Invocation:
        """Block until the runtime posted the outcome; AssertionError after ``timeout`` seconds."""
        if not self._done.wait(timeout):
            raise AssertionError(
                f"invocation {self.request_id} got no response or error in {timeout}s"
            )
        return self


class RuntimeAPI:
    """Start with ``RuntimeAPI().start()``; ``address`` goes into ``AWS_LAMBDA_RUNTIME_API``.

    ``on_post`` is called (in the server thread) when the runtime posts a response or an error,
    before the post is answered; its return value is kept in ``Invocation.seen_at_post``.
    """

    def __init__(self, on_post: Callable[[], Any] | None = None) -> None:
        self.on_post = on_post
        self.invocations: list[Invocation] = []
        self.init_errors: list[Any] = []
        self._pending: list[Invocation] = []
        self._by_id: dict[str, Invocation] = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._server: ThreadingHTTPServer | None = None

    @property
    def address(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RuntimeAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                api._get(self)

            def do_POST(self) -> None:
                api._post(self)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def invoke(self, event: Any, timeout_s: float = 10.0) -> Invocation:
        """Queue an invocation whose deadline is ``timeout_s`` seconds from now; returns at once."""
        invocation = Invocation(event=event, deadline_ms=int((time.time() + timeout_s) * 1000))
        with self._cond:
            self.invocations.append(invocation)
            self._by_id[invocation.request_id] = invocation
            self._pending.append(invocation)
            self._cond.notify_all()
        return invocation

    # -- the server side -----------------------------------------------------------------------
    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path != f"{PREFIX}/invocation/next":
            self._answer(handler, 404, {"errorMessage": "unknown path"})
            return
        with self._cond:  # long poll, as on AWS: answer when there is something to run
            while not self._pending and not self._stopping:
                self._cond.wait(0.5)
            if self._stopping:
                return
            invocation = self._pending.pop(0)
        body = json.dumps(invocation.event).encode()
        # awslambdaric 4.x's native client crashes when any of these headers is missing.
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.arn,
            "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0",
            "Lambda-Runtime-Client-Context": "",
            "Lambda-Runtime-Cognito-Identity": "",
        }
        self._answer(handler, 200, body, headers)

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        parts = handler.path[len(PREFIX) :].strip("/").split("/")
        if parts == ["init", "error"]:
            with self._cond:
                self.init_errors.append(body)
                self._cond.notify_all()
            self._answer(handler, 202, {"status": "OK"})
            return
        if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
            self._answer(handler, 404, {"errorMessage": "unknown path"})
            return
        with self._cond:
            invocation = self._by_id.get(parts[1])
        if invocation is None or invocation.outcome is not None:
            self._answer(handler, 400, {"errorMessage": "unknown or finished invocation"})
            return
        seen = self.on_post() if self.on_post is not None else None
        invocation.headers = {k.lower(): v for k, v in handler.headers.items()}
        invocation.body, invocation.seen_at_post, invocation.outcome = body, seen, parts[2]
        self._answer(handler, 202, {"status": "OK"})
        invocation._done.set()

    @staticmethod
    def _answer(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            handler.send_response(status)
            for key, value in (headers or {"Content-Type": "application/json"}).items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass

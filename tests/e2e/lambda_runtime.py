"""Just enough of the AWS Lambda Runtime API for AWS's runtime client (``python -m awslambdaric``)
to run a handler: invocations handed out on ``/invocation/next``, outcomes recorded from
``/response`` and ``/error``. ``on_outcome`` runs when an outcome is posted, before it is
answered: the moment Lambda would freeze the process."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Invocation", "LambdaRuntime"]

PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    event: Any
    deadline_ms: int
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    outcome: str | None = None
    body: Any = None
    seen_at_outcome: Any = None
    done: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout: float = 30.0) -> Invocation:
        assert self.done.wait(timeout), f"invocation {self.request_id} got no outcome in {timeout}s"
        return self


class LambdaRuntime:
    def __init__(self, on_outcome: Callable[[], Any] | None = None) -> None:
        self.on_outcome = on_outcome
        self._queue: list[Invocation] = []
        self._by_id: dict[str, Invocation] = {}
        self._cond = threading.Condition()
        self._closed = False
        runtime = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                runtime._next(self)

            def do_POST(self) -> None:
                runtime._outcome(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def invoke(self, event: Any, timeout_s: float = 30.0) -> Invocation:
        invocation = Invocation(event, int((time.time() + timeout_s) * 1000))
        with self._cond:
            self._queue.append(invocation)
            self._by_id[invocation.request_id] = invocation
            self._cond.notify_all()
        return invocation

    def stop(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def _next(self, handler: BaseHTTPRequestHandler) -> None:
        with self._cond:  # long poll, as on AWS
            while not self._queue and not self._closed:
                self._cond.wait(0.5)
            if self._closed:
                return
            invocation = self._queue.pop(0)
        # awslambdaric's native client crashes when any of these headers is missing.
        self._answer(handler, 200, invocation.event, {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:eu-west-1:123456789012:function:orders",
            "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0",
            "Lambda-Runtime-Client-Context": "",
            "Lambda-Runtime-Cognito-Identity": "",
        })

    def _outcome(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        parts = handler.path[len(PREFIX):].strip("/").split("/")
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            invocation = self._by_id.get(parts[1])
            if invocation is not None and invocation.outcome is None:
                invocation.seen_at_outcome = self.on_outcome() if self.on_outcome else None
                invocation.body = json.loads(raw) if raw else None
                invocation.outcome = parts[2]
                self._answer(handler, 202, {"status": "OK"})
                invocation.done.set()
                return
        self._answer(handler, 202 if parts[:2] == ["init", "error"] else 400, {"status": "ignored"})

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        try:
            handler.send_response(status)
            for key, value in (headers or {"Content-Type": "application/json"}).items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass

"""Fixtures for raven-openai's tests: a loopback HTTP server that answers like OpenAI's API (chat
completions as JSON or as a server-sent-event stream ending with a usage chunk, Responses API
answers, 429 and 500 error bodies), real ``openai`` clients pointed at it, and Raven clients
delivering to the loopback receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import raven
import raven_openai

import openai
from tests.core.conftest import Harness
from tests.receiver import Receiver

MODEL = "gpt-4o-2024-08-06"  # the model that answers (the request asks for "gpt-4o")
ANSWER = ["The capital ", "is ", "Paris."]
USAGE = {
    "prompt_tokens": 20,
    "completion_tokens": 6,
    "total_tokens": 26,
    "prompt_tokens_details": {"cached_tokens": 8},
    "completion_tokens_details": {"reasoning_tokens": 2},
}
# Models that make the server fail, and how.
FAILURES = {
    "overloaded": (429, "Rate limit reached for gpt-4o", "rate_limit_exceeded"),
    "broken": (500, "The server had an error while processing your request.", "server_error"),
}


class FakeOpenAI:
    """OpenAI's API on a free loopback port; keeps the JSON body of every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                status, content_type, payload = server.answer(self.path, body)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, str, bytes]:
        failure = FAILURES.get(body.get("model", ""))
        if failure is not None:
            status, message, code = failure
            error = {"error": {"message": message, "type": "requests", "param": None, "code": code}}
            return status, "application/json", json.dumps(error).encode()
        if path.endswith("/responses") and body.get("stream"):
            events = [f"data: {json.dumps(event)}\n\n" for event in _response_events()]
            return 200, "text/event-stream", "".join(events).encode()
        if path.endswith("/responses"):
            return 200, "application/json", json.dumps(_response()).encode()
        if body.get("stream") and body.get("model") == "cut-off":  # fails after one chunk
            chunk, error = _chunks(False)[0], {"error": {"message": "overloaded", "type": "server"}}
            events = "".join(f"data: {json.dumps(e)}\n\n" for e in (chunk, error))
            return 200, "text/event-stream", events.encode()
        if body.get("stream"):
            include_usage = (body.get("stream_options") or {}).get("include_usage")
            events = [f"data: {json.dumps(chunk)}\n\n" for chunk in _chunks(include_usage)]
            return 200, "text/event-stream", ("".join(events) + "data: [DONE]\n\n").encode()
        return 200, "application/json", json.dumps(_completion()).encode()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(ANSWER)},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": USAGE,
    }


def _chunks(include_usage: bool) -> list[dict[str, Any]]:
    def chunk(choices: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
        return {
            "id": "chatcmpl-2",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": MODEL,
            "choices": choices,
            **more,
        }

    chunks = [
        chunk(
            [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}]
        )
        for text in ANSWER
    ]
    chunks.append(chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    if include_usage:
        chunks.append(chunk([], usage=USAGE))
    return chunks


def _response() -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1700000000,
        "model": MODEL,
        "status": "completed",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "Paris.", "annotations": []}],
            }
        ],
        "usage": {
            "input_tokens": 11,
            "output_tokens": 3,
            "total_tokens": 14,
            "input_tokens_details": {"cached_tokens": 4},
            "output_tokens_details": {"reasoning_tokens": 1},
        },
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }


def _response_events() -> list[dict[str, Any]]:
    """A streamed response: created, the text in deltas, completed with the usage."""
    started = {**_response(), "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [{"type": "response.created", "response": started}]
    events += [
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": text,
        }
        for text in ("Par", "is.")
    ]
    events.append({"type": "response.completed", "response": _response()})
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


@pytest.fixture
def api() -> Iterator[FakeOpenAI]:
    """The fake OpenAI API, for this test only."""
    server = FakeOpenAI()
    yield server
    server.stop()


@pytest.fixture
def llm(api: FakeOpenAI) -> Iterator[openai.OpenAI]:
    """A real ``openai.OpenAI`` client talking to the fake API (no retries: errors surface at
    once)."""
    client = openai.OpenAI(base_url=api.base_url, api_key="sk-test", max_retries=0)
    yield client
    client.close()


@pytest.fixture
def async_llm(api: FakeOpenAI) -> openai.AsyncOpenAI:
    """A real ``openai.AsyncOpenAI`` client talking to the fake API."""
    return openai.AsyncOpenAI(base_url=api.base_url, api_key="sk-test", max_retries=0)


@pytest.fixture(autouse=True)
def _uninstalled() -> Iterator[None]:
    """Every test leaves openai as it found it."""
    yield
    raven_openai.uninstall()


@pytest.fixture
def sentry(receiver: Receiver) -> Iterator[Harness]:
    """Raven clients delivering synchronously to the receiver (the core tests' harness)."""
    harness = Harness(receiver)
    yield harness
    harness.close()


def installed(sentry: Harness, **options: Any) -> raven.Client:
    """A Raven client with tracing on (unless ``options`` say otherwise), installed."""
    client = sentry.client(**{"traces_sample_rate": 1.0, **options})
    raven_openai.install(client)
    return client

"""The decorated handlers run by AWS's own runtime client against the loopback Runtime API."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.awslambda.runtime import ARN, Invocation, RuntimeAPI
from tests.receiver import Receiver
from tests.relay import validate_event

MASK = "********"


def invoke(
    runtime: RuntimeAPI, process: subprocess.Popen[bytes], event: Any, timeout_s: float = 10.0
) -> Invocation:
    """Run one invocation to its end; fails early if the function process died."""
    invocation = runtime.invoke(event, timeout_s=timeout_s)
    deadline = time.monotonic() + timeout_s + 10
    while not invocation._done.wait(0.05):
        assert process.poll() is None, f"the function process exited with {process.returncode}"
        assert time.monotonic() < deadline, "the runtime posted no outcome"
    return invocation


def api_gateway_event() -> dict[str, Any]:
    """An API Gateway REST API (payload 1.0) proxy event, as AWS documents it."""
    headers = {
        "Host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "X-Forwarded-Proto": "https",
        "Content-Type": "application/json",
        "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.secret",
        "Cookie": "sessionid=abc123; theme=dark",
        "User-Agent": "curl/8.5.0",
    }
    return {
        "resource": "/orders/{id}",
        "path": "/orders/42",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {"page": "2", "api_key": "k-123456"},
        "multiValueQueryStringParameters": {"page": ["2"], "api_key": ["k-123456"]},
        "pathParameters": {"id": "42"},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/orders/{id}",
            "httpMethod": "POST",
            "path": "/prod/orders/42",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
        },
        "body": json.dumps({"item": "book", "password": "hunter2"}),
        "isBase64Encoded": False,
    }


def aws_lambda(event: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = event["contexts"]["aws_lambda"]
    return context


def test_success_sends_nothing(
    runtime: RuntimeAPI, start_function: Any, receiver: Receiver
) -> None:
    """A handler that returns has its value posted unchanged, and no event is sent."""
    process = start_function("app.returning")
    invocation = invoke(runtime, process, {"order": 7})
    assert invocation.outcome == "response"
    assert invocation.body == {"echo": {"order": 7}, "request_id": invocation.request_id}
    # Events are flushed before the result is posted: none having arrived by now means none was sent.
    assert invocation.seen_at_post == []
    assert receiver.events == []


def test_error_is_delivered_before_the_runtime_posts_it(
    runtime: RuntimeAPI, start_function: Any, receiver: Receiver
) -> None:
    """A raising handler's exception reaches the receiver before the runtime posts it to /error."""
    process = start_function("app.raising")
    invocation = invoke(runtime, process, {"order": 8})
    assert invocation.outcome == "error"
    assert invocation.body["errorType"] == "ValueError"
    assert invocation.body["errorMessage"] == "the order could not be placed"
    (event,) = receiver.wait_for(1)
    validate_event(event)
    assert event["event_id"] in invocation.seen_at_post
    (exc,) = event["exception"]["values"]
    assert (exc["type"], exc["value"]) == ("ValueError", "the order could not be placed")
    assert exc["mechanism"] == {"type": "aws_lambda", "handled": False, "exception_id": 0}
    assert exc["stacktrace"]["frames"][-1]["function"] == "raising"
    assert not any(f["module"].startswith("raven_lambda") for f in exc["stacktrace"]["frames"])
    assert event["release"] == "app@1.0.0"
    assert event["transaction"] == "raven-test"
    context = aws_lambda(event)
    assert context.pop("remaining_time_in_millis") > 0
    assert context == {
        "function_name": "raven-test",
        "function_version": "$LATEST",
        "invoked_function_arn": ARN,
        "aws_request_id": invocation.request_id,
        "memory_limit_in_mb": 256,
        "log_group_name": "/aws/lambda/raven-test",
        "log_stream_name": "2026/01/01/[$LATEST]0123456789abcdef",
        "region": "eu-west-1",
        "cold_start": True,
    }
    assert "request" not in event and "aws_event" not in event["contexts"]


def test_timeout_warning(runtime: RuntimeAPI, start_function: Any, receiver: Receiver) -> None:
    """A handler still running ``timeout_margin`` before its deadline is reported with its stack."""
    process = start_function("app.slow", TIMEOUT_MARGIN="0.6")
    invocation = invoke(runtime, process, {"order": 9}, timeout_s=1.5)
    assert (invocation.outcome, invocation.body) == ("response", "late")
    (event,) = receiver.wait_for(1)
    validate_event(event)
    assert event["event_id"] in invocation.seen_at_post
    assert event["level"] == "warning"
    assert event["logentry"]["formatted"] == "function is about to time out"
    assert 0 < aws_lambda(event)["remaining_time_in_millis"] <= 600
    assert aws_lambda(event)["aws_request_id"] == invocation.request_id
    assert event["transaction"] == "raven-test" and event["extra"]["timeout_margin_seconds"] == 0.6
    frames = event["stacktrace"]["frames"]
    # The handler's thread as it was: stuck in wait_for_deadline, called by the handler.
    assert [f["function"] for f in frames if f["in_app"]][-2:] == ["slow", "wait_for_deadline"]
    assert frames[-1]["function"] == "wait_for_deadline"
    assert (
        "get_remaining_time_in_millis" in frames[-1]["context_line"]
        or "sleep" in frames[-1]["context_line"]
    )


def test_two_invocations_in_one_process(
    runtime: RuntimeAPI, start_function: Any, receiver: Receiver
) -> None:
    """Only the first invocation of a process is a cold start; nothing set in it reaches the next."""
    process = start_function("app.raising")
    first = invoke(runtime, process, {**api_gateway_event(), "remember": "first"})
    second = invoke(runtime, process, {})
    assert first.outcome == second.outcome == "error"
    events = receiver.wait_for(2)
    for event in events:
        validate_event(event)
    one, two = sorted(events, key=lambda e: aws_lambda(e)["aws_request_id"] != first.request_id)
    assert one["event_id"] in first.seen_at_post and two["event_id"] in second.seen_at_post
    assert (aws_lambda(one)["aws_request_id"], aws_lambda(two)["aws_request_id"]) == (
        first.request_id,
        second.request_id,
    )
    assert (aws_lambda(one)["cold_start"], aws_lambda(two)["cold_start"]) == (True, False)
    assert one["tags"]["remembered"] == "first" and one["extra"]["remembered"] == "first"
    assert one["user"] == {"id": "first"}
    assert [c["message"] for c in one["breadcrumbs"]["values"]] == ["remember first"]
    assert "remembered" not in two["tags"] and "remembered" not in two.get("extra", {})
    assert "user" not in two
    assert one["request"]["method"] == "POST" and "aws_event" in one["contexts"]
    assert "request" not in two and "aws_event" not in two["contexts"]
    assert not any(
        c.get("message") == "remember first" for c in two.get("breadcrumbs", {}).get("values", [])
    )


def test_api_gateway_request(runtime: RuntimeAPI, start_function: Any, receiver: Receiver) -> None:
    """An API Gateway event becomes the request interface, with its secrets scrubbed."""
    process = start_function("app.raising")
    invocation = invoke(runtime, process, api_gateway_event())
    assert invocation.outcome == "error"
    (event,) = receiver.wait_for(1)
    validate_event(event)
    request = event["request"]
    assert request["url"] == "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/orders/42"
    assert request["method"] == "POST"
    assert "page=2" in request["query_string"]
    assert "k-123456" not in json.dumps(request)
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json" and headers["User-Agent"] == "curl/8.5.0"
    assert headers["Authorization"] == MASK
    assert "Cookie" not in headers and request["cookies"] == {"sessionid": MASK, "theme": MASK}
    assert "abc123;" not in json.dumps(request) and "sessionid=abc123" not in json.dumps(request)
    body = request["data"] if isinstance(request["data"], dict) else json.loads(request["data"])
    assert body["item"] == "book" and body["password"] == MASK
    # No IP address without send_default_pii (the handler's own locals are the core's business).
    assert "203.0.113.7" not in json.dumps([request, event["contexts"], event.get("user")])
    assert event["contexts"]["aws_event"] == {
        "trigger": "api_gateway_v1",
        "source": "aws:apigateway",
        "ids": ["c6af9ac6-7b61-11e6-9a41-93e8deadbeef"],
        "resource": "/orders/{id}",
        "stage": "prod",
        "api_id": "abc123",
    }


def test_no_dsn_warns_once_at_cold_start(
    runtime: RuntimeAPI, start_function: Any, receiver: Receiver, tmp_path: Path
) -> None:
    """Without a DSN the handler still runs, nothing is sent, and the function's log says so once
    (at the cold start, not at every invocation)."""
    process = start_function("app.returning", SENTRY_DSN="")
    first = invoke(runtime, process, {"order": 1})
    second = invoke(runtime, process, {"order": 2})
    assert first.outcome == second.outcome == "response"
    process.terminate()
    process.wait(timeout=10)
    log = (tmp_path / "function-0.log").read_text()
    assert log.count("Raven is disabled: no DSN configured") == 1, log
    assert "[WARNING]" in log and "errors of returning are not reported" in log
    assert receiver.events == []

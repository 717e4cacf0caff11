"""The decorator called in this process, with the runtime's own ``LambdaContext`` objects."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import raven
import raven_lambda
from awslambdaric.lambda_context import LambdaContext
from raven.exceptions import ConfigurationError
from raven.handlers.logging import SentryHandler

from tests.awslambda.runtime import ARN
from tests.receiver import Receiver
from tests.relay import validate_event


@pytest.fixture(autouse=True)
def _lambda_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables Lambda sets; no DSN from the test runner's environment."""
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "in-process")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "3")
    monkeypatch.setenv("AWS_REGION", "us-east-2")


@pytest.fixture
def client(receiver: Receiver) -> Iterator[raven_lambda.LambdaClient]:
    client = raven_lambda.LambdaClient(dsn=receiver.dsn, install_sys_hook=False)
    yield client
    client.close()


def lambda_context(timeout_s: float = 10.0) -> LambdaContext:
    """What the runtime passes to a handler, with a deadline ``timeout_s`` from now."""
    return LambdaContext(str(uuid.uuid4()), None, None, int((time.time() + timeout_s) * 1000), ARN)


def failing(event: Any, context: Any) -> Any:
    raise RuntimeError("failed")


def run_failing(client: raven.Client, receiver: Receiver, event: Any) -> dict[str, Any]:
    with pytest.raises(RuntimeError):
        raven_lambda.handler(client=client)(failing)(event, lambda_context())
    (sent,) = receiver.wait_for(1)
    validate_event(sent)
    return sent


def test_decorator_keeps_the_function() -> None:
    """Bare or configured, the decorator returns a function with the handler's name and doc."""

    def handle(event: Any, context: Any) -> Any:
        """Handles."""
        return event

    client = raven.Client()
    for decorated in (
        raven_lambda.handler(handle),
        raven_lambda.handler(client=client, timeout_margin=2)(handle),
    ):
        assert (decorated.__name__, decorated.__doc__, decorated.__wrapped__) == (
            "handle",
            "Handles.",
            handle,
        )  # type: ignore[attr-defined]
        assert decorated({"a": 1}, lambda_context()) == {"a": 1}


def test_decorating_twice_reports_once(
    client: raven_lambda.LambdaClient, receiver: Receiver
) -> None:
    """A handler decorated twice is wrapped once: one event per error; ``__wrapped__`` is the original."""
    once = raven_lambda.handler(client=client)(failing)
    twice = raven_lambda.handler(client=client)(once)
    assert twice is once and once.__wrapped__ is failing  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError):
        twice({}, lambda_context())
    client.captureMessage("marker")
    first, second = receiver.wait_for(2)
    validate_event(first)
    validate_event(second)
    assert (first["exception"]["values"][-1]["type"], second["logentry"]["formatted"]) == (
        "RuntimeError",
        "marker",
    )
    assert len(receiver.events) == 2


@pytest.mark.parametrize("margin", [-1, "2", True])
def test_bad_timeout_margin(margin: Any) -> None:
    """A timeout margin that is not a number of seconds >= 0 fails at decoration, naming the option."""
    with pytest.raises(ConfigurationError, match="timeout_margin"):
        raven_lambda.handler(timeout_margin=margin)


def test_disabled_client_passes_through() -> None:
    """Without a DSN the handler's value and exception pass through untouched."""
    client = raven.Client()
    assert not client.is_enabled()
    assert raven_lambda.handler(client=client)(lambda event, context: [event])(
        1, lambda_context()
    ) == [1]
    with pytest.raises(RuntimeError, match="failed"):
        raven_lambda.handler(client=client)(failing)({}, lambda_context())


def test_disabled_client_warns_once_per_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Without a DSN the first invocation logs one WARNING on ``raven.awslambda``; later ones
    and other handlers of the process log nothing."""
    monkeypatch.setattr("raven_lambda._wrapper._warned_disabled", False)  # a fresh process
    client = raven.Client()
    with caplog.at_level(logging.WARNING, logger="raven.awslambda"):
        for function in (failing, failing, lambda event, context: None):
            with contextlib.suppress(RuntimeError):
                raven_lambda.handler(client=client)(function)({}, lambda_context())
    records = [r for r in caplog.records if r.name == "raven.awslambda"]
    assert [(r.levelname, r.getMessage()) for r in records] == [
        (
            "WARNING",
            "Raven is disabled: no DSN configured (set SENTRY_DSN, or pass a client with a DSN "
            "to raven_lambda.handler); errors of failing are not reported",
        )
    ]


def test_capture_exceptions_of_lambda_client(
    client: raven_lambda.LambdaClient, receiver: Receiver
) -> None:
    """``@LambdaClient.capture_exceptions`` (raven-python's spelling) is the handler decorator."""
    decorated = client.capture_exceptions(failing)
    context = lambda_context()
    with pytest.raises(RuntimeError):
        decorated({}, context)
    (event,) = receiver.wait_for(1)
    validate_event(event)
    assert event["contexts"]["aws_lambda"]["aws_request_id"] == context.aws_request_id
    assert event["contexts"]["aws_lambda"]["function_name"] == "in-process"
    assert event["contexts"]["aws_lambda"]["region"] == "us-east-2"
    with client.capture_exceptions(RuntimeError):  # the core's context-manager form still works
        pass


def test_no_warning_when_disabled(client: raven_lambda.LambdaClient, receiver: Receiver) -> None:
    """``timeout_warning=False``: a handler running past its deadline sends no warning."""

    def slow(event: Any, context: Any) -> str:
        while context.get_remaining_time_in_millis() > 0:
            time.sleep(0.01)
        return "late"

    decorated = raven_lambda.handler(client=client, timeout_warning=False, timeout_margin=0.2)(slow)
    assert decorated({}, lambda_context(timeout_s=0.3)) == "late"
    client.captureMessage("marker")
    (event,) = receiver.wait_for(1)
    validate_event(event)
    assert event["logentry"]["formatted"] == "marker"


@pytest.mark.raven_errors_expected
def test_raven_failure_never_reaches_the_handler(
    client: raven_lambda.LambdaClient, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """When Raven itself fails (here: on a broken context object), the handler still runs and
    its exception is still reported; the failure is logged on ``raven.awslambda``."""

    class BrokenContext:
        aws_request_id = "broken"

        def get_remaining_time_in_millis(self) -> int:
            raise OSError("clock unavailable")

    decorated = raven_lambda.handler(client=client)(lambda event, context: {"ok": event})
    with caplog.at_level(logging.ERROR, logger="raven.awslambda"):
        assert decorated(1, BrokenContext()) == {"ok": 1}
    assert any(
        r.name == "raven.awslambda" and "clock unavailable" in (r.exc_text or "")
        for r in caplog.records
    )


# -- the triggering event -------------------------------------------------------------------------
def test_function_url_request(client: raven_lambda.LambdaClient, receiver: Receiver) -> None:
    """A function URL event (payload 2.0) fills the request interface, cookies and body scrubbed."""
    body = json.dumps({"card": "4111 1111 1111 1111", "qty": 1}).encode()
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/checkout",
        "rawQueryString": "step=2&token=t0k3n",
        "cookies": ["session=s3cr3t", "lang=en"],
        "headers": {
            "host": "abcdef.lambda-url.us-east-2.on.aws",
            "x-forwarded-proto": "https",
            "content-type": "application/json",
            "x-api-key": "key-material",
        },
        "queryStringParameters": {"step": "2", "token": "t0k3n"},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdef",
            "domainName": "abcdef.lambda-url.us-east-2.on.aws",
            "http": {
                "method": "PUT",
                "path": "/checkout",
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.9",
                "userAgent": "agent",
            },
            "requestId": "id-1",
            "stage": "$default",
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    sent = run_failing(client, receiver, event)
    request = sent["request"]
    assert request["url"] == "https://abcdef.lambda-url.us-east-2.on.aws/checkout"
    assert request["method"] == "PUT"
    assert (
        request["query_string"].startswith("step=2&token=")
        and "t0k3n" not in request["query_string"]
    )
    assert request["cookies"] == {
        "session": "********",
        "lang": "********",
    }  # parsed; values masked without PII
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["x-api-key"] != "key-material"
    assert request["data"]["qty"] == 1 and "4111" not in json.dumps(request["data"])
    assert "env" not in request
    assert sent["contexts"]["aws_event"] == {
        "trigger": "function_url",
        "source": "aws:lambda",
        "ids": ["id-1"],
        "api_id": "abcdef",
    }


def test_source_ip_with_send_default_pii(receiver: Receiver) -> None:
    """With ``send_default_pii`` the caller's address is kept, as ``REMOTE_ADDR``, and cookies unmasked."""
    client = raven_lambda.LambdaClient(
        dsn=receiver.dsn, send_default_pii=True, install_sys_hook=False
    )
    try:
        event = {
            "version": "2.0",
            "rawPath": "/",
            "rawQueryString": "",
            "headers": {"host": "api.example.com"},
            "cookies": ["lang=en"],
            "routeKey": "GET /",
            "requestContext": {
                "http": {"method": "GET", "sourceIp": "198.51.100.9"},
                "domainName": "api.example.com",
                "stage": "$default",
            },
        }
        sent = run_failing(client, receiver, event)
    finally:
        client.close()
    assert sent["request"]["env"] == {"REMOTE_ADDR": "198.51.100.9"}
    assert sent["request"]["cookies"] == {"lang": "en"}
    assert sent["contexts"]["aws_event"]["trigger"] == "api_gateway_v2"
    assert sent["contexts"]["aws_event"]["route_key"] == "GET /"


def test_log_record_and_manual_capture_carry_the_invocation(receiver: Receiver) -> None:
    """An error logged through a SentryHandler and a client.captureMessage() in the handler arrive
    with the same request (the caller's address too, with PII on), user and transaction as the
    handler's exception."""
    client = raven_lambda.LambdaClient(
        dsn=receiver.dsn, send_default_pii=True, install_sys_hook=False
    )
    sentry_handler = SentryHandler(client, level=logging.ERROR)
    view_logger = logging.getLogger("tests.awslambda.view")
    view_logger.addHandler(sentry_handler)

    def handle(event: Any, context: Any) -> Any:
        view_logger.error("order %s could not be priced", 9)
        client.captureMessage("manual capture in the handler")
        raise RuntimeError("unhandled after logging")

    event = {
        "version": "2.0",
        "rawPath": "/orders",
        "rawQueryString": "page=2",
        "headers": {"host": "api.example.com"},
        "cookies": ["theme=dark"],
        "routeKey": "GET /orders",
        "requestContext": {
            "http": {"method": "GET", "sourceIp": "198.51.100.9"},
            "domainName": "api.example.com",
            "stage": "$default",
        },
    }
    try:
        with pytest.raises(RuntimeError):
            raven_lambda.handler(client=client)(handle)(event, lambda_context())
        events = receiver.wait_for(3)
    finally:
        view_logger.removeHandler(sentry_handler)
        client.close()
    by_kind = {("exception" if "exception" in e else e["logentry"]["message"]): e for e in events}
    assert set(by_kind) == {
        "exception",
        "order %s could not be priced",
        "manual capture in the handler",
    }
    unhandled = by_kind["exception"]
    assert unhandled["transaction"] == "in-process"
    assert unhandled["request"]["url"] == "https://api.example.com/orders"
    assert unhandled["request"]["env"] == {"REMOTE_ADDR": "198.51.100.9"}
    assert unhandled["request"]["cookies"] == {"theme": "dark"}
    for sent in events:
        validate_event(sent)
        assert sent["request"] == unhandled["request"]
        assert sent.get("user") == unhandled.get("user")
        assert sent["transaction"] == unhandled["transaction"]
        assert sent["contexts"]["aws_event"] == unhandled["contexts"]["aws_event"]


def sqs_event() -> dict[str, Any]:
    arn = "arn:aws:sqs:us-east-2:123456789012:orders"
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": "rh",
                "body": "{}",
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-2",
                "attributes": {},
            }
            for i in range(3)
        ]
    }


def sns_event() -> dict[str, Any]:
    topic = "arn:aws:sns:us-east-2:123456789012:alerts"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:sub",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "sns-1",
                    "TopicArn": topic,
                    "Subject": None,
                    "Message": "hello",
                    "Timestamp": "2026-01-01T00:00:00.000Z",
                },
            }
        ]
    }


def s3_event() -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-2",
                "eventName": "ObjectCreated:Put",
                "responseElements": {"x-amz-request-id": "req-9"},
                "s3": {
                    "bucket": {"name": "uploads", "arn": "arn:aws:s3:::uploads"},
                    "object": {"key": "a/b.txt", "size": 3},
                },
            }
        ]
    }


def eventbridge_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "eb-1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-2",
        "resources": ["arn:aws:events:us-east-2:123456789012:rule/nightly"],
        "detail": {},
    }


@pytest.mark.parametrize(
    ("make_event", "expected"),
    [
        (
            sqs_event,
            {
                "trigger": "sqs",
                "source": "aws:sqs",
                "count": 3,
                "ids": ["m-0", "m-1", "m-2"],
                "arns": ["arn:aws:sqs:us-east-2:123456789012:orders"],
            },
        ),
        (
            sns_event,
            {
                "trigger": "sns",
                "source": "aws:sns",
                "count": 1,
                "ids": ["sns-1"],
                "arns": ["arn:aws:sns:us-east-2:123456789012:alerts"],
            },
        ),
        (
            s3_event,
            {
                "trigger": "s3",
                "source": "aws:s3",
                "count": 1,
                "event_names": ["ObjectCreated:Put"],
                "ids": ["req-9"],
                "objects": ["s3://uploads/a/b.txt"],
            },
        ),
        (
            eventbridge_event,
            {
                "trigger": "eventbridge",
                "source": "aws.events",
                "detail_type": "Scheduled Event",
                "ids": ["eb-1"],
                "resources": ["arn:aws:events:us-east-2:123456789012:rule/nightly"],
            },
        ),
    ],
)
def test_event_sources(
    client: raven_lambda.LambdaClient,
    receiver: Receiver,
    make_event: Callable[[], dict[str, Any]],
    expected: dict[str, Any],
) -> None:
    """SQS, SNS, S3 and EventBridge events are summarized as their source and ids, not as a request."""
    sent = run_failing(client, receiver, make_event())
    assert sent["contexts"]["aws_event"] == expected
    assert "request" not in sent


# -- tracing ----------------------------------------------------------------------------------
def test_traces_sampler_sees_the_event_and_context(receiver: Receiver) -> None:
    """``traces_sampler`` gets the invocation's event and context (sentry-sdk's ``aws_event`` and
    ``aws_context``); a False decision sends no transaction, and the handler's value still passes."""
    seen: list[dict[str, Any]] = []

    def sampler(sampling_context: dict[str, Any]) -> bool:
        seen.append(sampling_context)
        return sampling_context["aws_event"].get("keep", False)

    client = raven_lambda.LambdaClient(
        dsn=receiver.dsn, traces_sampler=sampler, install_sys_hook=False
    )
    try:
        decorated = raven_lambda.handler(client=client)(lambda event, context: {"statusCode": 500})
        context = lambda_context()
        assert decorated({"keep": False}, context) == {"statusCode": 500}
        assert decorated({"keep": True}, lambda_context()) == {"statusCode": 500}
    finally:
        client.close()
    assert [s["aws_event"] for s in seen] == [{"keep": False}, {"keep": True}]
    assert seen[0]["aws_context"] is context
    assert seen[0]["transaction_context"]["name"] == "in-process"
    assert seen[0]["transaction_context"]["op"] == "function.aws"
    (transaction,) = receiver.wait_for_transactions(1)
    validate_event(transaction)
    assert transaction["contexts"]["trace"]["status"] == "internal_error"
    assert transaction["contexts"]["trace"]["data"]["http.response.status_code"] == 500


@pytest.mark.raven_errors_expected
def test_a_failing_sampler_never_reaches_the_handler(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """A ``traces_sampler`` that raises leaves the invocation untraced; the handler runs as usual."""

    def sampler(sampling_context: dict[str, Any]) -> float:
        raise ZeroDivisionError("bad sampler")

    client = raven_lambda.LambdaClient(
        dsn=receiver.dsn, traces_sampler=sampler, install_sys_hook=False
    )
    try:
        assert (
            raven_lambda.handler(client=client)(lambda e, c: "done")({}, lambda_context()) == "done"
        )
        assert client.flush(5)
    finally:
        client.close()
    assert receiver.transactions == []
    assert any("bad sampler" in (r.exc_text or "") for r in caplog.records)

"""Invocations as transactions, run by AWS's own runtime client against the loopback Runtime API
with ``SENTRY_TRACES_SAMPLE_RATE=1.0``: each arrives before the runtime posts the outcome."""

from __future__ import annotations

from typing import Any

from tests.awslambda.runtime import RuntimeAPI
from tests.awslambda.test_runtime import api_gateway_event, invoke
from tests.receiver import Receiver
from tests.relay import validate_event

TRACE = "771a43a4192642f0b136d5159a501700"
PARENT = "b0e6f15b45c36b12"
BAGGAGE = f"sentry-trace_id={TRACE},sentry-sample_rand=0.250000,sentry-environment=web,other=1"
TRACED = {"SENTRY_TRACES_SAMPLE_RATE": "1.0"}


def function_url_event(query: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
    """A Lambda function URL (payload 2.0) event: lower-case headers, as AWS sends them."""
    domain = "abcdef123.lambda-url.eu-west-1.on.aws"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/orders/42",
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "headers": {"host": domain, "x-forwarded-proto": "https", **headers},
        "queryStringParameters": query,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdef123",
            "domainName": domain,
            "http": {
                "method": "GET",
                "path": "/orders/42",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "0f1e2d3c-0000-4000-8000-000000000001",
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": 1767225600000,
        },
        "isBase64Encoded": False,
    }


def trace_of(transaction: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = transaction["contexts"]["trace"]
    return context


def test_api_gateway_invocations_continue_the_callers_trace(
    runtime: RuntimeAPI, start_function: Any, receiver: Receiver
) -> None:
    """Each invocation is a function.aws transaction named by the function, continuing the
    API Gateway (payload 1.0, header case as sent) request's trace, with the response's status and
    the cold start flag; it is delivered before the runtime posts the response."""
    process = start_function("app.respond", **TRACED)
    event = api_gateway_event()
    event["headers"].update({"Sentry-Trace": f"{TRACE}-{PARENT}-1", "Baggage": BAGGAGE})
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    event["queryStringParameters"] = {"status": "201"}
    first = invoke(runtime, process, event)
    event["queryStringParameters"] = {"status": "404"}
    second = invoke(runtime, process, event)
    assert first.body["statusCode"] == 201 and second.body["statusCode"] == 404

    transactions = receiver.wait_for_transactions(2)
    for transaction in transactions:
        validate_event(transaction)
    one, two = sorted(transactions, key=lambda t: t["event_id"] not in first.seen_at_post)
    assert one["event_id"] in first.seen_at_post and two["event_id"] in second.seen_at_post
    for transaction in (one, two):
        trace = trace_of(transaction)
        assert (trace["trace_id"], trace["parent_span_id"]) == (TRACE, PARENT)
        assert (trace["op"], trace["origin"]) == ("function.aws", "auto.function.aws_lambda")
        assert transaction["transaction"] == "raven-test"
        assert transaction["transaction_info"] == {"source": "component"}
        assert transaction["request"]["method"] == "POST"
        (span,) = transaction["spans"]
        assert (span["op"], span["parent_span_id"]) == ("test.step", trace["span_id"])
    assert (trace_of(one)["status"], trace_of(two)["status"]) == ("ok", "not_found")
    assert trace_of(one)["data"]["http.response.status_code"] == 201
    assert (trace_of(one)["data"]["faas.coldstart"], trace_of(two)["data"]["faas.coldstart"]) == (
        True,
        False,
    )
    assert trace_of(one)["data"]["faas.invocation_id"] == first.request_id
    assert trace_of(one)["span_id"] != trace_of(two)["span_id"]
    assert receiver.events == []


def test_failing_function_url_invocation_links_error_and_transaction(
    runtime: RuntimeAPI, start_function: Any, receiver: Receiver
) -> None:
    """An unhandled error (function URL, lower-case headers) makes the transaction internal_error;
    the error event carries its trace ids; both arrive before the runtime posts the error."""
    process = start_function("app.respond", **TRACED)
    headers = {"sentry-trace": f"{TRACE}-{PARENT}", "baggage": BAGGAGE}
    invocation = invoke(runtime, process, function_url_event({"fail": "1"}, headers))
    assert invocation.outcome == "error" and invocation.body["errorType"] == "LookupError"

    (transaction,) = receiver.wait_for_transactions(1)
    (event,) = receiver.wait_for(1)
    validate_event(transaction)
    validate_event(event)
    assert {transaction["event_id"], event["event_id"]} <= set(invocation.seen_at_post)
    trace = trace_of(transaction)
    assert trace["status"] == "internal_error"
    assert (trace["trace_id"], trace["parent_span_id"]) == (TRACE, PARENT)
    assert event["contexts"]["trace"]["trace_id"] == TRACE
    assert event["contexts"]["trace"]["span_id"] == trace["span_id"]
    assert (
        transaction["request"]["url"] == "https://abcdef123.lambda-url.eu-west-1.on.aws/orders/42"
    )


def test_timed_out_invocation_sends_its_transaction_with_the_warning(
    runtime: RuntimeAPI, start_function: Any, receiver: Receiver
) -> None:
    """At the timeout warning the transaction is finished as deadline_exceeded and delivered:
    Lambda would kill the process before the handler returns."""
    process = start_function("app.slow_traced", **TRACED)
    invocation = invoke(runtime, process, {"order": 9}, timeout_s=1.5)
    assert invocation.outcome == "response"
    (transaction,) = receiver.wait_for_transactions(1)
    (warning,) = receiver.wait_for(1)
    validate_event(transaction)
    assert transaction["event_id"] in invocation.seen_at_post
    assert trace_of(transaction)["status"] == "deadline_exceeded"
    assert [s["description"] for s in transaction["spans"]] == ["before waiting"]
    assert warning["contexts"]["trace"]["span_id"] == trace_of(transaction)["span_id"]


def test_with_tracing_off_errors_carry_the_callers_trace(
    runtime: RuntimeAPI, start_function: Any, receiver: Receiver
) -> None:
    """Tracing off: no transaction, but the invocation's error carries the incoming trace id."""
    process = start_function("app.respond")
    headers = {"sentry-trace": f"{TRACE}-{PARENT}-1"}
    invocation = invoke(runtime, process, function_url_event({"fail": "1"}, headers))
    assert invocation.outcome == "error"
    (event,) = receiver.wait_for(1)
    validate_event(event)
    assert event["event_id"] in invocation.seen_at_post
    assert event["contexts"]["trace"]["trace_id"] == TRACE
    assert event["contexts"]["trace"]["parent_span_id"] == PARENT
    assert receiver.transactions == []

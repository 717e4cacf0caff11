"""An invocation as a transaction: op ``function.aws``, named by the function, continuing the
trace of the headers an HTTP trigger (API Gateway, function URL, ALB) carried in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ORIGIN", "finish_invocation", "start_invocation", "trace_headers_of"]

ORIGIN = "auto.function.aws_lambda"  # sentry-sdk's origin for the same transactions


def trace_headers_of(event: Any) -> Mapping[str, Any] | None:
    """The incoming HTTP headers of an invocation's event, in the case they came in (payload 1.0
    keeps the caller's, 2.0 and function URLs lower-case them), or None."""
    if not isinstance(event, Mapping):
        return None
    headers = event.get("headers")
    if isinstance(headers, Mapping) and headers:
        return headers
    multi = event.get("multiValueHeaders")  # ALB with multi-value headers on: lists only
    if isinstance(multi, Mapping) and multi:
        return multi
    return None


def start_invocation(
    client: Any, event: Any, context: Any, function_name: str, cold_start: bool
) -> Any:
    """Start and activate the invocation's transaction. With tracing off it records nothing, and
    only the incoming trace is kept (the invocation's errors link to it)."""
    transaction = client.start_transaction(
        name=function_name,
        op="function.aws",
        source="component",
        origin=ORIGIN,
        headers=trace_headers_of(event),
        # sentry-sdk's keys, so that a traces_sampler written for it keeps working.
        custom_sampling_context={"aws_event": event, "aws_context": context},
    )
    transaction.activate()
    if transaction.sampled:
        # OpenTelemetry's FaaS attribute names (what Sentry's JavaScript Lambda SDK sends).
        transaction.set_data("faas.coldstart", cold_start)
        request_id = getattr(context, "aws_request_id", None)
        if isinstance(request_id, str) and request_id:
            transaction.set_data("faas.invocation_id", request_id)
    return transaction


def finish_invocation(transaction: Any, result: Any = None, failed: bool = False) -> None:
    """The status from the outcome (an HTTP response's ``statusCode``, or ``ok``), then finish
    (unless the timeout warning already did)."""
    if getattr(transaction, "timestamp", None) is not None:  # NOOP_SPAN has none
        return
    if failed:
        transaction.set_status("internal_error")
    else:
        code = result.get("statusCode") if isinstance(result, Mapping) else None
        if isinstance(code, str) and code.isdigit():
            code = int(code)
        if isinstance(code, int) and not isinstance(code, bool):
            transaction.set_http_status(code)
        else:
            transaction.set_status("ok")
    transaction.finish()

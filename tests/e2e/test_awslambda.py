"""raven-lambda against a real Bugsink: a handler run by AWS's runtime client (awslambdaric)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.awslambda.runtime import RuntimeAPI
from tests.e2e.bugsink import Project
from tests.e2e.servers import REPO
from tests.relay import validate_event

APPS = REPO / "tests" / "e2e" / "apps"
TRACE = "771a43a4192642f0b136d5159a501700"  # the caller's trace, from its sentry-trace header


def api_gateway_event(method: str, order_id: int) -> dict[str, Any]:
    """An API Gateway REST (payload 1.0) request for ``/orders/{order_id}``."""
    return {
        "resource": "/orders/{order_id}",
        "path": f"/orders/{order_id}",
        "httpMethod": method,
        "headers": {
            "Host": "api.shop.example",
            "User-Agent": "e2e-browser/1.0",
            "X-Forwarded-Proto": "https",
            "Sentry-Trace": f"{TRACE}-b0e6f15b45c36b12-1",
        },
        "queryStringParameters": {"reason": "damaged"},
        "pathParameters": {"order_id": str(order_id)},
        "requestContext": {
            "requestId": "req-1",
            "stage": "prod",
            "path": f"/prod/orders/{order_id}",
            "identity": {"sourceIp": "203.0.113.9"},
            "apiId": "abc123",
        },
        "body": None,
        "isBase64Encoded": False,
    }


@pytest.fixture
def runtime(project: Project, tmp_path: Path) -> Iterator[RuntimeAPI]:
    """The Runtime API and a function process polling it; each outcome notes Bugsink's event count."""
    api = RuntimeAPI(on_post=project.digested_count).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "AWS_", "_LAMBDA"))}
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "LAMBDA_TASK_ROOT": str(APPS),
            "PYTHONPATH": os.pathsep.join([str(APPS), str(REPO), env.get("PYTHONPATH", "")]).rstrip(
                os.pathsep
            ),
            "AWS_LAMBDA_FUNCTION_NAME": "orders",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_REGION": "eu-west-1",
            "SENTRY_DSN": project.dsn,
            "SENTRY_RELEASE": "orders-fn@12",
            "SENTRY_ENVIRONMENT": "e2e",
        }
    )
    log = tmp_path / "function.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", "lambda_orders.handle"],
            env=env,
            cwd=APPS,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield api
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        api.stop()


def test_handler_error_is_in_bugsink_before_the_runtime_hears_of_it(
    runtime: RuntimeAPI, project: Project
) -> None:
    """A raising handler's event is stored before the error is posted (when Lambda would freeze the process)."""
    invocation = runtime.invoke(api_gateway_event("DELETE", 42), timeout_s=30).wait(30)
    assert invocation.outcome == "error"
    assert invocation.body["errorType"] == "ArithmeticError"
    assert (
        invocation.seen_at_post == 1
    )  # already digested by Bugsink when the runtime posted the error

    (event,) = project.events()
    data = event["data"]
    validate_event(data)
    (issue,) = project.issues()
    assert (issue["calculated_type"], issue["calculated_value"]) == (
        "ArithmeticError",
        "refund for order 42 would overdraw the ledger (-12.5)",
    )
    frame = data["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["function"] == "handle" and frame["module"] == "lambda_orders"
    assert frame["vars"]["order_id"] == 42 and frame["vars"]["ledger"] == {
        "order": 42,
        "balance": -12.5,
    }
    assert data["request"]["url"] == "https://api.shop.example/prod/orders/42"
    assert data["request"]["method"] == "DELETE"
    assert data["request"]["query_string"] == "reason=damaged"
    assert data["contexts"]["aws_lambda"]["function_name"] == "orders"
    assert data["contexts"]["aws_lambda"]["aws_request_id"] == invocation.request_id
    assert any(c.get("message") == "refunding order 42" for c in data["breadcrumbs"]["values"])
    assert (data["release"], data["environment"]) == ("orders-fn@12", "e2e")
    assert data["contexts"]["trace"]["trace_id"] == TRACE  # tracing off: the error still links


def test_warm_invocations_group_and_successes_send_nothing(
    runtime: RuntimeAPI, project: Project
) -> None:
    """Three failing refunds in one warm process are one issue; a successful invocation adds nothing."""
    ok = runtime.invoke(api_gateway_event("GET", 7), timeout_s=30).wait(30)
    assert ok.outcome == "response" and ok.body == {"statusCode": 200, "body": "order 7 ok"}
    for order_id in (1, 2, 3):
        failed = runtime.invoke(api_gateway_event("DELETE", order_id), timeout_s=30).wait(30)
        assert failed.outcome == "error"
        assert failed.seen_at_post == order_id
    (issue,) = project.issues()
    assert issue["digested_event_count"] == 3

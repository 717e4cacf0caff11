"""Fixtures for raven-lambda: a loopback Lambda Runtime API and a function process run by AWS's
runtime client (``python -m awslambdaric``) that reports to the test's receiver."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.awslambda.delivery import DeliveryLog
from tests.awslambda.runtime import RuntimeAPI
from tests.receiver import Receiver

FUNCTIONS = Path(__file__).parent / "functions"
FUNCTION_NAME = "raven-test"
INTERNAL_ERROR_MARKER = "RAVEN-INTERNAL-ERROR"  # written by functions/app.py


@pytest.fixture
def delivery(receiver: Receiver) -> Iterator[DeliveryLog]:
    """The function's DSN: a pass-through to the receiver that notes which events it answered."""
    log = DeliveryLog(receiver.port).start()
    yield log
    log.stop()


@pytest.fixture
def runtime(delivery: DeliveryLog) -> Iterator[RuntimeAPI]:
    """The Runtime API; each invocation keeps the ids of the events the receiver had answered for
    when the runtime posted its outcome (``Invocation.seen_at_post``)."""
    api = RuntimeAPI(on_post=delivery.answered).start()
    yield api
    api.stop()


@pytest.fixture
def start_function(
    runtime: RuntimeAPI, delivery: DeliveryLog, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """``start_function("app.raising", **env)`` runs that handler in a new runtime process."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(handler: str, **extra_env: str) -> subprocess.Popen[bytes]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "AWS_", "_LAMBDA"))
        }
        env.update(
            {
                "AWS_LAMBDA_RUNTIME_API": runtime.address,
                "LAMBDA_TASK_ROOT": str(FUNCTIONS),
                "PYTHONPATH": os.pathsep.join([str(FUNCTIONS), env.get("PYTHONPATH", "")]).rstrip(
                    os.pathsep
                ),
                "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{FUNCTION_NAME}",
                "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef",
                "AWS_REGION": "eu-west-1",
                "SENTRY_DSN": delivery.dsn(),
                **extra_env,
            }
        )
        log = tmp_path / f"function-{len(started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "awslambdaric", handler],
                env=env,
                cwd=FUNCTIONS,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append((process, log))
        return process

    yield start

    problems = []
    for process, log in started:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output = log.read_text(errors="replace")
        print(f"--- {log.name} ---\n{output}")
        if INTERNAL_ERROR_MARKER in output:
            problems.append(output)
    if problems:
        pytest.fail(
            "Raven swallowed internal errors in the function process:\n" + "\n".join(problems)
        )

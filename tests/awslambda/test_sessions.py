"""Release health on Lambda: each invocation run by AWS's runtime client is one session, sent
before the runtime is told the outcome."""

from __future__ import annotations

from typing import Any

from tests.awslambda.runtime import RuntimeAPI
from tests.awslambda.test_runtime import invoke
from tests.receiver import Receiver
from tests.sessions import check_session


def test_each_invocation_sends_its_session(
    runtime: RuntimeAPI, start_function: Any, receiver: Receiver
) -> None:
    """Two failing invocations of one warm process send one crashed session each (distinct
    sids, one error each), delivered before the outcome is posted; no process session."""
    process = start_function("app.raising")
    for number in (1, 2):
        invocation = invoke(runtime, process, {"order": 7})
        assert invocation.outcome == "error"
        assert len(receiver.sessions) == number  # flushed before the outcome was posted
    first, second = receiver.sessions
    for session in (first, second):
        check_session(session, "app@1.0.0")
        assert (session["status"], session["errors"]) == ("crashed", 1)
    assert first["sid"] != second["sid"]
    assert len(receiver.sessions) == 2 and receiver.session_aggregates == []


def test_a_returning_invocation_exits(
    runtime: RuntimeAPI, start_function: Any, receiver: Receiver
) -> None:
    """A handler that returns sends one exited session without errors."""
    process = start_function("app.returning", SENTRY_RELEASE="fn@2")
    invocation = invoke(runtime, process, {"order": 7})
    assert invocation.outcome == "response"
    (session,) = receiver.sessions  # flushed before the outcome was posted
    check_session(session, "fn@2")
    assert (session["status"], session["errors"]) == ("exited", 0)

"""``raven.guard.capture_internal_errors``: Raven's own failures are logged on ``raven.<area>``
and swallowed, never raised into the application."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from raven.guard import capture_internal_errors

pytestmark = pytest.mark.raven_errors_expected


def test_context_manager_swallows_and_logs_on_the_area_logger(raven_internal_errors: Any) -> None:
    """An exception inside the block is logged once, with its traceback, and execution goes on."""
    with capture_internal_errors("flask", "reading the request"):
        raise ValueError("bad header")
    (record,) = raven_internal_errors.records
    assert record.name == "raven.flask"
    assert record.getMessage() == "raven.flask: reading the request failed"
    assert isinstance(record.exc_info[1], ValueError)


def test_decorator_returns_none_when_the_function_fails(raven_internal_errors: Any) -> None:
    """A guarded function that raises returns None; one that works returns its result."""

    @capture_internal_errors("celery")
    def receiver(fail: bool) -> str:
        if fail:
            raise KeyError("task")
        return "done"

    assert receiver(False) == "done"
    assert receiver(True) is None
    (record,) = raven_internal_errors.records
    assert record.name == "raven.celery" and "receiver failed" in record.getMessage()


def test_decorator_guards_coroutine_functions(raven_internal_errors: Any) -> None:
    """``async def`` functions stay coroutine functions and are guarded while awaited."""

    @capture_internal_errors("sanic", "a hook")
    async def hook() -> None:
        raise RuntimeError("in the hook")

    assert asyncio.iscoroutinefunction(hook)
    assert asyncio.run(hook()) is None
    (record,) = raven_internal_errors.records
    assert record.getMessage() == "raven.sanic: a hook failed"


def test_base_exceptions_pass_through(raven_internal_errors: Any) -> None:
    """KeyboardInterrupt, SystemExit and cancellation are not Raven's to swallow."""
    with pytest.raises(KeyboardInterrupt), capture_internal_errors("client", "waiting"):
        raise KeyboardInterrupt
    with pytest.raises(asyncio.CancelledError), capture_internal_errors("client", "waiting"):
        raise asyncio.CancelledError
    assert raven_internal_errors.records == []


def test_a_broken_raven_log_handler_does_not_raise(raven_internal_errors: Any) -> None:
    """Even when a handler on the ``raven`` logger fails, the guard raises nothing."""
    import logging

    class Broken(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise OSError("disk full")

        def handleError(self, record: logging.LogRecord) -> None:
            raise OSError("still full")

    broken = Broken()
    logging.getLogger("raven").addHandler(broken)
    try:
        with capture_internal_errors("transport", "sending"):
            raise ValueError("x")
    finally:
        logging.getLogger("raven").removeHandler(broken)

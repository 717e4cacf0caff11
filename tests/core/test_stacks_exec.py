"""Frames of code compiled from a string under a bare name in a library module's globals (what
Sanic's TouchUp does to ``handle_request``): not in-app, and never the module file's lines."""

from __future__ import annotations

import json
import linecache
import sys
import traceback
from typing import Any

from .conftest import Harness

SOURCE = "def touched(fail):\n    x = 1\n    fail()\n"


def _touched_function(filename: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(SOURCE, filename, "exec"), dict(vars(json)), namespace)  # json: a stdlib module
    return namespace["touched"]


def _fail() -> None:
    raise ValueError("in touched code")


def _touched_frame(event: dict[str, Any]) -> dict[str, Any]:
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    (frame,) = [f for f in frames if f["function"] == "touched"]
    return dict(frame)


def test_exec_code_is_not_in_app_and_shows_no_lines_of_the_module(sentry: Harness) -> None:
    """Even after a traceback cached the module's lines under that name, the frame shows none
    of them, and counts as the library's, not the app's."""
    client = sentry.client()
    touched = _touched_function("raven_test_touched")
    try:
        touched(_fail)
    except ValueError:
        traceback.format_exception(*sys.exc_info())  # caches json's source as "raven_test_touched"
        client.captureException()
    frame = _touched_frame(sentry.event())
    assert frame["module"] == "json" and frame["in_app"] is False
    assert "context_line" not in frame


def test_exec_code_with_registered_source_shows_it(sentry: Harness) -> None:
    """Source registered in linecache under the compiled name is the frame's context."""
    client = sentry.client()
    name = "raven_test_touched_registered"
    linecache.cache[name] = (len(SOURCE), None, SOURCE.splitlines(True), name)
    try:
        _touched_function(name)(_fail)
    except ValueError:
        client.captureException()
    finally:
        linecache.cache.pop(name, None)
    frame = _touched_frame(sentry.event())
    assert frame["in_app"] is False
    assert frame["context_line"] == "    fail()" and frame["pre_context"][-1] == "    x = 1"

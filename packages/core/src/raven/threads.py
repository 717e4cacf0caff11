"""The ``"threads"`` hook: work handed to another thread keeps the context it was handed over in.

A thread starts with empty ``contextvars``, so tags, user and request data set in a request
would be missing from an error captured in a thread the request started, or in a job it handed
to a ``ThreadPoolExecutor``. While this hook is held (``propagate_context_to_threads``, on by
default, as sentry-sdk's threading integration):

- ``threading.Thread.start`` makes the new thread start with a copy of the starting thread's
  context (so an uncaught error in it, reported by the excepthook, carries that data too);
- ``ThreadPoolExecutor.submit`` (and so ``map`` and asyncio's ``run_in_executor``) runs each job
  in a copy of the submitter's context, since the pool's worker threads outlive the request
  that started them.

A copy, not the context itself: what the thread or job changes stays there, so two requests
never see each other's data. The hook is reference-counted through :mod:`raven.hooks`; the last
client's ``close()`` restores both methods.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

from . import hooks

__all__: list[str] = []

_originals: dict[str, Any] = {}


def _install() -> None:
    original_start = _originals["start"] = threading.Thread.start

    def start(self: threading.Thread) -> None:
        # A thread given a context of its own (Python 3.14's ``context=``) keeps it.
        if getattr(self, "_context", None) is None:
            self.run = _in_context(contextvars.copy_context(), self, self.run)  # type: ignore[method-assign]
        original_start(self)

    start.__wrapped__ = original_start  # type: ignore[attr-defined]
    threading.Thread.start = start  # type: ignore[method-assign]
    # concurrent.futures costs ``import raven`` 5 ms: patched when the app imports it.
    hooks.when_imported(
        "concurrent.futures.thread", _patch_executor, lambda: hooks.is_installed("threads")
    )


def _patch_executor(module: Any) -> None:
    executor = module.ThreadPoolExecutor
    if "submit" in _originals:
        return
    original_submit = _originals["submit"] = executor.submit

    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return original_submit(self, contextvars.copy_context().run, fn, *args, **kwargs)

    submit.__wrapped__ = original_submit  # type: ignore[attr-defined]
    executor.submit = submit


def _uninstall() -> None:
    hooks.cancel_when_imported("concurrent.futures.thread")
    # Restore only what is still ours: a patch laid over ours since keeps its place.
    start: Any = _originals.get("start")
    submit: Any = _originals.get("submit")
    if start is not None and threading.Thread.start.__dict__.get("__wrapped__") is start:
        threading.Thread.start = start  # type: ignore[method-assign,assignment]
    if submit is not None:
        from concurrent.futures.thread import ThreadPoolExecutor

        if ThreadPoolExecutor.submit.__dict__.get("__wrapped__") is submit:
            ThreadPoolExecutor.submit = submit  # type: ignore[method-assign,assignment]
    _originals.clear()


def _in_context(
    context: contextvars.Context, thread: threading.Thread, run: Callable[[], Any]
) -> Callable[[], Any]:
    def run_in_context() -> Any:
        if thread.__dict__.get("run") is run_in_context:
            del thread.__dict__["run"]  # the starter's data lives as long as the thread, no longer
        # Set in the thread's own context rather than run inside ``context.run``: the
        # excepthook that reports an uncaught error runs after ``run`` and must see them too.
        for var, value in context.items():
            var.set(value)
        return run()

    return run_in_context


hooks.register("threads", _install, _uninstall)

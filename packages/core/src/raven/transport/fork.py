"""Forking safely with the background sender running, and the imports that sending needs.

Raven's threads import what sending needs once per process, under a lock that the forking thread
also holds around ``fork()``: a thread that dies in the fork while importing would leave that
module's import lock held forever in the child (gunicorn --preload and Celery prefork fork right
after the app starts). In the child, every live transport starts over with fresh locks and no
threads.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from typing import TYPE_CHECKING

from ..guard import capture_internal_errors

if TYPE_CHECKING:
    from .threaded import ThreadedTransport

__all__ = ["import_sending_modules", "track", "warm_up"]

_live: weakref.WeakSet[ThreadedTransport] = weakref.WeakSet()
# Held while Raven's threads import what sending needs, and by the forking thread around fork().
_import_guard = threading.Lock()
_imports_done = False
_guard_taken_for_fork = False
_hooks_registered = False


def track(transport: ThreadedTransport) -> None:
    """Reset ``transport`` in a forked child (held weakly; the at-fork hooks are set once)."""
    global _hooks_registered
    _live.add(transport)
    if not _hooks_registered:
        _hooks_registered = True
        os.register_at_fork(
            before=_before_fork,
            after_in_parent=_after_fork_in_parent,
            after_in_child=_after_fork_in_child,
        )


def import_sending_modules() -> None:
    """Import requests, json, gzip, copy and the processors, and list installed packages, once
    per process."""
    global _imports_done
    if _imports_done:
        return
    with _import_guard:
        if _imports_done:
            return
        import copy  # noqa: F401
        import gzip  # noqa: F401
        import json  # noqa: F401

        import requests  # noqa: F401

        from .. import processors  # noqa: F401  (the default scrubber, loaded with the first event)
        from ..versioning import get_module_versions

        get_module_versions()
        _imports_done = True


# How long after the first client the background imports start.
WARM_UP_DELAY = 0.5
# At exit: how long to wait for imports in progress (a daemon thread still importing while the
# interpreter finalizes can crash it).
WARM_UP_EXIT_TIMEOUT = 2.0
_exiting = threading.Event()
_warm_up_thread: threading.Thread | None = None


def warm_up() -> None:
    """Do the imports in the background, shortly after the first client exists.

    Left to the first event, they would compete for the GIL with an app that may be busy capturing
    a burst: every file read would wait out a 5 ms switch interval, and the first events would
    sit in the queue for seconds. Started at once, they would compete with the app's own start-up
    (and a script that ends at once would wait for them at exit). The encoder imports them itself
    when an event comes first.
    """
    global _warm_up_thread
    if _imports_done or _warm_up_thread is not None:
        return
    _warm_up_thread = threading.Thread(target=_safe_imports, name="raven-warm-up", daemon=True)
    _warm_up_thread.start()
    atexit.register(_end_warm_up)


def _safe_imports() -> None:
    if _exiting.wait(WARM_UP_DELAY):
        return  # the process is exiting: nothing to warm up for
    with capture_internal_errors("transport", "importing what sending needs"):
        import_sending_modules()


def _end_warm_up() -> None:
    """At exit: cancel a warm-up not yet started, or let one in progress finish its imports."""
    _exiting.set()
    thread = _warm_up_thread
    if thread is not None and thread is not threading.current_thread():
        thread.join(WARM_UP_EXIT_TIMEOUT)


def _before_fork() -> None:
    global _guard_taken_for_fork
    _guard_taken_for_fork = _import_guard.acquire(timeout=10)


def _after_fork_in_parent() -> None:
    global _guard_taken_for_fork
    if _guard_taken_for_fork:
        _guard_taken_for_fork = False
        _import_guard.release()


def _after_fork_in_child() -> None:
    global _import_guard, _guard_taken_for_fork, _warm_up_thread
    _import_guard = threading.Lock()
    _guard_taken_for_fork = False
    _warm_up_thread = None  # the parent's warm-up thread does not exist here
    for transport in list(_live):
        transport.rate_limits._lock = threading.RLock()
        transport.reports.after_fork()
        transport._reset_state()

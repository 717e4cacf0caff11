"""Forking safely with the background sender running, and the imports that sending needs.

Raven's threads import what sending needs once per process, under a lock that the forking thread
also holds around ``fork()``: a thread that dies in the fork while importing would leave that
module's import lock held forever in the child (gunicorn --preload and Celery prefork fork right
after the app starts). In the child, every live transport starts over with fresh locks and no
threads.
"""

from __future__ import annotations

import os
import threading
import time
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
_warm_up_started = False


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


def warm_up() -> None:
    """Do the imports in the background, shortly after the first client exists.

    Left to the first event, they would compete for the GIL with an app that may be busy capturing
    a burst: every file read would wait out a 5 ms switch interval, and the first events would
    sit in the queue for seconds. Started at once, they would compete with the app's own start-up
    (and a script that ends at once would wait for them at exit). The encoder imports them itself
    when an event comes first.
    """
    global _warm_up_started
    if not _imports_done and not _warm_up_started:
        _warm_up_started = True
        threading.Thread(target=_safe_imports, name="raven-warm-up", daemon=True).start()


def _safe_imports() -> None:
    time.sleep(WARM_UP_DELAY)
    with capture_internal_errors("transport", "importing what sending needs"):
        import_sending_modules()


def _before_fork() -> None:
    global _guard_taken_for_fork
    _guard_taken_for_fork = _import_guard.acquire(timeout=10)


def _after_fork_in_parent() -> None:
    global _guard_taken_for_fork
    if _guard_taken_for_fork:
        _guard_taken_for_fork = False
        _import_guard.release()


def _after_fork_in_child() -> None:
    global _import_guard, _guard_taken_for_fork, _warm_up_started
    _import_guard = threading.Lock()
    _guard_taken_for_fork = False
    _warm_up_started = False  # the parent's warm-up thread does not exist here
    for transport in list(_live):
        transport.rate_limits._lock = threading.RLock()
        transport.reports.after_fork()
        transport._reset_state()

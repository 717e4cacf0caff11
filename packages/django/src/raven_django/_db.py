"""Queries Raven itself makes while building an event (loading ``request.user``, the current site).

They never run from async code (Django forbids it there), and inside the application's ``atomic``
blocks they run in a savepoint: a failing lookup (a missing table, say) is rolled back alone and
cannot break the application's transaction.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar

__all__ = ["guarded_queries", "in_raven_queries"]

# True while Raven runs its own lookups: they are not the application's, so they leave no breadcrumb.
in_raven_queries: ContextVar[bool] = ContextVar("raven_django.in_raven_queries", default=False)


@contextmanager
def guarded_queries() -> Iterator[bool]:
    """Yields whether Raven may query here; errors inside propagate after the savepoint rollback."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        if not os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE"):
            yield False
            return
    from django.db import connections, transaction

    token = in_raven_queries.set(True)
    try:
        with ExitStack() as stack:
            for connection in connections.all(initialized_only=True):
                if connection.in_atomic_block and not connection.needs_rollback:
                    stack.enter_context(transaction.atomic(using=connection.alias))
            yield True
    finally:
        in_raven_queries.reset(token)

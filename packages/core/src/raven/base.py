"""raven-python's ``raven.base``: ``Client`` and ``DummyClient``; use ``raven.Client``.

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "Client": "raven:Client",
    "DummyClient": "raven._dummy_client:DummyClient",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED)

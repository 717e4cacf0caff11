"""raven-python's ``raven.utils.serializer`` (Raven's own: ``raven.serializer``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "Serializer": "raven.serializer:Serializer",
    "transform": "raven.serializer:transform",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED)

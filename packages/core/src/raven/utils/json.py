"""raven-python's ``raven.utils.json``.

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "dumps": "raven._legacy_utils:dumps",
    "loads": "raven._legacy_utils:loads",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED)

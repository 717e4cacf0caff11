"""raven-python's ``raven.utils.encoding``.

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "force_text": "raven._legacy_utils:force_text",
    "to_string": "raven._legacy_utils:to_string",
    "to_unicode": "raven._legacy_utils:to_string",
    "transform": "raven.serializer:transform",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED)

"""raven-python's ``raven.utils.urlparse`` (Raven's own: ``urllib.parse``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "parse_qsl": "urllib.parse:parse_qsl",
    "urlparse": "urllib.parse:urlparse",
    "urlsplit": "urllib.parse:urlsplit",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED)

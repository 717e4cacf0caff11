"""raven-python's ``raven.contrib.tornado``, now ``raven_tornado`` (``pip install raven-tornado``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "AsyncSentryClient": "raven_tornado:AsyncSentryClient",
    "SentryMixin": "raven_tornado:SentryMixin",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED, install="raven-tornado")

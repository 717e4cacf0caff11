"""raven-python's ``raven.contrib.django.handlers``, now ``raven_django.handlers`` (``pip install raven-django``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "SentryHandler": "raven_django.handlers:SentryHandler",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED, install="raven-django")

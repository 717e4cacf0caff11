"""raven-python's ``raven.contrib.django.middleware.wsgi``, now ``raven_django.middleware.wsgi`` (``pip install raven-django``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "Sentry": "raven_django.middleware.wsgi:Sentry",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED, install="raven-django")

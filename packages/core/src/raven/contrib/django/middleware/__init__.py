"""raven-python's ``raven.contrib.django.middleware``, now ``raven_django.middleware`` (``pip install raven-django``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "DjangoRestFrameworkCompatMiddleware": "raven_django.middleware:DjangoRestFrameworkCompatMiddleware",
    "Sentry404CatchMiddleware": "raven_django.middleware:Sentry404CatchMiddleware",
    "SentryLogMiddleware": "raven_django.compat:SentryMiddleware",
    "SentryMiddleware": "raven_django.compat:SentryMiddleware",
    "SentryResponseErrorIdMiddleware": "raven_django.middleware:SentryResponseErrorIdMiddleware",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED, install="raven-django")

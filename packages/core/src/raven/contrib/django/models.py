"""raven-python's ``raven.contrib.django.models``, now ``raven_django.models`` (``pip install raven-django``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "ProxyClient": "raven_django.models:ProxyClient",
    "SentryDjangoHandler": "raven_django.compat:SentryDjangoHandler",
    "client": "raven_django.models:client",
    "get_client": "raven_django.models:get_client",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED, install="raven-django")

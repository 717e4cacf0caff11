"""raven-python's ``raven.contrib.django.raven_compat``, now ``raven_django`` (``pip install raven-django``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "DjangoClient": "raven_django:DjangoClient",
    "get_client": "raven_django:get_client",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED, install="raven-django")

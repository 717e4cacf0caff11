"""raven-python's ``raven.contrib.sanic``, now ``raven_sanic`` (``pip install raven-sanic``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "Sentry": "raven_sanic:Sentry",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED, install="raven-sanic")

"""raven-python's ``raven.conf.remote`` (Raven's own: ``raven.Dsn``, ``client.dsn``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "RemoteConfig": "raven._remote:RemoteConfig",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED, instead={"RemoteConfig": "raven.Dsn"})

"""raven-python's ``raven.contrib.flask``, now ``raven_flask`` (``pip install raven-flask``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "Sentry": "raven_flask.compat:Sentry",
    "logging_configured": "raven_flask.compat:logging_configured",
    "make_client": "raven_flask.compat:make_client",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED, install="raven-flask")

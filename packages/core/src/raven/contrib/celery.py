"""raven-python's ``raven.contrib.celery``, now ``raven_celery`` (``pip install raven-celery``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "CeleryFilter": "raven_celery:CeleryFilter",
    "SentryCeleryHandler": "raven_celery:SentryCeleryHandler",
    "register_logger_signal": "raven_celery:register_logger_signal",
    "register_signal": "raven_celery:register_signal",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED, install="raven-celery")

"""raven-python's ``raven.contrib.awslambda``, now ``raven_lambda`` (``pip install raven-lambda``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "LambdaClient": "raven_lambda:LambdaClient",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED, install="raven-lambda")

"""raven-python's ``raven.utils.wsgi`` (Raven's own: ``raven.httpdata``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "get_client_ip": "raven.httpdata:client_ip",
    "get_current_url": "raven._legacy_utils:get_current_url",
    "get_environ": "raven._legacy_utils:get_environ",
    "get_headers": "raven._legacy_utils:get_headers",
    "get_host": "raven.httpdata:get_host_from_environ",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED)

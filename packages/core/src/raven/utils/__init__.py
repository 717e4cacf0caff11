"""raven-python's ``raven.utils``.

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "get_auth_header": "raven._legacy_utils:get_auth_header",
    "get_versions": "raven.versioning:get_module_versions",
    "merge_dicts": "raven._legacy_utils:merge_dicts",
    "varmap": "raven._legacy_utils:varmap",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED)

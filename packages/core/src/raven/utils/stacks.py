"""raven-python's ``raven.utils.stacks`` (Raven's own: ``raven.stacks``).

Each name resolves lazily on first use, with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from raven._deprecated import moved_names

_MOVED = {
    "get_stack_info": "raven._legacy_utils:get_stack_info",
    "iter_stack_frames": "raven._legacy_utils:iter_stack_frames",
    "iter_traceback_frames": "raven.stacks:iter_traceback_frames",
}
__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED)

"""Source lines for the methods Sanic recompiles when an app starts ("TouchUp").

Sanic rewrites some of its own methods (``Sanic.handle_request``, ...) at start-up: it compiles
their source again with the method's bare name as the file name. Their frames then point at a
"file" named ``handle_request``, for which ``linecache`` (so every traceback, and Raven) has no
lines, or the lines of ``sanic/app.py`` from the wrong place. Registering the source that was
compiled under that name gives those frames their own lines.
"""

from __future__ import annotations

import inspect
import linecache
import textwrap
from typing import Any

__all__ = ["register_touchup_sources"]


def register_touchup_sources() -> None:
    """Put the source of each method Sanic recompiles in ``linecache`` under its compiled name.

    Best effort: TouchUp is Sanic's internal, so a Sanic without it leaves frames as they are.
    """
    try:
        from sanic.touchup.service import TouchUp
    except ImportError:
        return
    for target, name in list(getattr(TouchUp, "_registry", ())):
        # In test mode Sanic keeps the original as ``_name``; before the first start it is ``name``.
        original: Any = getattr(target, f"_{name}", None)
        if original is None and not getattr(target, "__touched__", False):
            original = getattr(target, name, None)
        if original is None:
            continue  # recompiled already and the original is gone: keep what was registered
        try:
            source = textwrap.dedent(inspect.getsource(original))
        except (OSError, TypeError):
            continue
        # The same name and text Sanic compiles (BaseScheme.build): the line numbers match.
        filename = original.__name__
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)

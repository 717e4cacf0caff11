"""The Sentry ``template`` interface (template name, line, source context) for errors raised while
Django compiled or rendered a template.

Django attaches ``template_debug`` to such exceptions only when the engine runs in debug mode, so
this reads the traceback instead: the innermost frame of a template ``Node`` (rendering) or of the
``Parser`` (compiling) knows its template's origin and token line in every mode.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

__all__ = ["template_info"]


def template_info(exc: BaseException, context_lines: int = 5) -> dict[str, Any] | None:
    """The template frame for ``exc``, or None when no template was involved."""
    from django.template.base import Node, Parser, Template

    origin: Any = None
    lineno: int | None = None
    source: str | None = None
    templates: list[Any] = []
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if isinstance(owner, Node) and getattr(owner, "origin", None) is not None:
            token = getattr(owner, "token", None)
            if token is not None and getattr(token, "lineno", None):
                origin, lineno = owner.origin, token.lineno
        elif isinstance(owner, Parser) and getattr(owner, "origin", None) is not None:
            token = getattr(exc, "token", None)
            if token is not None and getattr(token, "lineno", None):
                origin, lineno = owner.origin, token.lineno
        elif isinstance(owner, Template):
            templates.append(owner)
        tb = tb.tb_next
    if origin is None or lineno is None:
        return _from_template_debug(exc, context_lines)
    for template in reversed(templates):
        if template.origin == origin:
            source = template.source
            break
    if source is None:
        source = _read_source(origin)
    info: dict[str, Any] = {
        "filename": str(origin.template_name or origin.name),
        "abs_path": str(origin.name),
        "lineno": int(lineno),
    }
    if source is not None:
        info.update(_context(source.splitlines(), lineno, context_lines))
    return info


def _read_source(origin: Any) -> str | None:
    loader = getattr(origin, "loader", None)
    if loader is None:
        return None
    try:
        return str(loader.get_contents(origin))
    except Exception:
        return None


def _context(lines: list[str], lineno: int, context_lines: int) -> dict[str, Any]:
    index = lineno - 1
    if not 0 <= index < len(lines):
        return {}
    return {
        "pre_context": lines[max(0, index - context_lines) : index],
        "context_line": lines[index],
        "post_context": lines[index + 1 : index + 1 + context_lines],
    }


def _from_template_debug(exc: BaseException, context_lines: int) -> dict[str, Any] | None:
    debug = getattr(exc, "template_debug", None)
    if not isinstance(debug, dict) or not debug.get("line"):
        return None
    lineno = int(debug["line"])
    lines = [text for _, text in debug.get("source_lines") or ()]
    first = (debug.get("source_lines") or [(1, "")])[0][0]
    info: dict[str, Any] = {
        "filename": str(debug.get("name")),
        "abs_path": str(debug.get("name")),
        "lineno": lineno,
    }
    if lines:
        shifted = _context(lines, lineno - first + 1, context_lines)
        info.update(shifted)
    return info

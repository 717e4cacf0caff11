"""The transaction name of a Django request: its URL pattern, or its view's dotted name.

``transaction_style="url"`` (the default, as in raven-python 6.10 and sentry-sdk) names a request
by the pattern it resolved to, the same for every value of its parameters: a ``path()`` route as
Django writes it (``/polls/<int:question_id>/``), a regular expression simplified the way
raven-python and sentry-sdk's ``url`` style show it (``^polls/(?P<question_id>\\d+)/$`` ->
``/polls/{question_id}/``), the prefixes of ``include()`` joined in front (source ``route``).
``transaction_style="function_name"`` names it by the view's dotted path (source ``component``).
A request that resolved to nothing (a 404, or an error before resolution) is named by its path
(source ``url``).
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["TRANSACTION_STYLES", "simplify_route", "transaction_for"]

TRANSACTION_STYLES = ("url", "function_name")

_OPTIONAL_GROUP = re.compile(r"\(\?:([^)]+)\)\??")
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]+\)+")
_UNNAMED_GROUP = re.compile(r"\([^)]+\)")
_EITHER = re.compile(r"\[([^\]|]+)\|[^\]]+\]")
_REGEX_LEFTOVERS = str.maketrans("", "", "^$?\\")


@functools.lru_cache(maxsize=1024)  # one entry per pattern of the URLconf
def simplify_route(route: str) -> str:
    """``/``-rooted, readable form of a resolved route (``ResolverMatch.route``)."""
    if any(char in route for char in "^$()[?\\"):  # a regular expression somewhere
        route = _OPTIONAL_GROUP.sub(r"\1", route)
        route = _NAMED_GROUP.sub(r"{\1}", route)
        route = _UNNAMED_GROUP.sub("{var}", route)
        route = _EITHER.sub(r"\1", route)
        route = route.translate(_REGEX_LEFTOVERS)
        while "//" in route:
            route = route.replace("//", "/")
    return route if route.startswith("/") else f"/{route}"


def view_path(func: Any) -> str:
    """``module.qualname`` of a view (its class for a class-based view)."""
    view = getattr(func, "view_class", None) or func
    view = getattr(view, "func", view)  # functools.partial
    module = getattr(view, "__module__", None)
    name = getattr(view, "__qualname__", None) or getattr(view, "__name__", None)
    if name is None:
        view = type(view)
        module, name = view.__module__, view.__qualname__
    return f"{module}.{name}" if module else str(name)


def transaction_for(request: Any, style: str = "url") -> tuple[str, str] | None:
    """(name, source) of ``request``; None when it has no path either."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        if style == "function_name":
            return view_path(match.func), "component"
        route = getattr(match, "route", None)
        if route is not None:
            return simplify_route(str(route)), "route"
    path = getattr(request, "path_info", None) or getattr(request, "path", None)
    return (str(path), "url") if path else None

"""Representations of Django's lazy objects that never evaluate them.

The repr of a ``QuerySet`` runs its query, a lazy string (``gettext_lazy``, ``reverse_lazy``)
calls its function, and an unevaluated ``SimpleLazyObject`` (``request.user``) is evaluated by a
mere ``isinstance``. Building an event must not do any of that: on a failing database, or inside
a transaction that is already broken, it is another error. Registered with raven-core's
:func:`raven.serializer.register_repr` while the app's receivers are installed.
"""

from __future__ import annotations

from typing import Any

from django.db.models.query import QuerySet
from django.utils.functional import LazyObject, Promise, empty
from raven.serializer import register_repr, safe_repr, unregister_repr

__all__ = ["install", "uninstall"]


def queryset_repr(value: Any) -> str:
    """``<QuerySet: model=app.Model>``, with the row count only if it was already fetched."""
    name = type(value).__name__
    model = value.model
    if model is None:
        return f"<{name}: (unbound)>"
    cached = value.__dict__.get("_result_cache")
    rows = f", {len(cached)} rows fetched" if isinstance(cached, list) else ""
    return f"<{name}: model={model._meta.label}{rows}>"


def promise_repr(value: Any, depth: int = 0) -> str:
    """``<lazy gettext('Hello')>``: the function and arguments, read from the proxy's pickle
    recipe (``__reduce__``), which does not evaluate it."""
    try:
        _, (func, args, kwargs, *_) = value.__reduce__()
        name = getattr(func, "__name__", None) or "?"
        parts = [_argument(a, depth) for a in args]
        parts += [f"{key}={_argument(a, depth)}" for key, a in kwargs.items()]
        return f"<lazy {name}({', '.join(parts)})>"
    except Exception:
        return "<lazy object>"


def _argument(value: Any, depth: int) -> str:
    if isinstance(value, Promise):  # nested lazy values stay lazy too
        return promise_repr(value, depth + 1) if depth < 3 else "<lazy object>"
    return safe_repr(value, 200)


def lazy_object_repr(value: Any) -> Any:
    """An unevaluated ``LazyObject`` as a placeholder; an evaluated one as what it wraps."""
    wrapped = value.__dict__.get("_wrapped", empty)
    if wrapped is empty:
        return f"<{type(value).__name__}: not evaluated>"
    return wrapped


_REPRS = ((QuerySet, queryset_repr), (Promise, promise_repr), (LazyObject, lazy_object_repr))


def install() -> None:
    """Register the representations (idempotent: registering again replaces them)."""
    for cls, func in _REPRS:
        register_repr(cls, func)


def uninstall() -> None:
    """Remove what :func:`install` registered."""
    for cls, _ in _REPRS:
        unregister_repr(cls)

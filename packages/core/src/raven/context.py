"""Per-thread, per-task context (user, tags, extra, request, breadcrumbs) kept in ``contextvars``.

The state behind a :class:`Context` is immutable and replaced on every change, so a change made
inside one thread or asyncio task is never seen by another running at the same time, even when
they share the same ``Context`` object.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar, Token
from typing import Any

__all__ = ["Context", "get_active_contexts"]

# Keys whose dicts are merged, not replaced, by Context.merge.
_MERGED_KEYS = ("tags", "extra", "contexts")


class _State:
    """One immutable state of a context; every change makes a new one."""

    __slots__ = ("data", "breadcrumbs", "last_event_id")

    def __init__(self, data: Mapping[str, Any] | None = None, breadcrumbs: tuple[dict[str, Any], ...] = (),
                 last_event_id: str | None = None) -> None:
        self.data: Mapping[str, Any] = data if data is not None else {}
        self.breadcrumbs = breadcrumbs
        self.last_event_id = last_event_id


_EMPTY = _State()
_active_lock = threading.Lock()
_active: tuple[weakref.ref[Context], ...] = ()


def get_active_contexts() -> list[Context]:
    """Contexts that breadcrumbs are currently recorded into."""
    return [ctx for ref in _active if (ctx := ref()) is not None]


class Context:
    """Event data that applies to whatever the current thread or task captures next."""

    def __init__(self, client: Any = None, max_breadcrumbs: int = 100,
                 before_breadcrumb: Callable[..., Any] | None = None) -> None:
        self.client = client
        self.max_breadcrumbs = max_breadcrumbs
        self.before_breadcrumb = before_breadcrumb
        self._var: ContextVar[_State] = ContextVar(f"raven.context.{id(self):x}", default=_EMPTY)
        self._tokens: ContextVar[tuple[Token[_State], ...]] = ContextVar(f"raven.context.tokens.{id(self):x}", default=())
        self.breadcrumbs = BreadcrumbBuffer(self)

    # -- data ---------------------------------------------------------------------------------
    def merge(self, data: Mapping[str, Any], activate: bool = True) -> None:
        """Replace top-level keys; ``tags``, ``extra`` and ``contexts`` are merged key by key.

        ``request``, ``user``, ``transaction`` and ``culprit`` may be zero-argument callables:
        they are called only when an event is captured, so an integration can attach request
        data at no cost to the requests that never fail.
        """
        if activate:
            self.activate()
        state = self._var.get()
        new = dict(state.data)
        for key, value in data.items():
            if key in _MERGED_KEYS and isinstance(value, Mapping):
                new[key] = {**new.get(key, {}), **value}
            else:
                new[key] = value
        self._var.set(_State(new, state.breadcrumbs, state.last_event_id))

    update = merge

    def set(self, key: str, value: Any) -> None:
        """Replace one top-level key."""
        state = self._var.get()
        self._var.set(_State({**state.data, key: value}, state.breadcrumbs, state.last_event_id))

    def get(self) -> dict[str, Any]:
        """A copy of the current data (without breadcrumbs)."""
        return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in self._var.get().data.items()}

    def __getitem__(self, key: str) -> Any:
        return self._var.get().data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._var.get().data

    def __iter__(self) -> Iterator[str]:
        return iter(self._var.get().data)

    def clear(self, deactivate: bool | None = None) -> None:
        """Forget data and breadcrumbs for the current thread or task."""
        self._var.set(_EMPTY)
        if deactivate:
            self.deactivate()

    def snapshot(self) -> tuple[Mapping[str, Any], tuple[dict[str, Any], ...]]:
        """(data, breadcrumbs) as they are now; both are read-only by convention."""
        state = self._var.get()
        return state.data, state.breadcrumbs

    # -- activation ---------------------------------------------------------------------------
    def activate(self, sticky: bool = False) -> None:
        """Record breadcrumbs into this context (``raven.breadcrumbs.record``)."""
        global _active
        if any(ref() is self for ref in _active):
            return
        with _active_lock:
            _active = tuple(r for r in _active if r() is not None) + (weakref.ref(self),)

    def deactivate(self) -> None:
        global _active
        with _active_lock:
            _active = tuple(r for r in _active if r() is not None and r() is not self)

    def __enter__(self) -> Context:
        """Start a fresh scope: changes inside the ``with`` block are undone when it ends."""
        self.activate()
        token = self._var.set(_EMPTY)
        self._tokens.set(self._tokens.get() + (token,))
        return self

    def __exit__(self, *exc_info: object) -> None:
        tokens = self._tokens.get()
        if not tokens:
            self.clear()
            return
        self._tokens.set(tokens[:-1])
        try:
            self._var.reset(tokens[-1])
        except ValueError:  # exited in another context than entered: just drop the data
            self._var.set(_EMPTY)

    # -- breadcrumbs --------------------------------------------------------------------------
    def record_breadcrumb(self, crumb: dict[str, Any]) -> None:
        """Append one crumb (already processed) to the ring buffer."""
        if self.max_breadcrumbs <= 0:
            return
        state = self._var.get()
        crumbs = state.breadcrumbs
        if crumbs and _same_crumb(crumbs[-1], crumb):
            return
        keep = crumbs[-(self.max_breadcrumbs - 1):] if self.max_breadcrumbs > 1 else ()
        self._var.set(_State(state.data, keep + (crumb,), state.last_event_id))

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event captured in this scope (thread, task or ``with`` block)."""
        return self._var.get().last_event_id

    @last_event_id.setter
    def last_event_id(self, event_id: str | None) -> None:
        state = self._var.get()
        self._var.set(_State(state.data, state.breadcrumbs, event_id))


def _same_crumb(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return (a.get("message") == b.get("message") and a.get("category") == b.get("category")
            and a.get("level") == b.get("level") and a.get("data") == b.get("data")
            and a.get("type") == b.get("type"))


class BreadcrumbBuffer:
    """raven-python's ``context.breadcrumbs``: ``record``, ``get_buffer``, ``clear``."""

    def __init__(self, context: Context) -> None:
        self._context = context

    def record(self, timestamp: float | None = None, level: str | None = None, message: str | None = None,
               category: str | None = None, data: Mapping[str, Any] | None = None, type: str | None = None,
               processor: Callable[[dict[str, Any]], Any] | None = None) -> None:
        from .breadcrumbs import make_crumb

        crumb = make_crumb(timestamp=timestamp, level=level, message=message, category=category,
                           data=data, type=type, processor=processor,
                           before_breadcrumb=self._context.before_breadcrumb)
        if crumb is not None:
            self._context.record_breadcrumb(crumb)

    def get_buffer(self) -> list[dict[str, Any]]:
        return list(self._context.snapshot()[1])

    def clear(self) -> None:
        state = self._context._var.get()
        self._context._var.set(_State(state.data, (), state.last_event_id))

    def __len__(self) -> int:
        return len(self._context.snapshot()[1])


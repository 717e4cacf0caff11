"""Per-thread, per-task context (user, tags, extra, request, breadcrumbs) kept in ``contextvars``.

The state behind a :class:`Context` is immutable and replaced on every change, so a change made
inside one thread or asyncio task is never seen by another running at the same time, even when
they share the same ``Context`` object.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from . import breadcrumbs
from .callbacks import describe

__all__ = ["Context", "ContextHelpers"]

logger = logging.getLogger("raven.context")

# Keys whose dicts are merged, not replaced, by Context.merge.
_MERGED_KEYS = ("tags", "extra", "contexts")
# Feature-flag evaluations an event carries (contexts.flags), per scope.
MAX_FLAGS = 100
# Keys an integration may set lazily that the application may then add to (``user_context``).
_OVERLAID_KEYS = ("user", "request")


class _State:
    """One immutable state of a context; every change makes a new one.

    ``trace`` is the scope's trace context (a :class:`raven.tracing.PropagationContext`: the
    incoming trace, or one made up when the first error needs it) and ``span`` the current span;
    both stay None until tracing or an error needs them. ``flags`` holds the scope's feature-flag
    evaluations as they were made, ``(name, result)`` pairs (see :meth:`Context.add_flag`), and
    ``attachments`` the files added to it (:meth:`Context.add_attachment`). A new slot is
    copied in :meth:`replace` and in :meth:`Context.add_flag` and
    :meth:`Context.record_breadcrumb` (which copy by hand: they are hot).
    """

    __slots__ = ("data", "breadcrumbs", "last_event_id", "trace", "span", "flags", "attachments")

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        breadcrumbs: tuple[dict[str, Any], ...] = (),
        last_event_id: str | None = None,
        trace: Any = None,
        span: Any = None,
        flags: tuple[tuple[str, bool], ...] = (),
        attachments: tuple[dict[str, Any], ...] = (),
    ) -> None:
        self.data: Mapping[str, Any] = data if data is not None else {}
        self.breadcrumbs = breadcrumbs
        self.last_event_id = last_event_id
        self.trace = trace
        self.span = span
        self.flags = flags
        self.attachments = attachments

    def replace(self, **changes: Any) -> _State:
        """A copy with ``changes`` applied."""
        new = _State.__new__(_State)
        new.data = changes.get("data", self.data)
        new.breadcrumbs = changes.get("breadcrumbs", self.breadcrumbs)
        new.last_event_id = changes.get("last_event_id", self.last_event_id)
        new.trace = changes.get("trace", self.trace)
        new.span = changes.get("span", self.span)
        new.flags = changes.get("flags", self.flags)
        new.attachments = changes.get("attachments", self.attachments)
        return new


_EMPTY = _State()


class Context:
    """Event data that applies to whatever the current thread or task captures next."""

    def __init__(
        self,
        client: Any = None,
        max_breadcrumbs: int = 100,
        before_breadcrumb: Callable[..., Any] | None = None,
    ) -> None:
        self.client = client
        self.max_breadcrumbs = max_breadcrumbs
        self.before_breadcrumb = before_breadcrumb
        self._var: ContextVar[_State] = ContextVar(f"raven.context.{id(self):x}", default=_EMPTY)
        self._tokens: ContextVar[tuple[Token[_State], ...]] = ContextVar(
            f"raven.context.tokens.{id(self):x}", default=()
        )
        self.breadcrumbs = breadcrumbs.BreadcrumbBuffer(self)
        self._warned: set[str] = set()  # misused keys, each reported once

    # -- data ---------------------------------------------------------------------------------
    def merge(self, data: Mapping[str, Any] | None, activate: bool = True) -> None:
        """Replace top-level keys; ``tags``, ``extra`` and ``contexts`` are merged key by key.

        ``request``, ``user``, ``transaction`` and ``culprit`` may be zero-argument callables:
        they are called only when an event is captured, so an integration can attach request
        data at no cost to the requests that never fail. A dict merged into a lazy ``user`` or
        ``request`` is laid over what the callable computes (``user_context`` adds to the user
        the integration found, it does not hide it). ``None`` merges nothing; a ``tags``,
        ``extra`` or ``contexts`` value that is not a mapping (or None) is left out with one
        warning, as it would fail every later event.
        """
        if activate:
            self.activate()
        if data is None:
            return
        state = self._var.get()
        new = dict(state.data)
        for key, value in data.items():
            if key in _MERGED_KEYS and isinstance(value, Mapping):
                current = new.get(key)
                new[key] = {**(current if isinstance(current, Mapping) else {}), **value}
            elif key in _MERGED_KEYS and value is not None:
                if key not in self._warned:
                    self._warned.add(key)
                    logger.warning(
                        "context %r must be a dict, got %s; left out",
                        key,
                        type(value).__name__,
                    )
            elif key in _OVERLAID_KEYS and callable(new.get(key)) and isinstance(value, Mapping):
                new[key] = _Overlay(new[key], value)
            else:
                new[key] = value
        self._var.set(state.replace(data=new))

    update = merge

    def set(self, key: str, value: Any) -> None:
        """Replace one top-level key."""
        state = self._var.get()
        self._var.set(state.replace(data={**state.data, key: value}))

    def get(self) -> dict[str, Any]:
        """A copy of the current data (without breadcrumbs)."""
        return {
            k: (dict(v) if isinstance(v, Mapping) else v) for k, v in self._var.get().data.items()
        }

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
        breadcrumbs.activate(self)

    def deactivate(self) -> None:
        """Stop recording breadcrumbs into this context."""
        breadcrumbs.deactivate(self)

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
        maximum = self.max_breadcrumbs
        if maximum <= 0:
            return
        state = self._var.get()
        crumbs = state.breadcrumbs
        if crumbs and _same_crumb(crumbs[-1], crumb):
            return
        if len(crumbs) >= maximum:
            crumbs = crumbs[len(crumbs) - maximum + 1 :] if maximum > 1 else ()
        new = _State.__new__(_State)  # replace(breadcrumbs=...) by hand: a crumb per query
        new.data, new.last_event_id, new.trace = state.data, state.last_event_id, state.trace
        new.span, new.flags, new.attachments = state.span, state.flags, state.attachments
        new.breadcrumbs = crumbs + (crumb,)
        self._var.set(new)

    def clear_breadcrumbs(self) -> None:
        """Forget the breadcrumbs of the current thread or task, keeping the data."""
        state = self._var.get()
        self._var.set(state.replace(breadcrumbs=()))

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event captured in this scope (thread, task or ``with`` block)."""
        return self._var.get().last_event_id

    @last_event_id.setter
    def last_event_id(self, event_id: str | None) -> None:
        """The id of the last event captured in this scope (thread, task or ``with`` block)."""
        state = self._var.get()
        self._var.set(state.replace(last_event_id=event_id))

    # -- feature flags and attachments ----------------------------------------------------------
    @property
    def flags(self) -> dict[str, bool] | None:
        """The latest ``MAX_FLAGS`` feature flags evaluated in this scope, name -> latest
        result, in the order of their latest evaluation (None when there is none)."""
        log = self._var.get().flags
        return _latest_flags(log, MAX_FLAGS) if log else None

    def add_flag(self, name: str, result: bool) -> Any:
        """Record one evaluation; returns the current span (None when there is none), which the
        caller marks too. It costs a pair and a tuple: the scope keeps a log of evaluations that
        is folded down to the latest ``MAX_FLAGS`` names once it is twice that long."""
        state = self._var.get()
        log = state.flags + ((name, result),)
        if len(log) > 2 * MAX_FLAGS:
            log = tuple(_latest_flags(log, MAX_FLAGS).items())
        new = _State.__new__(_State)  # replace(flags=log) without its keyword handling: hot
        new.data, new.breadcrumbs, new.last_event_id = (
            state.data,
            state.breadcrumbs,
            state.last_event_id,
        )
        new.trace, new.span, new.attachments = state.trace, state.span, state.attachments
        new.flags = log
        self._var.set(new)
        return state.span

    @property
    def attachments(self) -> tuple[dict[str, Any], ...]:
        """The attachments added to this scope (see :mod:`raven.attachments`)."""
        return self._var.get().attachments

    def add_attachment(self, attachment: dict[str, Any]) -> None:
        """Send ``attachment`` with every event this scope captures from now on."""
        state = self._var.get()
        self._var.set(state.replace(attachments=state.attachments + (attachment,)))

    def clear_attachments(self) -> None:
        """Forget the attachments of this scope."""
        state = self._var.get()
        self._var.set(state.replace(attachments=()))

    # -- tracing ------------------------------------------------------------------------------
    @property
    def span(self) -> Any:
        """The current span of this thread or task (None when there is none)."""
        return self._var.get().span

    def swap_span(self, span: Any) -> Any:
        """Make ``span`` the current span; returns the one it replaces."""
        state = self._var.get()
        self._var.set(state.replace(span=span))
        return state.span

    @property
    def trace(self) -> Any:
        """The trace this scope belongs to when no span is current (see ``_State``)."""
        return self._var.get().trace

    @trace.setter
    def trace(self, trace: Any) -> None:
        self._var.set(self._var.get().replace(trace=trace))


def _latest_flags(log: tuple[tuple[str, bool], ...], limit: int) -> dict[str, bool]:
    """The last ``limit`` distinct names of ``log`` with their last result, in the order of
    their last evaluation (a flag evaluated again moves to the end)."""
    if len(log) <= limit:
        plain = dict(log)
        if len(plain) == len(log):  # no flag evaluated twice: the log's order is the answer
            return plain
    latest: dict[str, bool] = {}
    for name, result in reversed(log):
        if name not in latest:
            latest[name] = result
            if len(latest) == limit:
                break
    return dict(reversed(latest.items()))


def _same_crumb(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    # Data may hold anything: numpy arrays (whose == is not a bool), cyclic structures
    # (RecursionError), objects whose __eq__ raises. Not comparable means not the same.
    # The data second: a query repeated in a loop has the same message, not the same duration.
    try:
        return bool(
            a.get("message") == b.get("message")
            and a.get("data") == b.get("data")
            and a.get("category") == b.get("category")
            and a.get("level") == b.get("level")
            and a.get("type") == b.get("type")
        )
    except Exception:
        return False


class _Overlay:
    """A lazy value with a dict laid over what it computes."""

    __slots__ = ("base", "overlay")

    def __init__(self, base: Callable[[], Any], overlay: Mapping[str, Any]) -> None:
        self.base = base
        self.overlay = dict(overlay)

    def __call__(self) -> dict[str, Any]:
        computed = self.base()
        return {**computed, **self.overlay} if isinstance(computed, Mapping) else dict(self.overlay)


class ContextHelpers:
    """raven-python's helpers on :class:`raven.Client` that set the current context."""

    _warn_once: Callable[..., None]

    if TYPE_CHECKING:

        @property
        def context(self) -> Context: ...

    def user_context(self, data: Mapping[str, Any] | None) -> None:
        """Set the user for what the current thread or task captures next (None forgets it)."""
        self._merge_context("user", data)

    def tags_context(self, data: Mapping[str, Any] | None) -> None:
        """Add tags to what the current thread or task captures next."""
        self._merge_context("tags", data)

    def extra_context(self, data: Mapping[str, Any] | None) -> None:
        """Add extra data to what the current thread or task captures next."""
        self._merge_context("extra", data)

    def http_context(self, data: Mapping[str, Any] | None) -> None:
        """Set (or lay over a lazily computed) request for what the current thread or task
        captures next (None forgets it)."""
        self._merge_context("request", data)

    def _merge_context(self, key: str, data: Mapping[str, Any] | None) -> None:
        # Helpers called on the app's path never raise: None clears the user or request (as
        # sentry-sdk's set_user(None)) and adds nothing to tags or extra; a value that is not a
        # mapping is ignored, with one warning.
        if data is None:
            if key in ("user", "request"):
                self.context.merge({key: None})
            return
        try:
            value = dict(data)
        except Exception:
            self._warn_once(
                f"{key}_context",
                "%s_context() expects a dict, got %s; ignored",
                key.replace("request", "http"),
                describe(data),
            )
            return
        self.context.merge({key: value})

"""Building an event, in named steps, from Python objects: exceptions (with their chain and
groups), messages, queries, the stack of the current thread, and the data of the context and the
call. ``Client.build_msg`` runs the steps in order; each step fills in one part of the event."""

from __future__ import annotations

import builtins
import functools
import logging
import random
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from types import FrameType, TracebackType
from typing import Any

from .serializer import Serializer, safe_repr
from .stacks import LocalsBudget, StackBuilder, iter_stack_frames, iter_traceback_frames

__all__ = [
    "LAZY_KEYS",
    "add_breadcrumbs",
    "add_exception",
    "add_message",
    "add_stack",
    "apply_data",
    "event_kind",
    "exception_message",
    "exception_values",
    "level_name",
    "logentry",
    "merge_contexts",
    "merge_extra",
    "merge_tags",
    "new_event",
    "resolve_lazy",
    "safe_text",
    "stack_for_current_thread",
    "to_exception",
]

logger = logging.getLogger("raven.events")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
MAX_CHAIN = 25
# Exception groups exist from Python 3.11; on 3.10 nothing is a group.
_GROUP: type[BaseException] | tuple[()] = getattr(builtins, "BaseExceptionGroup", ())


def exception_values(
    exc: BaseException,
    stacks: StackBuilder,
    mechanism: dict[str, Any] | None = None,
    capture_locals: bool | None = None,
    budget: LocalsBudget | None = None,
) -> list[dict[str, Any]]:
    """The ``exception.values`` list: causes first, the captured exception last.

    Follows ``__cause__`` and ``__context__`` (unless suppressed) and the members of exception
    groups, each marked with its ``exception_id`` / ``parent_id`` as Sentry expects. One
    ``budget`` covers the locals of every exception in the chain (the captured one first).
    """
    if budget is None:
        budget = stacks.budget()
    values: list[dict[str, Any]] = []
    seen: set[int] = set()
    mech = {"type": "generic", "handled": True, **(mechanism or {})}

    def add(exc: BaseException, source: str | None, parent_id: int | None) -> None:
        if id(exc) in seen or len(values) >= MAX_CHAIN:
            return
        seen.add(id(exc))
        exception_id = len(values)
        item = _single(exc, stacks, capture_locals, budget)
        item_mech: dict[str, Any] = (
            dict(mech) if exception_id == 0 else {"type": "chained", "handled": mech["handled"]}
        )
        item_mech["exception_id"] = exception_id
        if parent_id is not None:
            item_mech["parent_id"] = parent_id
            item_mech["source"] = source
        if isinstance(exc, _GROUP):
            item_mech["is_exception_group"] = True
        item["mechanism"] = item_mech
        values.append(item)
        if isinstance(exc, _GROUP):
            for index, member in enumerate(exc.exceptions):  # type: ignore[attr-defined]
                add(member, f"exceptions[{index}]", exception_id)
        if exc.__cause__ is not None:
            add(exc.__cause__, "__cause__", exception_id)
        elif exc.__context__ is not None and not exc.__suppress_context__:
            add(exc.__context__, "__context__", exception_id)

    add(exc, None, None)
    values.reverse()  # Sentry wants the oldest exception first, the captured one last
    return values


def _single(
    exc: BaseException,
    stacks: StackBuilder,
    capture_locals: bool | None,
    budget: LocalsBudget | None = None,
) -> dict[str, Any]:
    cls = type(exc)
    module = cls.__module__
    item: dict[str, Any] = {"type": cls.__qualname__, "value": _exc_value(exc)}
    if module not in ("builtins", "__builtin__", "exceptions", "__main__"):
        item["module"] = module
    if exc.__traceback__ is not None:
        item["stacktrace"] = stacks.stacktrace(
            iter_traceback_frames(exc.__traceback__), capture_locals, budget
        )
    return item


def _exc_value(exc: BaseException) -> str:
    try:
        text = _exact(str(exc))
    except Exception:  # a raising __str__, an int arg past the int-to-str limit, ...
        text = "<exception str() failed>"
    try:
        notes = getattr(exc, "__notes__", None)
    except Exception:
        notes = None
    if isinstance(notes, list) and notes:
        # one bad note spoils only itself
        text = "\n".join([text, *(n if type(n) is str else safe_text(n) for n in notes[:50])])
    return text


def exception_message(exc: BaseException) -> str:
    """raven-python's message for an exception event: ``"ValueError: foo"``."""
    value = _exc_value(exc)
    name = type(exc).__name__
    return f"{name}: {value}" if value else name


def logentry(message: str, params: Any = ()) -> dict[str, Any]:
    """The ``logentry`` interface; ``formatted`` is computed, never raising on bad params."""
    entry: dict[str, Any] = {"message": message}
    if params:
        entry["params"] = list(params) if isinstance(params, (list, tuple)) else params
        try:
            entry["formatted"] = message % (tuple(params) if isinstance(params, list) else params)
        except Exception:
            entry["formatted"] = message
    else:
        entry["formatted"] = message
    return entry


def stack_for_current_thread(
    stacks: StackBuilder,
    skip_modules: tuple[str, ...] = ("raven.", "logging"),
    budget: LocalsBudget | None = None,
) -> dict[str, Any]:
    """The caller's stack (oldest first), without Raven's own and logging's frames on top."""
    pairs = list(iter_stack_frames(sys._getframe(1)))
    while pairs and (pairs[0][0].f_globals.get("__name__") or "").startswith(skip_modules):
        pairs.pop(0)
    pairs.reverse()
    return stacks.stacktrace(pairs, budget=budget)


# -- the steps of Client.build_msg ----------------------------------------------------------------
_EVENT_KINDS = {
    "raven.events.Exception": "exception",
    "Exception": "exception",
    "exception": "exception",
    "raven.events.Message": "message",
    "Message": "message",
    "message": "message",
    "raven.events.Query": "query",
    "Query": "query",
    "query": "query",
}
# Keys copied from the context, the call's ``data`` and keyword arguments straight into the event.
_PASSTHROUGH = (
    "user",
    "request",
    "contexts",
    "fingerprint",
    "transaction",
    "culprit",
    "logger",
    "level",
    "server_name",
    "release",
    "environment",
    "dist",
    "message",
    "logentry",
    "stacktrace",
    "exception",  # raven-python passed one built by hand through
    "threads",
    "modules",
    "breadcrumbs",
    "platform",
    "sdk",
    "timestamp",
    "template",
)
# Keys whose value may be a zero-argument callable, computed only at capture (see Context.merge).
LAZY_KEYS = ("request", "user", "transaction", "culprit")
_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "fatal",
}
_LEVEL_NAMES = {"warn": "warning", "critical": "fatal", "exception": "error"}


@functools.cache
def _tag_key_invalid() -> re.Pattern[str]:
    """Compiled on first use: compiling at import would slow every start-up."""
    return re.compile(r"[^a-zA-Z0-9_.:\- ]")


def event_kind(event_type: str) -> str:
    """``"exception"``, ``"message"`` or ``"query"`` for raven-python's event type names."""
    kind = _EVENT_KINDS.get(event_type)
    if kind is None:
        raise ValueError(
            f"unknown event type {event_type!r}: expected raven.events.Exception, Message or Query"
        )
    return kind


def to_exception(exc_info: Any) -> BaseException | None:
    """The exception of ``exc_info``: an instance, a ``sys.exc_info()`` tuple, or None/True for
    the exception being handled."""
    if isinstance(exc_info, BaseException):
        return exc_info
    if exc_info is None or exc_info is True:
        return sys.exc_info()[1]
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc: BaseException | None = exc_info[1]
        if exc is None and exc_info[0] is not None:
            exc = exc_info[0]()
        if exc is not None and exc.__traceback__ is None and exc_info[2] is not None:
            exc = exc.with_traceback(exc_info[2])
        return exc
    return None


def new_event(static: Mapping[str, Any], date: Any = None) -> dict[str, Any]:
    """A fresh event: the client's fixed fields, a new id and the timestamp (``date`` or now)."""
    event = dict(static)
    event["event_id"] = _event_id()
    event["timestamp"] = _timestamp(date)
    return event


def add_exception(
    event: dict[str, Any],
    exc: BaseException,
    stacks: StackBuilder,
    mechanism: dict[str, Any] | None = None,
) -> None:
    """The ``exception`` interface, raven-python's message, level ``error`` and the culprit."""
    budget = stacks.budget()
    event["exception"] = {"values": exception_values(exc, stacks, mechanism, budget=budget)}
    _note_omitted_locals(event, budget)
    event["message"] = exception_message(exc)
    event["level"] = "error"
    culprit = _culprit(event["exception"]["values"][-1])
    if culprit:
        event["culprit"] = culprit


def add_message(
    event: dict[str, Any], message: Any, params: Any, serializer: Serializer, level: str = "error"
) -> None:
    """The ``logentry`` interface for a message (or a query) and its ``params``."""
    text = message if isinstance(message, str) else safe_text(message)
    values = serializer(params if isinstance(params, Mapping) else list(params)) if params else ()
    event["logentry"] = logentry(text, values)
    event["message"] = event["logentry"]["formatted"]  # raven-python's key: before_send reads it
    event["level"] = level


def add_stack(event: dict[str, Any], stack: Any, stacks: StackBuilder) -> None:
    """The ``stacktrace`` of a message: ``stack`` is a frame (another thread's, newest first), a
    list of frames or (frame, lineno) pairs, oldest first, or true for the caller's stack."""
    if not stack:
        return
    budget = stacks.budget()
    if isinstance(stack, FrameType):
        frames = list(iter_stack_frames(stack))
        frames.reverse()
        event["stacktrace"] = stacks.stacktrace(frames, budget=budget)
    elif isinstance(stack, (list, tuple)):  # raven-python's: frames or pairs, oldest first
        pairs = [item if isinstance(item, tuple) else (item, item.f_lineno) for item in stack]
        event["stacktrace"] = stacks.stacktrace(pairs, budget=budget)
    else:
        event["stacktrace"] = stack_for_current_thread(stacks, budget=budget)
    _note_omitted_locals(event, budget)


def _note_omitted_locals(event: dict[str, Any], budget: LocalsBudget) -> None:
    """Say in ``extra`` that locals were left out (``max_locals_time``), so nobody wonders why."""
    note = budget.note()
    if note is not None:
        event.setdefault("extra", {})["raven.locals_omitted"] = note


def apply_data(event: dict[str, Any], sources: Iterable[Mapping[str, Any]]) -> None:
    """Copy the known keys of each source over the event (later sources win), then compute the
    lazy values (callables set in the context) and normalize the level."""
    for source in sources:
        for key in _PASSTHROUGH:
            if key in source and source[key] is not None:
                event[key] = source[key]
    for key in LAZY_KEYS:
        if callable(event.get(key)):
            value = resolve_lazy(event.pop(key), key)
            if value is not None:
                event[key] = value
    event["level"] = level_name(event.get("level", "error"))


def merge_tags(event: dict[str, Any], *layers: Mapping[str, Any] | None) -> None:
    """``tags`` from every layer (later ones win), as strings Sentry accepts."""
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer:
            merged.update(layer)
    event["tags"] = _tags(merged)


def merge_extra(
    event: dict[str, Any], serializer: Serializer, *layers: Mapping[str, Any] | None
) -> None:
    """``extra`` from every layer (later ones win), over what the event already holds, serialized."""
    merged: dict[str, Any] = dict(event.get("extra") or {})
    for layer in layers:
        if layer:
            merged.update(layer)
    if merged:
        event["extra"] = serializer(merged)


def merge_contexts(
    event: dict[str, Any],
    static: Mapping[str, Any],
    serializer: Serializer,
    *layers: Mapping[str, Any] | None,
) -> None:
    """``contexts``: the client's os/runtime (JSON-safe already) and what the app gave, serialized."""
    given: dict[str, Any] = {}
    for layer in layers:
        if layer:
            given.update(layer)
    event["contexts"] = {**static, **serializer(given)} if given else dict(static)


def add_breadcrumbs(
    event: dict[str, Any], crumbs: Iterable[Mapping[str, Any]], serializer: Serializer
) -> None:
    """The ``breadcrumbs`` of the context, their data serialized."""
    values = [dict(c, data=serializer(c["data"])) if "data" in c else dict(c) for c in crumbs]
    if values:
        event["breadcrumbs"] = {"values": values}


def level_name(level: Any) -> str:
    """Sentry's level name for a logging level number or a name (``"warn"`` -> ``"warning"``)."""
    if isinstance(level, int) and not isinstance(level, bool):
        if not level:
            return "error"
        # custom levels (TRACE=5, NOTICE=25, ...) take the standard level at or below them
        return _LEVELS.get(max((n for n in _LEVELS if n <= level), default=logging.DEBUG), "debug")
    name = str(level).lower()
    name = _LEVEL_NAMES.get(name, name)
    return name if name in ("debug", "info", "warning", "error", "fatal") else "error"


def resolve_lazy(value: Callable[[], Any], key: str) -> Any:
    """A lazy context value (``key``) computed; None, with a warning, when computing it fails."""
    try:
        return value()
    except Exception:
        logger.warning(
            "could not compute the event's %r from the context; left out", key, exc_info=True
        )
        return None


def _event_id() -> str:
    """A random UUID4 in hex, as ``uuid.uuid4().hex`` gives, without importing ``uuid`` and
    without ``os.urandom`` (a system call that can take a millisecond on a busy VM): an event
    id needs to be unique, not unpredictable."""
    bits = random.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48)
    return f"{bits | (0x4000 << 64) | (0x8000 << 48):032x}"


def _timestamp(date: Any) -> float:
    if date is None:
        return time.time()
    if isinstance(date, (int, float)):
        return float(date)
    if getattr(date, "tzinfo", None) is None and hasattr(date, "replace"):
        import datetime

        date = date.replace(tzinfo=datetime.timezone.utc)
    return float(date.timestamp())


def _tags(tags: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    invalid = _tag_key_invalid()
    for key, value in tags.items():
        if value is None:
            continue
        # Sentry rejects empty tags, newlines in values and keys outside [a-zA-Z0-9_.:- ]
        # type(), not isinstance (which consults a hostile __class__); safe_text survives __str__
        text = (value if type(value) is str else safe_text(value)).replace("\n", " ")[:200]
        name = invalid.sub("_", key if type(key) is str else safe_text(key))[:200]
        if text and name:
            out[name] = text
    return out


def safe_text(value: Any) -> str:
    """``str(value)`` as a plain ``str``, or a placeholder when its ``__str__`` raises."""
    try:
        return _exact(str(value))
    except Exception:
        return safe_repr(value)


def _exact(text: str) -> str:
    """``text`` as a plain ``str``: a subclass returned by ``__str__`` may override anything."""
    return text if type(text) is str else str.__str__(text)


def _culprit(value: Mapping[str, Any]) -> str | None:
    frames = (value.get("stacktrace") or {}).get("frames") or []
    for frame in reversed(frames):
        if frame.get("in_app"):
            return f"{frame.get('module')} in {frame.get('function')}"
    if frames:
        return f"{frames[-1].get('module')} in {frames[-1].get('function')}"
    return None


def __getattr__(name: str) -> Any:
    """raven-python's event classes (``raven.events.Exception``, ...), resolved lazily."""
    from ._legacy_events import lookup

    return lookup(name)

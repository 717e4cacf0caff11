"""Event interfaces built from Python objects: exceptions (with their chain and groups),
messages, queries, and the stack of the current thread."""

from __future__ import annotations

import builtins
import sys
from types import TracebackType
from typing import Any

from .stacks import StackBuilder, iter_stack_frames, iter_traceback_frames

__all__ = ["exception_values", "exception_message", "logentry", "stack_for_current_thread"]

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
MAX_CHAIN = 25
# Exception groups exist from Python 3.11; on 3.10 nothing is a group.
_GROUP: type[BaseException] | tuple[()] = getattr(builtins, "BaseExceptionGroup", ())


def exception_values(exc: BaseException, stacks: StackBuilder, mechanism: dict[str, Any] | None = None,
                     capture_locals: bool | None = None) -> list[dict[str, Any]]:
    """The ``exception.values`` list: causes first, the captured exception last.

    Follows ``__cause__`` and ``__context__`` (unless suppressed) and the members of exception
    groups, each marked with its ``exception_id`` / ``parent_id`` as Sentry expects.
    """
    values: list[dict[str, Any]] = []
    seen: set[int] = set()
    mech = {"type": "generic", "handled": True, **(mechanism or {})}

    def add(exc: BaseException, source: str | None, parent_id: int | None) -> None:
        if id(exc) in seen or len(values) >= MAX_CHAIN:
            return
        seen.add(id(exc))
        exception_id = len(values)
        item = _single(exc, stacks, capture_locals)
        item_mech: dict[str, Any] = dict(mech) if exception_id == 0 else {"type": "chained", "handled": mech["handled"]}
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


def _single(exc: BaseException, stacks: StackBuilder, capture_locals: bool | None) -> dict[str, Any]:
    cls = type(exc)
    module = cls.__module__
    item: dict[str, Any] = {"type": cls.__qualname__, "value": _exc_value(exc)}
    if module not in ("builtins", "__builtin__", "exceptions", "__main__"):
        item["module"] = module
    if exc.__traceback__ is not None:
        item["stacktrace"] = stacks.stacktrace(iter_traceback_frames(exc.__traceback__), capture_locals)
    return item


def _exc_value(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        text = "<exception str() failed>"
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list) and notes:
        text = "\n".join([text, *(str(n) for n in notes)])
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


def stack_for_current_thread(stacks: StackBuilder, skip_modules: tuple[str, ...] = ("raven.", "logging")) -> dict[str, Any]:
    """The caller's stack (oldest first), without Raven's own and logging's frames on top."""
    pairs = list(iter_stack_frames(sys._getframe(1)))
    while pairs and (pairs[0][0].f_globals.get("__name__") or "").startswith(skip_modules):
        pairs.pop(0)
    pairs.reverse()
    return stacks.stacktrace(pairs)

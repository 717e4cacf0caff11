"""Turn any Python object into JSON-safe data without ever raising.

Runs on the capturing thread, so values are frozen at capture time; JSON encoding itself
happens later, on the sender. Strings and sequences are truncated, depth is limited, cycles and
hostile ``__repr__`` methods are survived.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Set
from typing import Any

__all__ = ["Serializer", "register_repr", "safe_repr", "transform", "unregister_repr"]

_PRIMITIVES = (bool, int, float, type(None))
# Per-item placeholder: one value that cannot be represented spoils only itself.
_FAILED = "<value could not be represented>"
# In a memo (see Serializer.__call__), key DEADLINE holds a time.perf_counter() value past which
# objects are no longer repr'd (ids, and the ~ids the memo uses, are never 0).
DEADLINE = 0
OUT_OF_TIME = "<left out: max_locals_time reached>"


def safe_repr(value: Any, max_length: int = 400) -> str:
    """``repr(value)``, truncated; a failing ``__repr__`` yields a placeholder naming the type."""
    try:
        text = repr(value)
    except Exception:
        try:
            name = type(value).__qualname__
        except Exception:
            name = "object"
        return f"<{name} instance: repr failed>"
    if type(text) is not str:
        if not isinstance(text, str):
            return "<invalid repr>"
        text = str.__str__(text)  # a str subclass may override len, slicing, encoding...
    return _trim(text, max_length)


def _trim(text: str, max_length: int) -> str:
    return text if len(text) <= max_length else text[: max_length - 3] + "..."


def int_text(value: int) -> str:
    """``str(value)``, or a short description for ints past Python's int-to-str digit limit."""
    try:
        return str(int(value))
    except ValueError:
        return f"<int with {value.bit_length()} bits: too large to show>"


# -- custom representations -----------------------------------------------------------------------
# (type or predicate over the class, function(value) -> what to send); consulted once per class.
_REPRS: list[tuple[type | Callable[[type], bool], Callable[[Any], Any]]] = []


def register_repr(
    type_or_predicate: type | Callable[[type], bool], func: Callable[[Any], Any]
) -> None:
    """Send ``func(value)`` instead of the repr of values of a type (and its subclasses), or of
    the classes a predicate accepts.

    For objects whose ``repr`` has side effects (a database query, a lazy evaluation): ``func``
    must not have any. What it returns is serialized like any value; if it raises, the value is
    sent as a placeholder. Registering the same type or predicate again replaces its function;
    :func:`unregister_repr` removes it.
    """
    unregister_repr(type_or_predicate)
    _REPRS.append((type_or_predicate, func))
    _KINDS.clear()


def unregister_repr(type_or_predicate: type | Callable[[type], bool]) -> None:
    """Undo :func:`register_repr` for ``type_or_predicate`` (nothing if it was not registered)."""
    _REPRS[:] = [(key, f) for key, f in _REPRS if key is not type_or_predicate]
    _KINDS.clear()
    _CUSTOM_FUNCS.clear()


def _custom_func(cls: type) -> Callable[[Any], Any] | None:
    for key, func in reversed(_REPRS):  # the latest registration wins
        try:
            matched = issubclass(cls, key) if isinstance(key, type) else bool(key(cls))
        except Exception:
            matched = False
        if matched:
            found: Callable[[Any], Any] = func
            return found
    return None


class Serializer:
    """Configured transform: ``Serializer(400, 50, 8)(obj)``."""

    __slots__ = ("string_max_length", "list_max_length", "max_depth", "custom_repr")
    # Lists of ints are copied as they are (no per-item check); the encoder's fallback turns
    # this off to describe an int past the int-to-str limit hiding in one.
    trust_int_lists = True

    def __init__(
        self,
        string_max_length: int = 400,
        list_max_length: int = 50,
        max_depth: int = 5,
        custom_repr: Callable[[Any], str | None] | None = None,
    ) -> None:
        self.string_max_length = string_max_length
        self.list_max_length = list_max_length
        self.max_depth = max_depth
        # The ``custom_repr`` option: called for values that are neither primitives nor
        # containers; a str it returns is sent instead of the value's repr, None falls through.
        self.custom_repr = custom_repr

    def __call__(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        """``value`` made JSON-safe. ``memo``: a dict shared by the calls of one capture, so that
        an object met again is not ``repr``'d again (see :class:`raven.stacks.LocalsBudget`)."""
        try:
            # ``seen``: ids of the containers being walked (cycles), and under ``~id`` the repr
            # already made of an object (with the object, so its id stays taken)
            return self._walk(value, 0, {} if memo is None else memo)
        except Exception:  # the serializer never raises; RecursionError included
            return safe_repr(value, self.string_max_length)

    def _walk(self, value: Any, depth: int, seen: dict[int, Any]) -> Any:
        cls = type(value)
        if cls is str:
            return (
                value
                if len(value) <= self.string_max_length
                else _trim(value, self.string_max_length)
            )
        if cls in _PRIMITIVES:
            if cls is float and (value != value or value in (float("inf"), float("-inf"))):
                return repr(value)
            if cls is int and not -(2**63) <= value < 2**63:
                return _trim(int_text(value), self.string_max_length)
            return value
        if depth >= self.max_depth:
            return self._leaf(value, depth, seen)
        if (cls is list or cls is tuple) and self.trust_int_lists:
            items = value[: self.list_max_length]
            if _SAFE_AS_IS.issuperset(map(type, items)):  # the common list of ids / flags
                return list(items)
        kind = _KINDS.get(cls)
        if kind is None:
            kind = _kind_of(cls)
        if kind == _SCALAR:
            return self._scalar(value, depth, seen)
        if kind == _CUSTOM:
            return self._custom(value, depth, seen)
        marker = id(value)
        if marker in seen:
            return "<cycle>"
        if kind == _MAPPING:
            seen[marker] = None
            try:
                out: dict[str, Any] = {}
                for index, (key, item) in enumerate(value.items()):
                    if index >= self.list_max_length:
                        out["..."] = _more_items(value, index)
                        break
                    try:  # free unless raised (3.11+): a bad item spoils only itself
                        out[self._key(key)] = self._walk(item, depth + 1, seen)
                    except Exception:
                        out[self._key(key)] = _FAILED
                return out
            finally:
                seen.pop(marker, None)
        if kind == _SEQUENCE:
            seen[marker] = None
            try:
                items = []
                for index, item in enumerate(value):
                    if index >= self.list_max_length:
                        break
                    try:
                        items.append(self._walk(item, depth + 1, seen))
                    except Exception:
                        items.append(_FAILED)
                return items
            finally:
                seen.pop(marker, None)
        return self._scalar(value, depth, seen)

    def _key(self, key: Any) -> str:
        if type(key) is str:
            return key if len(key) <= self.string_max_length else _trim(key, self.string_max_length)
        try:
            if isinstance(key, int) and not isinstance(key, bool):
                return _trim(int_text(key), self.string_max_length)
            if isinstance(key, float):
                return repr(float(key))
        except Exception:
            pass
        return safe_repr(key, self.string_max_length)

    def _user_repr(self, value: Any) -> str | None:
        """What the ``custom_repr`` option says for ``value`` (None: it does not know the type)."""
        try:
            text = self.custom_repr(value)  # type: ignore[misc]
        except Exception:
            return None
        return _trim(str.__str__(text), self.string_max_length) if isinstance(text, str) else None

    def _leaf(self, value: Any, depth: int, seen: dict[int, Any]) -> Any:
        """A value past the depth limit: its repr, unless a custom repr must replace it (a lazy
        object's repr may run a query even this deep). A container's repr would repr its items
        (lazy or slow objects among them) unchecked: only plain sequences of primitives are
        shown; other containers are summarized."""
        cls = type(value)
        kind = _KINDS.get(cls)
        if kind is None:
            kind = _kind_of(cls)
        if kind == _CUSTOM:
            return self._custom(value, depth, seen)
        if kind != _SCALAR:
            if (
                cls in (list, tuple, set, frozenset)
                and len(value) <= self.list_max_length
                and _PLAIN.issuperset(map(type, value))
            ):
                return safe_repr(value, self.string_max_length)
            return f"<{_type_name(value)} of {_more_items(value, 0)}: deeper than max_depth>"
        if self.custom_repr is not None and (text := self._user_repr(value)) is not None:
            return text
        return safe_repr(value, self.string_max_length)

    def _custom(self, value: Any, depth: int, seen: dict[int, Any]) -> Any:
        """A value whose class has a registered repr or a ``__sentry__`` method."""
        cls = type(value)
        func = _CUSTOM_FUNCS.get(cls)
        if func is None:
            func = _custom_func(cls)
        if func is not None:
            if len(_CUSTOM_FUNCS) < 4096:
                _CUSTOM_FUNCS[cls] = func
            try:
                result = func(value)
            except Exception:
                return f"<{_type_name(value)} instance: custom repr failed>"
        else:  # raven's hook: ``value.__sentry__()`` returns what to send
            try:
                result = value.__sentry__()
            except Exception:
                return f"<{_type_name(value)} instance: __sentry__ failed>"
        marker = id(value)
        if marker in seen:
            return "<cycle>"
        seen[marker] = None
        try:
            return self._walk(result, depth + 1, seen)
        finally:
            seen.pop(marker, None)

    def _scalar(self, value: Any, depth: int, seen: dict[int, Any]) -> Any:
        if self.custom_repr is not None and (text := self._user_repr(value)) is not None:
            return text
        if isinstance(value, (bytes, bytearray, memoryview)):
            return _trim(
                safe_repr(bytes(value[: self.string_max_length + 3])), self.string_max_length
            )
        if isinstance(value, str):  # str subclasses
            return self._walk(str.__str__(value), depth, seen)
        # Types of modules the app has not imported cannot occur: look them up, don't import them.
        modules = sys.modules
        if (enum := modules.get("enum")) and isinstance(value, enum.Enum):
            return safe_repr(value, self.string_max_length)
        if isinstance(value, bool | int | float):  # subclasses (IntEnum aside, numpy.float64)
            plain = bool if isinstance(value, bool) else int if isinstance(value, int) else float
            return self._walk(plain(value), depth, seen)
        # numpy scalars (np.int64, np.bool_, ...) as numbers, without importing numpy
        if (numpy := modules.get("numpy")) and isinstance(value, numpy.generic):
            item = value.item()
            if type(item) in _PRIMITIVES:
                return self._walk(item, depth, seen)
        if (dt := modules.get("datetime")) and isinstance(value, (dt.datetime, dt.date, dt.time)):
            return value.isoformat()
        if ((dec := modules.get("decimal")) and isinstance(value, dec.Decimal)) or (
            (uuid := modules.get("uuid")) and isinstance(value, uuid.UUID)
        ):
            return str(value)
        if hasattr(type(value), "__dataclass_fields__") and (
            dataclasses := modules.get("dataclasses")
        ):
            if id(value) in seen:
                return "<cycle>"
            seen[id(value)] = None
            try:
                return {
                    f.name: self._walk(getattr(value, f.name, None), depth + 1, seen)
                    for f in dataclasses.fields(value)[: self.list_max_length]
                }
            finally:
                seen.pop(id(value), None)
        key = ~id(value)
        known = seen.get(key)
        if known is not None:
            return known[1]
        deadline = seen.get(DEADLINE)
        if deadline is not None and time.perf_counter() > deadline:
            return OUT_OF_TIME  # a capture's time for locals is spent: no more reprs
        text = safe_repr(value, self.string_max_length)
        seen[key] = (value, text)
        return text


# Types whose repr is builtin, cheap and side-effect free (shown even past the depth limit).
_PLAIN = frozenset({str, int, float, bool, type(None)})
# Values JSON can carry unchanged (big ints included); floats are excluded for NaN/inf.
_SAFE_AS_IS = frozenset({int, bool, type(None)})


_SCALAR, _MAPPING, _SEQUENCE, _CUSTOM = 0, 1, 2, 3
_KINDS: dict[type, int] = {}
_CUSTOM_FUNCS: dict[type, Callable[[Any], Any]] = {}
# Containers iterated without side effects; never generators, files or other iterators.
_SEQUENCES: tuple[type, ...] = (
    list,
    tuple,
    Set,
    frozenset,
    range,
    type({}.keys()),
    type({}.values()),
)


def _kind_of(cls: type) -> int:
    """How to walk instances of ``cls``; cached per class (the isinstance chain is slow)."""
    kind = (
        _CUSTOM
        if (_REPRS and _custom_func(cls) is not None) or _has_sentry_hook(cls)
        else _MAPPING
        if issubclass(cls, Mapping)
        else _SEQUENCE
        if issubclass(cls, _SEQUENCES)
        else _SCALAR
    )
    if len(_KINDS) < 4096:
        _KINDS[cls] = kind
    return kind


def _has_sentry_hook(cls: type) -> bool:
    try:
        return callable(getattr(cls, "__sentry__", None))
    except Exception:
        return False


def _more_items(value: Any, shown: int) -> str:
    try:
        return f"{len(value) - shown} more items"
    except Exception:
        return "more items"


def _type_name(value: Any) -> str:
    try:
        return str.__str__(type(value).__qualname__)
    except Exception:
        return "object"


_DEFAULT = Serializer()


def transform(
    value: Any, string_max_length: int = 400, list_max_length: int = 50, max_depth: int = 5
) -> Any:
    """JSON-safe copy of ``value`` (see :class:`Serializer`)."""
    if (string_max_length, list_max_length, max_depth) == (400, 50, 5):
        return _DEFAULT(value)
    return Serializer(string_max_length, list_max_length, max_depth)(value)

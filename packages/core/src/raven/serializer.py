"""Turn any Python object into JSON-safe data without ever raising.

Runs on the capturing thread, so values are frozen at capture time; JSON encoding itself
happens later, on the sender. Strings and sequences are truncated, depth is limited, cycles and
hostile ``__repr__`` methods are survived.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Set
from typing import Any

__all__ = ["Serializer", "safe_repr", "transform"]

_PRIMITIVES = (bool, int, float, type(None))


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
    if not isinstance(text, str):
        return "<invalid repr>"
    return _trim(text, max_length)


def _trim(text: str, max_length: int) -> str:
    return text if len(text) <= max_length else text[: max_length - 3] + "..."


class Serializer:
    """Configured transform: ``Serializer(400, 50, 8)(obj)``."""

    __slots__ = ("string_max_length", "list_max_length", "max_depth")

    def __init__(
        self, string_max_length: int = 400, list_max_length: int = 50, max_depth: int = 5
    ) -> None:
        self.string_max_length = string_max_length
        self.list_max_length = list_max_length
        self.max_depth = max_depth

    def __call__(self, value: Any) -> Any:
        try:
            return self._walk(value, 0, set())
        except Exception:  # the serializer never raises; RecursionError included
            return safe_repr(value, self.string_max_length)

    def _walk(self, value: Any, depth: int, seen: set[int]) -> Any:
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
                return _trim(str(value), self.string_max_length)
            return value
        if depth >= self.max_depth:
            return safe_repr(value, self.string_max_length)
        if cls is list or cls is tuple:
            items = value[: self.list_max_length]
            if _SAFE_AS_IS.issuperset(map(type, items)):  # the common list of ids / flags
                return list(items)
        kind = _KINDS.get(cls)
        if kind is None:
            kind = _kind_of(cls)
        if kind == _SCALAR:
            return self._scalar(value, depth, seen)
        marker = id(value)
        if marker in seen:
            return "<cycle>"
        if kind == _MAPPING:
            seen.add(marker)
            try:
                out: dict[str, Any] = {}
                for index, (key, item) in enumerate(value.items()):
                    if index >= self.list_max_length:
                        out["..."] = f"{len(value) - index} more items"
                        break
                    out[self._key(key)] = self._walk(item, depth + 1, seen)
                return out
            finally:
                seen.discard(marker)
        if kind == _SEQUENCE:
            seen.add(marker)
            try:
                items = []
                for index, item in enumerate(value):
                    if index >= self.list_max_length:
                        break
                    items.append(self._walk(item, depth + 1, seen))
                return items
            finally:
                seen.discard(marker)
        return self._scalar(value, depth, seen)

    def _key(self, key: Any) -> str:
        if type(key) is str:
            return key if len(key) <= self.string_max_length else _trim(key, self.string_max_length)
        return (
            safe_repr(key, self.string_max_length)
            if not isinstance(key, (int, float))
            else str(key)
        )

    def _scalar(self, value: Any, depth: int, seen: set[int]) -> Any:
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
        if isinstance(value, bool | int | float):
            return self._walk(
                value.real if not isinstance(value, bool) else bool(value), depth, seen
            )
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
            seen.add(id(value))
            try:
                return {
                    f.name: self._walk(getattr(value, f.name, None), depth + 1, seen)
                    for f in dataclasses.fields(value)[: self.list_max_length]
                }
            finally:
                seen.discard(id(value))
        return safe_repr(value, self.string_max_length)


# Values JSON can carry unchanged (big ints included); floats are excluded for NaN/inf.
_SAFE_AS_IS = frozenset({int, bool, type(None)})


_SCALAR, _MAPPING, _SEQUENCE = 0, 1, 2
_KINDS: dict[type, int] = {}
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
        _MAPPING
        if issubclass(cls, Mapping)
        else _SEQUENCE
        if issubclass(cls, _SEQUENCES)
        else _SCALAR
    )
    if len(_KINDS) < 4096:
        _KINDS[cls] = kind
    return kind


_DEFAULT = Serializer()


def transform(
    value: Any, string_max_length: int = 400, list_max_length: int = 50, max_depth: int = 5
) -> Any:
    """JSON-safe copy of ``value`` (see :class:`Serializer`)."""
    if (string_max_length, list_max_length, max_depth) == (400, 50, 5):
        return _DEFAULT(value)
    return Serializer(string_max_length, list_max_length, max_depth)(value)

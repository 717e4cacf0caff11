"""The serializer never raises: hostile objects in locals and extra become JSON-safe values that
Sentry's ingestion accepts."""
# ruff: noqa: F841  (hostile_frame's locals exist only to be captured)

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import itertools
import uuid
from collections.abc import Iterator
from typing import Any

from raven.serializer import Serializer, safe_repr, transform

from .conftest import CollectingClient, Harness


class RaisingRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")


class NonStringRepr:
    def __repr__(self) -> Any:
        return 42


class RaisingClass:
    @property  # type: ignore[misc]
    def __class__(self) -> Any:
        raise RuntimeError("no class for you")


class AnythingGoes:
    """An object that answers every attribute lookup (like a mock or a lazy proxy)."""

    def __getattr__(self, name: str) -> Any:
        return self

    def __repr__(self) -> str:
        return "<anything>"


class RaisingItems(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        raise RuntimeError("items exploded")


class EndlessList(list):  # type: ignore[type-arg]
    def __iter__(self) -> Iterator[int]:
        while True:
            yield 1


class Color(enum.Enum):
    RED = "red"


class Permission(enum.IntFlag):
    READ = 1


@dataclasses.dataclass
class Node:
    name: str
    parent: Node | None = None
    tags: set[str] = dataclasses.field(default_factory=set)


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str exploded")


def hostile_frame() -> None:
    cycle_list: list[Any] = []
    cycle_list.append(cycle_list)
    cycle_dict: dict[str, Any] = {}
    cycle_dict["me"] = cycle_dict
    node = Node("root", tags={"a"})
    node.parent = node
    raising_repr = RaisingRepr()
    non_string_repr = NonStringRepr()
    raising_class = RaisingClass()
    anything = AnythingGoes()
    raising_items = RaisingItems(a=1)
    endless = EndlessList([1])
    counter = itertools.count()
    generator = (n for n in range(3))
    huge_range = range(10**12)
    huge_list = list(range(1_000_000))
    huge_dict = {n: n for n in range(100_000)}
    raw = b"\x00\xff" * 1000
    mutable = bytearray(b"abc")
    amount = decimal.Decimal("10.50")
    when = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    day = datetime.date(2024, 5, 6)
    ident = uuid.UUID(int=7)
    colors = {Color.RED}
    frozen = frozenset({"x"})
    color = Color.RED
    permission = Permission.READ
    big = 10**100
    not_a_number = float("nan")
    infinite = float("-inf")
    odd_keys = {(1, 2): "tuple", None: "none", RaisingRepr(): "raising"}
    deep: list[Any] = []
    level = deep
    for _ in range(30):
        level.append([])
        level = level[0]
    raise UnprintableError()


def test_hostile_locals_arrive_json_safe(sentry: Harness, client: Any) -> None:
    """Cycles, raising reprs, endless iterables, bytes, Decimal, datetime, UUID, sets, enums and
    dataclasses in locals are sent, and Relay accepts the event."""
    try:
        hostile_frame()
    except UnprintableError:
        client.captureException()
    event = sentry.event()
    value = event["exception"]["values"][-1]
    assert value["type"] == "UnprintableError" and value["value"] == "<exception str() failed>"
    v = value["stacktrace"]["frames"][-1]["vars"]
    assert v["cycle_list"] == ["<cycle>"]
    assert v["cycle_dict"] == {"me": "<cycle>"}
    assert v["node"] == {"name": "root", "parent": "<cycle>", "tags": ["a"]}
    assert v["raising_repr"] == "<RaisingRepr instance: repr failed>"
    assert v["non_string_repr"] == "<NonStringRepr instance: repr failed>"
    assert isinstance(v["raising_class"], str)
    assert v["anything"] == "<anything>"
    assert v["raising_items"] == "{'a': 1}"
    assert v["endless"] == [1] * 50
    assert v["counter"] == "count(0)"
    assert v["generator"].startswith("<generator object")
    assert v["huge_range"] == list(range(50))
    assert v["huge_list"] == list(range(50))
    assert len(v["huge_dict"]) == 51 and v["huge_dict"]["..."] == "99950 more items"
    assert v["raw"].startswith("b'\\x00\\xff") and len(v["raw"]) == 400
    assert v["mutable"] == "b'abc'"
    assert v["amount"] == "10.50"
    assert v["when"] == "2024-05-06T07:08:09+00:00" and v["day"] == "2024-05-06"
    assert v["ident"] == "00000000-0000-0000-0000-000000000007"
    assert v["colors"] == ["<Color.RED: 'red'>"] and v["frozen"] == ["x"]
    assert v["color"] == "<Color.RED: 'red'>" and v["permission"] == "<Permission.READ: 1>"
    assert v["big"] == str(10**100)
    assert v["not_a_number"] == "nan" and v["infinite"] == "-inf"
    assert v["odd_keys"] == {
        "(1, 2)": "tuple",
        "None": "none",
        "<RaisingRepr instance: repr failed>": "raising",
    }
    assert isinstance(v["deep"], list)


def test_generators_are_not_consumed(collector: CollectingClient) -> None:
    """Serializing a generator or iterator never advances it."""
    generator = (n for n in range(3))
    collector.captureMessage("gen", extra={"generator": generator, "iterator": iter([1, 2])})
    assert next(generator) == 0


def test_hostile_extra_and_context(sentry: Harness, client: Any) -> None:
    """Hostile objects in extra, user and tags context are sent too."""
    client.user_context({"id": uuid.UUID(int=1), "obj": RaisingRepr()})
    client.extra_context({"cycle": (c := []), "when": datetime.time(1, 2)})
    c.append(c)
    client.captureMessage(
        "ctx",
        extra={"amount": decimal.Decimal("1"), "raising": RaisingRepr()},
        tags={"obj": RaisingRepr(), "n": 3},
    )
    event = sentry.event()
    assert event["user"]["id"] == "00000000-0000-0000-0000-000000000001"
    assert event["extra"]["cycle"] == ["<cycle>"] and event["extra"]["when"] == "01:02:00"
    assert event["extra"]["raising"] == "<RaisingRepr instance: repr failed>"
    assert event["tags"]["n"] == "3" and isinstance(event["tags"]["obj"], str)


def test_depth_is_limited() -> None:
    """Nesting deeper than ``max_depth`` becomes a truncated repr string."""
    deep: list[Any] = []
    level = deep
    for _ in range(20):
        level.append([])
        level = level[0]
    out = Serializer(max_depth=3)(deep)
    assert isinstance(out[0][0][0], str)


def test_strings_keys_and_bytes_are_truncated() -> None:
    """Long strings, dict keys and bytes are cut to ``string_max_length`` with ``...``."""
    out = transform({"k" * 50: "v" * 50, "b": b"x" * 50}, string_max_length=10)
    assert out == {"kkkkkkk...": "vvvvvvv...", "b": "b'xxxxx..."}


def test_safe_repr_never_raises() -> None:
    """``safe_repr`` returns a placeholder for objects whose repr raises or is not a string."""
    assert safe_repr(RaisingRepr()) == "<RaisingRepr instance: repr failed>"
    assert safe_repr("x" * 1000, 20) == "'" + "x" * 16 + "..."

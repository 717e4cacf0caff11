"""raven-python's event classes (``raven.events.Exception``, ``Message``, ``Query``): each builds
its part of an event with Raven's own steps in :mod:`raven.events`. The client does not use
them; code that called them directly (or subclassed them) keeps working."""

from __future__ import annotations

from typing import Any

from . import events

__all__ = ["BaseEvent", "Exception", "Message", "Query"]


class BaseEvent:
    """An event type: ``capture(**kwargs)`` returns the event data it contributes."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def to_string(self, data: dict[str, Any]) -> str:
        """The event's one-line message."""
        raise NotImplementedError

    def capture(self, **kwargs: Any) -> dict[str, Any]:
        """The event data for ``kwargs``."""
        return {}

    def transform(self, value: Any) -> Any:
        """``value`` made JSON-safe by the client's serializer."""
        return self.client.serializer(value)


class Exception(BaseEvent):  # noqa: A001 - raven-python's name
    """An exception, its chain and stack: the ``exception`` interface and level ``error``."""

    def to_string(self, data: dict[str, Any]) -> str:
        """``"Type: value"`` of the captured (last) exception."""
        last = data["exception"]["values"][-1]
        return f"{last['type']}: {last['value']}" if last.get("value") else str(last["type"])

    def capture(self, exc_info: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The ``exception`` data of ``exc_info`` (default: the exception being handled)."""
        exc = events.to_exception(exc_info)
        if exc is None:
            raise ValueError("no exception to capture: pass exc_info or call from an except block")
        data: dict[str, Any] = {}
        events.add_exception(data, exc, self.client.stacks)
        return data


class Message(BaseEvent):
    """A message and its parameters: the ``logentry`` interface."""

    def to_string(self, data: dict[str, Any]) -> str:
        """The formatted message."""
        return str(data["logentry"]["formatted"])

    def capture(  # type: ignore[override]  # raven-python's signature
        self, message: str, params: Any = (), formatted: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The ``logentry`` data of ``message`` % ``params`` (``formatted`` overrides the text)."""
        data: dict[str, Any] = {}
        events.add_message(data, message, params, self.client.serializer)
        if formatted is not None:
            data["logentry"]["formatted"] = formatted
        data.pop("level", None)
        return data


class Query(BaseEvent):
    """A SQL query: a ``logentry`` with the query, logger ``db`` and the engine in ``extra``."""

    def to_string(self, data: dict[str, Any]) -> str:
        """The query text."""
        return str(data["logentry"]["formatted"])

    def capture(  # type: ignore[override]  # raven-python's signature
        self, query: str, engine: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The query's ``logentry`` (its parameters are not sent: they may be user data)."""
        data: dict[str, Any] = {"logger": "db"}
        events.add_message(data, query, (), self.client.serializer, level="info")
        if engine:
            data["extra"] = {"engine": engine}
        return data


def lookup(name: str) -> Any:
    """``raven.events.<name>`` for raven-python's class names (with a deprecation warning)."""
    if name not in __all__:
        raise AttributeError(f"module 'raven.events' has no attribute {name!r}")
    from ._deprecated import warn_moved

    new = {"Message": "captureMessage", "Query": "captureQuery"}.get(name, "captureException")
    warn_moved(f"raven.events.{name}", f"raven.Client.{new}", stacklevel=4)
    return globals()[name]

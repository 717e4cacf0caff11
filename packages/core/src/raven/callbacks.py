"""User callbacks on the capture path: ``processors`` and ``before_send``, loaded, run and
reported on once when they misbehave (never a traceback from inside the client)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .exceptions import ConfigurationError
from .serializer import safe_repr

__all__ = [
    "WarnOnce",
    "describe",
    "load_processor",
    "name_of",
    "rejected",
    "run_before_send",
    "run_processors",
]

logger = logging.getLogger("raven.client")


class WarnOnce:
    """``warn(key, message, *args)``: one warning per key (per misbehaving callback or helper),
    not one per event or breadcrumb."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._warned: set[str] = set()

    def __call__(self, key: str, message: str, *args: Any) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        self._log.warning(message, *args)


def describe(value: Any) -> str:
    """A short, never-raising description of what a callback returned, for a warning."""
    return f"{type(value).__name__} {safe_repr(value, 80)}"


def name_of(func: Any) -> str:
    """A callback's name, for a warning."""
    return str(getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or func)


def rejected(
    result: Any, expected: type[Any], warn: Callable[..., None], key: str, message: str, *args: Any
) -> bool:
    """Whether a callback's ``result`` drops what it was given: None does, silently; what is not
    an ``expected`` does too, with a warning (``message`` with ``args``, then the result)."""
    if result is None:
        return True
    if isinstance(result, expected):
        return False
    warn(key, message, *args, describe(result))
    return True


def load_processor(spec: Any, client: Any) -> Any:
    """One entry of the ``processors`` option (a class, an instance or a dotted path) as a
    processor; what cannot be one fails loudly, naming the option."""
    try:
        if isinstance(spec, str):
            module, _, name = spec.rpartition(".")
            __import__(module)  # importlib.import_module without importing importlib at start-up
            spec = getattr(sys.modules[module], name)
        processor = spec(client) if isinstance(spec, type) else spec
    except Exception as exc:
        raise ConfigurationError(f"option 'processors': cannot load {spec!r}: {exc}") from None
    if not callable(getattr(processor, "process", None)):
        raise ConfigurationError(
            "option 'processors' must hold Processor classes, instances or dotted paths "
            f"(something with a process(data) method), got {spec!r}"
        )
    return processor


def run_processors(
    processors: Iterable[Any], event: dict[str, Any], warn: Callable[..., None]
) -> dict[str, Any]:
    """``event`` after each processor; one that raises or returns something else than an event
    is skipped (the event stays as it was before it)."""
    for processor in processors:
        try:
            result = processor.process(event)
        except Exception:
            logger.exception("processor %r failed", processor)
            continue
        if isinstance(result, Mapping):
            if result:  # as before: an empty result keeps the event
                event = result if isinstance(result, dict) else dict(result)
        elif result is not None:  # keep the event as it was before this processor
            warn(
                f"processor {id(processor)}",
                "processor %r returned %s, not the event (a dict); its result is ignored",
                processor,
                describe(result),
            )
    return event


def run_before_send(
    before_send: Callable[[dict[str, Any], dict[str, Any]], Any],
    event: dict[str, Any],
    hint: dict[str, Any],
    warn: Callable[..., None],
) -> dict[str, Any] | None:
    """``before_send``'s answer as an event, or None to drop; what is not an event is warned
    about once and dropped."""
    from .events import new_event  # here: breadcrumbs imports this module, and needs no events

    result = before_send(event, hint)
    if rejected(
        result,
        Mapping,
        warn,
        "before_send",
        "before_send %s returned %s, not an event (a dict) or None; the event is dropped",
        name_of(before_send),
    ):
        return None
    result = dict(result)
    if not result.get("event_id"):  # a new dict built by the callback
        result["event_id"] = new_event({})["event_id"]
    return result

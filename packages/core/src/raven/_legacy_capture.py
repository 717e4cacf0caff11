"""What raven-python's ``capture(data=...)`` accepted, brought to Raven's event shape.

raven-python passed ``data`` through almost untouched: interfaces under their dotted names
(``"sentry.interfaces.Http"``), a ``site`` key that became the ``site`` tag, an ``exception`` or
``stacktrace`` built by hand. :func:`normalize` renames the interfaces to Sentry's current keys,
turns ``site`` into a tag and marks the frames given without ``in_app`` by the client's rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["INTERFACES", "normalize", "split_record_data"]

# raven-python's interface names (and their short aliases) -> the event key Sentry reads now
INTERFACES = {
    "sentry.interfaces.Message": "logentry",
    "sentry.interfaces.Exception": "exception",
    "sentry.interfaces.Stacktrace": "stacktrace",
    "sentry.interfaces.Http": "request",
    "sentry.interfaces.User": "user",
    "sentry.interfaces.Template": "template",
    "sentry.interfaces.Breadcrumbs": "breadcrumbs",
    "sentry.interfaces.Threads": "threads",
    "sentry.interfaces.Contexts": "contexts",
    "sentry.interfaces.Query": "logentry",
    "message": "message",
}
_DOTTED = tuple(k for k in INTERFACES if k.startswith("sentry."))
_TRIGGERS = frozenset(_DOTTED) | {"site", "stacktrace", "exception"}


def normalize(data: Mapping[str, Any] | None, stacks: Any) -> Mapping[str, Any] | None:
    """``data`` with raven-python's keys in Sentry's shape (a new dict when anything changed)."""
    if not data or _TRIGGERS.isdisjoint(data):
        return data  # the common case: nothing to do, nothing copied
    out = dict(data)
    for old in _DOTTED:
        if old in out:
            value = out.pop(old)
            out.setdefault(INTERFACES[old], value)
    if isinstance(out.get("logentry"), Mapping) and "formatted" not in out["logentry"]:
        entry = dict(out["logentry"])
        entry["formatted"] = str(entry.get("message", ""))
        out["logentry"] = entry
    site = out.pop("site", None)
    if site:
        out["tags"] = {"site": site, **(out.get("tags") or {})}
    exception = out.get("exception")
    if isinstance(exception, list):  # raven-python accepted the values list itself
        out["exception"] = exception = {"values": exception}
    for frame in _frames(out):
        if isinstance(frame, dict) and frame.get("in_app") is None:
            module = frame.get("module")
            frame["in_app"] = isinstance(module, str) and stacks.in_app(
                module, str(frame.get("abs_path") or frame.get("filename") or "")
            )
    return out


def _frames(data: Mapping[str, Any]) -> Iterator[Any]:
    stacktrace = data.get("stacktrace")
    if isinstance(stacktrace, Mapping):
        yield from stacktrace.get("frames") or ()
    exception = data.get("exception")
    values = exception.get("values") if isinstance(exception, Mapping) else None
    for value in values if isinstance(values, list) else ():
        trace = value.get("stacktrace") if isinstance(value, Mapping) else None
        if isinstance(trace, Mapping):
            yield from trace.get("frames") or ()


def split_record_data(value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(event fields, extra) of a log record's ``extra={"data": ...}``, as raven-python read it:
    interface names (dotted or Sentry's: ``request``, ``user``, ``transaction`` ...) shape the
    event, every other key goes to ``extra``; a value that is not a dict is ``extra["data"]``."""
    from .events import _PASSTHROUGH

    if value is None:
        return {}, {}
    if not isinstance(value, Mapping):
        return {}, {"data": value}
    fields = {*_PASSTHROUGH, "tags", "extra"}
    data: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(key, str) and (key in fields or key in INTERFACES or "." in key):
            data[key] = item
        else:
            extra[key] = item
    return data, extra

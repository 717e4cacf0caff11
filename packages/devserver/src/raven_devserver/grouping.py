"""Which issue an event belongs to, and how the issue is named.

Events group by the fingerprint they carry, else by what stays the same when the code around an
error changes: the exception types and the in-app frames' modules and functions (never line
numbers, paths or releases), or the message template for messages.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Grouping", "default_components", "group", "message_template", "user_key"]

_VARIABLE = re.compile(r"^\{\{\s*([\w.]+)\s*\}\}$")
_TITLE_LENGTH = 200


@dataclass(frozen=True)
class Grouping:
    """An event's group hash with the issue's title, culprit and type (error, message or default)."""

    hash: str
    title: str
    culprit: str
    kind: str


def _exceptions(event: dict[str, Any]) -> list[dict[str, Any]]:
    exception = event.get("exception")
    values = exception.get("values") if isinstance(exception, dict) else exception
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []


def _frames(exception: dict[str, Any]) -> list[dict[str, Any]]:
    stacktrace = exception.get("stacktrace")
    frames = stacktrace.get("frames") if isinstance(stacktrace, dict) else None
    return [f for f in frames if isinstance(f, dict)] if isinstance(frames, list) else []


def _frame_module(frame: dict[str, Any]) -> str:
    module = frame.get("module")
    if module:
        return str(module)
    path = str(frame.get("filename") or frame.get("abs_path") or "?")
    return path.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py")


def message_template(event: dict[str, Any]) -> str | None:
    """The message before its parameters were put in (``logentry.message``), else the message."""
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        text = logentry.get("message") or logentry.get("formatted")
        if text:
            return str(text)
    message = event.get("message")
    if isinstance(message, dict):
        message = message.get("message") or message.get("formatted")
    return str(message) if message else None


def _formatted_message(event: dict[str, Any]) -> str | None:
    logentry = event.get("logentry")
    if isinstance(logentry, dict) and logentry.get("formatted"):
        return str(logentry["formatted"])
    message = event.get("message")
    if isinstance(message, dict):
        message = message.get("formatted") or message.get("message")
    return str(message) if message else message_template(event)


def default_components(event: dict[str, Any]) -> list[str]:
    """What the default grouping hashes: per exception its type and in-app frames (all frames when
    none is in-app, the value when there is no stack); else the message template."""
    exceptions = _exceptions(event)
    if exceptions:
        parts: list[str] = []
        for exception in exceptions:
            parts.append(str(exception.get("type") or "Error"))
            frames = _frames(exception)
            chosen = [f for f in frames if f.get("in_app")] or frames
            if chosen:
                parts += [f"{_frame_module(f)}:{f.get('function') or '?'}" for f in chosen]
            else:
                parts.append(str(exception.get("value") or ""))
        return ["exception", *parts]
    template = message_template(event)
    if template is not None:
        return ["message", template]
    return ["event", str(event.get("transaction") or event.get("logger") or "")]


def _variable(name: str, event: dict[str, Any]) -> list[str]:
    if name == "default":
        return default_components(event)
    if name == "transaction":
        return [str(event.get("transaction") or "")]
    if name == "level":
        return [str(event.get("level") or "error")]
    if name == "type":
        return [str(e.get("type") or "") for e in _exceptions(event)]
    if name == "message":
        return [message_template(event) or ""]
    return ["{{ " + name + " }}"]  # an unknown variable stays as written


def _components(event: dict[str, Any]) -> list[str]:
    fingerprint = event.get("fingerprint")
    if not isinstance(fingerprint, list) or not fingerprint:
        return default_components(event)
    only = _VARIABLE.match(str(fingerprint[0])) if len(fingerprint) == 1 else None
    if only and only.group(1).lower() == "default":
        return default_components(event)  # the same issue as events without a fingerprint
    parts: list[str] = ["fingerprint"]
    for part in fingerprint:
        match = _VARIABLE.match(str(part))
        parts += _variable(match.group(1).lower(), event) if match else [str(part)]
    return parts


def _shorten(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= _TITLE_LENGTH else line[: _TITLE_LENGTH - 1] + "…"


def _culprit(event: dict[str, Any], exceptions: list[dict[str, Any]]) -> str:
    for key in ("culprit", "transaction"):
        if event.get(key):
            return _shorten(str(event[key]))
    for exception in reversed(exceptions):
        frames = _frames(exception)
        for frame in reversed([f for f in frames if f.get("in_app")] or frames):
            return f"{_frame_module(frame)} in {frame.get('function') or '?'}"
    return str(event.get("logger") or "")


def group(event: dict[str, Any]) -> Grouping:
    """The issue ``event`` belongs to (its hash) and the issue's title and culprit."""
    components = _components(event)
    digest = hashlib.sha1(json.dumps(components).encode(), usedforsecurity=False).hexdigest()
    exceptions = _exceptions(event)
    if exceptions:
        last = exceptions[-1]
        kind_name = str(last.get("type") or "Error")
        value = str(last.get("value") or "")
        title, kind = (f"{kind_name}: {value}" if value else kind_name), "error"
    elif message_template(event) is not None:
        title, kind = _formatted_message(event) or "", "message"
    else:
        title, kind = str(event.get("transaction") or "<unlabeled event>"), "default"
    return Grouping(digest[:32], _shorten(title), _culprit(event, exceptions), kind)


def user_key(event: dict[str, Any]) -> str | None:
    """Who the event happened to, for "users affected": the user's id, email, username or IP."""
    user = event.get("user")
    if not isinstance(user, dict):
        return None
    for key in ("id", "email", "username", "ip_address"):
        if user.get(key) not in (None, ""):
            return f"{key}:{user[key]}"
    return None

"""What raven-python's ``raven.utils.*`` offered that Raven has no public name for, with
raven-python's signatures, each a thin layer over Raven's own modules (``raven.utils`` resolves
the old names here, with a ``DeprecationWarning``)."""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from types import FrameType
from typing import Any
from urllib.parse import quote

from .httpdata import get_headers_from_environ, get_host_from_environ
from .serializer import Serializer
from .stacks import StackBuilder

__all__ = [
    "dumps",
    "force_text",
    "get_auth_header",
    "get_current_url",
    "get_environ",
    "get_headers",
    "get_stack_info",
    "iter_stack_frames",
    "loads",
    "merge_dicts",
    "to_string",
    "varmap",
]


# -- raven.utils ----------------------------------------------------------------------------------
def get_auth_header(
    protocol: Any,
    timestamp: Any,
    client: str,
    api_key: str,
    api_secret: str | None = None,
    **_: Any,
) -> str:
    """The ``X-Sentry-Auth`` value, as raven-python built it (with a timestamp)."""
    parts = [
        ("sentry_timestamp", timestamp),
        ("sentry_client", client),
        ("sentry_version", protocol),
        ("sentry_key", api_key),
    ]
    if api_secret:
        parts.append(("sentry_secret", api_secret))
    return "Sentry " + ", ".join(f"{k}={v}" for k, v in parts)


def merge_dicts(*dicts: Mapping[str, Any] | None) -> dict[str, Any]:
    """One dict from several (later ones win); None is skipped."""
    out: dict[str, Any] = {}
    for item in dicts:
        if item:
            out.update(item)
    return out


def varmap(
    func: Callable[[Any, Any], Any],
    var: Any,
    context: dict[int, int] | None = None,
    name: Any = None,
) -> Any:
    """``func(key, value)`` applied to every value of nested dicts and lists (a cycle gives
    ``func(name, "<...>")``), as raven-python's processors walked data."""
    context = {} if context is None else context
    if id(var) in context:
        return func(name, "<...>")
    context[id(var)] = 1
    try:
        if isinstance(var, (list, tuple)) and not hasattr(var, "_fields"):
            return [varmap(func, item, context, name) for item in var]
        result = func(name, var)
        if isinstance(result, Mapping):
            result = {k: varmap(func, v, context, k) for k, v in var.items()}
        return result
    finally:
        del context[id(var)]


# -- raven.utils.stacks ---------------------------------------------------------------------------
def iter_stack_frames(frames: Iterable[Any] | None = None) -> Iterator[tuple[FrameType, int]]:
    """(frame, lineno) pairs, oldest first, from ``inspect.stack()`` records (newest first, as
    ``inspect.stack()`` gives them; default: the caller's stack), like raven-python's."""
    records = list(frames) if frames else inspect.stack()[1:]
    for record in reversed(records):
        frame, lineno = record[0], record[2]
        if not frame.f_locals.get("__traceback_hide__"):
            yield frame, lineno


_STACKS: StackBuilder | None = None


def get_stack_info(
    frames: Iterable[Any],
    transformer: Callable[[Any], Any] | None = None,
    capture_locals: bool = True,
    frame_allowance: int = 25,
) -> dict[str, Any]:
    """``{"frames": [...]}`` for (frame, lineno) pairs or frames, in the order given (raven-python
    passed them oldest first), built by Raven's stack builder. ``transformer`` is applied to
    each local; ``frame_allowance`` bounds how many frames keep their locals and context."""
    global _STACKS
    if _STACKS is None:
        _STACKS = StackBuilder(Serializer())
    pairs: list[tuple[FrameType, int]] = []
    for item in frames:
        frame, lineno = item if isinstance(item, (list, tuple)) else (item, item.f_lineno)
        if not frame.f_locals.get("__traceback_hide__"):
            pairs.append((frame, lineno))
    result = _STACKS.stacktrace(pairs, capture_locals)
    built = result["frames"]
    if transformer is not None:
        for frame in built:
            if "vars" in frame:
                frame["vars"] = {k: transformer(v) for k, v in frame["vars"].items()}
    if len(built) > frame_allowance:  # keep both ends whole, slim the middle
        half = frame_allowance // 2
        for frame in built[half : len(built) - half]:
            for key in ("vars", "pre_context", "post_context"):
                frame.pop(key, None)
    return result


# -- raven.utils.wsgi -----------------------------------------------------------------------------
def get_headers(environ: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(name, value) of the HTTP headers of a WSGI environ."""
    yield from get_headers_from_environ(environ).items()


def get_environ(environ: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(key, value) of ``REMOTE_ADDR``, ``SERVER_NAME`` and ``SERVER_PORT`` when present."""
    for key in ("REMOTE_ADDR", "SERVER_NAME", "SERVER_PORT"):
        if key in environ:
            yield key, environ[key]


def get_current_url(
    environ: Mapping[str, Any],
    root_only: bool = False,
    strip_querystring: bool = False,
    host_only: bool = False,
) -> str:
    """The URL of a WSGI request (raven-python's and werkzeug's signature)."""
    url = f"{environ.get('wsgi.url_scheme', 'http')}://{get_host_from_environ(environ)}"
    if host_only:
        return url + "/"
    url += quote(str(environ.get("SCRIPT_NAME", "")).rstrip("/"))
    if root_only:
        return url + "/"
    url += quote("/" + str(environ.get("PATH_INFO", "")).lstrip("/"))
    query = environ.get("QUERY_STRING")
    return f"{url}?{query}" if query and not strip_querystring else url


# -- raven.utils.json and raven.utils.encoding ----------------------------------------------------
def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return repr(value)


def dumps(value: Any, **kwargs: Any) -> str:
    """JSON text of ``value``; what JSON cannot hold (uuids, dates, sets, bytes) is converted."""
    kwargs.setdefault("default", _default)
    kwargs.setdefault("separators", (",", ":"))
    return json.dumps(value, **kwargs)


def loads(value: str | bytes, **kwargs: Any) -> Any:
    """The value of JSON text (bytes decoded as UTF-8, bad bytes replaced)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return json.loads(value, **kwargs)


def force_text(
    value: Any, encoding: str = "utf-8", strings_only: bool = False, errors: str = "strict"
) -> Any:
    """``value`` as text (bytes decoded); with ``strings_only``, numbers and None stay as they are."""
    if isinstance(value, str):
        return value
    if strings_only and (value is None or isinstance(value, (int, float, datetime, date))):
        return value
    if isinstance(value, bytes):
        return value.decode(encoding, errors)
    return str(value)


def to_string(value: Any) -> str:
    """``value`` as ``str`` (bytes decoded as UTF-8, bad bytes replaced)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

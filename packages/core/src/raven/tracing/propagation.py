"""Reading and writing the headers that carry a trace across services.

- ``sentry-trace: {trace_id}-{span_id}[-{0|1}]``: the caller's trace, its span and (optionally)
  its sampling decision.
- ``traceparent: 00-{trace_id}-{span_id}-{flags}`` (W3C, what OpenTelemetry sends): the same,
  bit 0 of the flags being the decision. Read when there is no ``sentry-trace``.
- ``baggage: k=v,k=v``: the ``sentry-`` entries are the dynamic sampling context (DSC: trace id,
  public key, sample rate and random value, release, environment, transaction); other vendors'
  entries are passed on untouched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

from .scope import PropagationContext

__all__ = ["continue_from", "format_baggage", "parse_baggage", "read_incoming"]

_SENTRY_TRACE = re.compile(r"^[ \t]*([0-9a-f]{32})?-?([0-9a-f]{16})?-?([01])?[ \t]*$")
_TRACEPARENT = re.compile(r"^[ \t]*00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})[ \t]*$")
MAX_BAGGAGE_BYTES = 8192  # W3C's limit for the whole header
_HEADER_KEYS = {
    "sentry-trace": ("sentry-trace", "Sentry-Trace", "HTTP_SENTRY_TRACE"),
    "traceparent": ("traceparent", "Traceparent", "HTTP_TRACEPARENT"),
    "baggage": ("baggage", "Baggage", "HTTP_BAGGAGE"),
}


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key in _HEADER_KEYS[name]:
        value = headers.get(key)
        if value:
            return value if isinstance(value, str) else _text(value)
    return None


def _case_insensitive(headers: Mapping[str, Any]) -> Mapping[str, Any]:
    """A plain dict of headers in any case (a Lambda event's), lower-cased once; a WSGI environ
    and the frameworks' header objects are looked up as they are."""
    if type(headers) is not dict or "wsgi.version" in headers or "REQUEST_METHOD" in headers:
        return headers
    return {k.lower() if isinstance(k, str) else k: v for k, v in headers.items()}


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)) and value:  # multi-valued header containers
        return ",".join(str(v) for v in value)
    return None


def read_incoming(headers: Mapping[str, Any]) -> PropagationContext | None:
    """The caller's trace from ``headers`` (a mapping of HTTP headers, in any case, or a WSGI
    environ), or None when they carry none (or only malformed ones)."""
    trace_id = parent_span_id = None
    sampled: bool | None = None
    headers = _case_insensitive(headers)
    sentry_trace = _header(headers, "sentry-trace")
    match = _SENTRY_TRACE.match(sentry_trace) if sentry_trace else None
    if match and match.group(1) and match.group(2) and _nonzero(match.group(1), match.group(2)):
        trace_id, parent_span_id, flag = match.groups()
        sampled = None if flag is None else flag == "1"
    else:
        traceparent = _header(headers, "traceparent")
        match = _TRACEPARENT.match(traceparent.lower()) if traceparent else None
        if match and _nonzero(match.group(1), match.group(2)):
            trace_id, parent_span_id = match.group(1), match.group(2)
            sampled = bool(int(match.group(3), 16) & 1)
    if trace_id is None:
        return None
    dsc, other = parse_baggage(_header(headers, "baggage") or "")
    if dsc.get("trace_id") not in (None, trace_id):
        dsc = {}  # baggage of another trace (a proxy mixed them up): not ours to freeze
    return PropagationContext(trace_id, parent_span_id, sampled, dsc or None, other)


def continue_from(context: Any, headers: Mapping[str, Any] | None) -> PropagationContext | None:
    """Make the caller's trace (read from ``headers``) the trace of ``context``'s scope; None
    when they carry none."""
    incoming = read_incoming(headers) if headers else None
    if incoming is not None:
        context.trace = incoming
    return incoming


def _nonzero(trace_id: str, span_id: str) -> bool:
    """All-zero ids are invalid (W3C): such a header starts a new trace."""
    return trace_id.strip("0") != "" and span_id.strip("0") != ""


def parse_baggage(header: str) -> tuple[dict[str, str], str]:
    """(the ``sentry-`` entries without their prefix, the other entries as they came)."""
    sentry: dict[str, str] = {}
    other: list[str] = []
    for entry in header[:MAX_BAGGAGE_BYTES].split(","):
        key, sep, value = entry.partition("=")
        key = key.strip()
        if not sep or not key:
            continue
        if key.startswith("sentry-"):
            sentry[unquote(key[7:])] = unquote(value.split(";", 1)[0].strip())
        else:
            other.append(entry.strip())
    return sentry, ",".join(other)


def format_baggage(dsc: Mapping[str, Any], other: str = "") -> str:
    """The ``baggage`` header for ``dsc``, after the caller's other entries."""
    entries = [other] if other else []
    for key, value in dsc.items():
        if value is not None:
            text = value if type(value) is str else str(value)
            if not (text.isascii() and text.isalnum()):  # ids, names: nothing to quote
                text = quote(text, safe="")
            entries.append(f"sentry-{key}={text}")
    return ",".join(entries)

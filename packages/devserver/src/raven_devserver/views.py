"""Events and transactions shaped for the templates: the exception chain newest first, frames
most recent first with runs of library frames folded, context lines numbered, breadcrumbs,
request, user, tags, contexts; spans laid out as a waterfall."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .records import epoch

__all__ = ["event_view", "pretty", "stamp", "waterfall"]


def pretty(value: Any) -> str:
    """A value as text for the page: strings as they are, the rest as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def stamp(value: Any) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS`` UTC ("" when there is none)."""
    seconds = epoch(value)
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _pairs(value: Any) -> list[tuple[str, Any]]:
    """Sentry's key/value fields come as objects or as lists of pairs."""
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, list):
        return [(str(p[0]), p[1]) for p in value if isinstance(p, list | tuple) and len(p) == 2]
    return []


def _context_lines(frame: dict[str, Any]) -> list[tuple[int | None, str, bool]]:
    lineno = frame.get("lineno") if isinstance(frame.get("lineno"), int) else None
    pre = [str(x) for x in frame.get("pre_context") or []]
    post = [str(x) for x in frame.get("post_context") or []]
    if frame.get("context_line") is None:
        return []
    first = lineno - len(pre) if lineno is not None else None
    lines = [*pre, str(frame["context_line"]), *post]
    return [
        (first + i if first is not None else None, line, i == len(pre))
        for i, line in enumerate(lines)
    ]


def _frame(frame: dict[str, Any]) -> dict[str, Any]:
    return {
        "filename": frame.get("filename") or frame.get("abs_path") or frame.get("module") or "?",
        "function": frame.get("function") or "?",
        "module": frame.get("module") or "",
        "lineno": frame.get("lineno"),
        "in_app": bool(frame.get("in_app")),
        "context": _context_lines(frame),
        "vars": _pairs(frame.get("vars")),
    }


def _frame_runs(frames: list[Any]) -> list[dict[str, Any]]:
    """Frames most recent first, consecutive library frames gathered into one folded run."""
    runs: list[dict[str, Any]] = []
    for raw in reversed([f for f in frames if isinstance(f, dict)]):
        frame = _frame(raw)
        if frame["in_app"] or not runs or runs[-1]["in_app"]:
            runs.append({"in_app": frame["in_app"], "frames": [frame]})
        else:
            runs[-1]["frames"].append(frame)
    if runs and not any(run["in_app"] for run in runs):
        for run in runs:  # nothing is in-app: show everything rather than fold it all
            run["in_app"] = True
    return runs


def _stack(title: str, value: str, stacktrace: Any, mechanism: Any = None) -> dict[str, Any]:
    frames = stacktrace.get("frames") if isinstance(stacktrace, dict) else None
    handled = mechanism.get("handled") if isinstance(mechanism, dict) else None
    return {
        "type": title,
        "value": value,
        "mechanism": mechanism.get("type") if isinstance(mechanism, dict) else None,
        "handled": handled,
        "runs": _frame_runs(frames if isinstance(frames, list) else []),
    }


def _stacks(data: dict[str, Any]) -> list[dict[str, Any]]:
    exception = data.get("exception")
    values = exception.get("values") if isinstance(exception, dict) else exception
    stacks = [
        _stack(
            str(v.get("type") or "Error"),
            str(v.get("value") or ""),
            v.get("stacktrace"),
            v.get("mechanism"),
        )
        for v in reversed(values if isinstance(values, list) else [])
        if isinstance(v, dict)
    ]
    if not stacks and isinstance(data.get("stacktrace"), dict):
        stacks.append(_stack("Stack trace", "", data["stacktrace"]))
    if not stacks and isinstance(data.get("threads"), dict):
        for thread in data["threads"].get("values") or []:
            if isinstance(thread, dict) and isinstance(thread.get("stacktrace"), dict):
                name = f"Thread {thread.get('name') or thread.get('id') or ''}".strip()
                stacks.append(_stack(name, "", thread["stacktrace"]))
    return stacks


def _breadcrumbs(data: dict[str, Any]) -> list[dict[str, Any]]:
    crumbs = data.get("breadcrumbs")
    values = crumbs.get("values") if isinstance(crumbs, dict) else crumbs
    return [
        {
            "time": stamp(c.get("timestamp")),
            "category": c.get("category") or c.get("type") or "",
            "level": c.get("level") or "info",
            "message": c.get("message") or "",
            "data": c.get("data") or {},
        }
        for c in (values if isinstance(values, list) else [])
        if isinstance(c, dict)
    ]


def _message(data: dict[str, Any]) -> str:
    logentry = data.get("logentry")
    if isinstance(logentry, dict):
        return str(logentry.get("formatted") or logentry.get("message") or "")
    message = data.get("message")
    if isinstance(message, dict):
        return str(message.get("formatted") or message.get("message") or "")
    return str(message or "")


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def event_view(data: dict[str, Any]) -> dict[str, Any]:
    """What the event page shows, from an event's JSON."""
    contexts = _object(data.get("contexts"))
    trace = _object(contexts.get("trace"))
    request = _object(data.get("request"))
    return {
        "message": _message(data),
        "stacks": _stacks(data),
        "breadcrumbs": _breadcrumbs(data),
        "request": {
            "method": request.get("method") or "",
            "url": request.get("url") or "",
            "query_string": request.get("query_string") or "",
            "headers": _pairs(request.get("headers")),
            "cookies": request.get("cookies"),
            "data": request.get("data"),
            "env": _pairs(request.get("env")),
        }
        if request
        else None,
        "user": _pairs(data.get("user")),
        "tags": _pairs(data.get("tags")),
        "contexts": [(k, _pairs(v)) for k, v in contexts.items() if isinstance(v, dict)],
        "extra": _pairs(data.get("extra")),
        "trace_id": trace.get("trace_id"),
        "sdk": _object(data.get("sdk")),
        "fingerprint": data.get("fingerprint"),
        "fields": [
            (k, data.get(k))
            for k in ("level", "platform", "logger", "transaction", "server_name", "release")
            + ("environment", "dist")
            if data.get(k) not in (None, "")
        ],
    }


def waterfall(data: dict[str, Any]) -> dict[str, Any]:
    """A transaction's spans as bars: offset and width in percent of the transaction, depth by
    parent, sorted by start."""
    start = epoch(data.get("start_timestamp"), 0.0) or 0.0
    end = epoch(data.get("timestamp"), start) or start
    total = max(end - start, 1e-9)
    trace = _object(_object(data.get("contexts")).get("trace"))
    depth = {trace.get("span_id"): 0}
    spans = sorted(
        (s for s in data.get("spans") or [] if isinstance(s, dict)),
        key=lambda s: epoch(s.get("start_timestamp"), start) or start,
    )
    bars = []
    for span in spans:
        s_start = epoch(span.get("start_timestamp"), start) or start
        s_end = epoch(span.get("timestamp"), s_start) or s_start
        level = depth.get(span.get("parent_span_id"), 0) + 1
        depth[span.get("span_id")] = level
        bars.append(
            {
                "op": span.get("op") or "",
                "description": span.get("description") or "",
                "status": span.get("status") or "",
                "depth": level,
                "left": round(100 * (s_start - start) / total, 2),
                "width": max(round(100 * (s_end - s_start) / total, 2), 0.3),
                "ms": round(1000 * (s_end - s_start), 2),
            }
        )
    return {
        "name": data.get("transaction") or "",
        "op": trace.get("op") or "",
        "status": trace.get("status") or "",
        "trace_id": trace.get("trace_id") or "",
        "ms": round(1000 * (end - start), 2),
        "spans": bars,
    }

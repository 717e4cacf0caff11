"""A finished profile as Sentry's ``profile`` envelope item (sample format v1).

Built on the transport's encoder thread, from the raw ticks the sampler kept and the transaction
event it goes with (see packages/core/PROTOCOL.md, "Profiles", for the format and its sources).
"""

from __future__ import annotations

import os
import time
from types import CodeType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..stacks import StackBuilder
    from .sampler import Profile

__all__ = ["profile_payload"]


def profile_payload(
    profile: Profile, transaction: dict[str, Any], stacks: StackBuilder
) -> dict[str, Any]:
    """The ``profile`` item's payload for ``profile``, sent with ``transaction`` (the event)."""
    frames: list[dict[str, Any]] = []
    frame_index: dict[tuple[CodeType, int], int] = {}
    stack_index: dict[int, int] = {}  # by id(stack): equal stacks are one interned tuple
    stack_list: list[list[int]] = []
    samples: list[dict[str, Any]] = []
    threads: set[int] = set()
    for ticked, tick_samples, codes in profile.samples():
        elapsed = ticked - profile.start_ns
        for tid, stack in tick_samples:
            index = stack_index.get(id(stack))
            if index is None:
                ids = []
                for i in range(0, len(stack), 2):
                    code, module_globals = codes[stack[i]]
                    key = (code, stack[i + 1])
                    frame_id = frame_index.get(key)
                    if frame_id is None:
                        frame_id = frame_index[key] = len(frames)
                        frames.append(_frame(stacks, code, module_globals, stack[i + 1]))
                    ids.append(frame_id)
                index = stack_index[id(stack)] = len(stack_list)
                stack_list.append(ids)
            threads.add(tid)
            samples.append(
                {"elapsed_since_start_ns": elapsed, "thread_id": str(tid), "stack_id": index}
            )
    names = profile.thread_names
    contexts = transaction.get("contexts") or {}
    os_context = contexts.get("os") or {}
    runtime = contexts.get("runtime") or {}
    return {
        "event_id": profile.profile_id,
        "timestamp": _rfc3339(transaction.get("start_timestamp") or time.time()),
        "platform": "python",
        "version": "1",
        "release": transaction.get("release") or "",
        "environment": transaction.get("environment") or "production",
        "device": {"architecture": _architecture()},
        "os": {"name": os_context.get("name", ""), "version": os_context.get("version", "")},
        "runtime": {"name": runtime.get("name", ""), "version": runtime.get("version", "")},
        "transaction": {
            "id": transaction.get("event_id"),
            "trace_id": (contexts.get("trace") or {}).get("trace_id"),
            "name": transaction.get("transaction") or "",
            "active_thread_id": str(profile.active_thread_id),
        },
        "profile": {
            "samples": samples,
            "stacks": stack_list,
            "frames": frames,
            "thread_metadata": {
                str(tid): {"name": names[tid]} if names.get(tid) else {} for tid in sorted(threads)
            },
        },
    }


def _frame(
    stacks: StackBuilder, code: CodeType, module_globals: Any, lineno: int
) -> dict[str, Any]:
    """function (qualified name), module, filename, abs_path, lineno and in_app, decided as
    for error frames (``include_paths``/``exclude_paths``)."""
    static = stacks._static_cache.get(code)
    if static is None:
        static = stacks._static_fields(code, module_globals or {})
    frame = dict(static)
    frame["function"] = getattr(code, "co_qualname", code.co_name)  # 3.11+
    frame["lineno"] = lineno
    return frame


def _architecture() -> str:
    return os.uname().machine if hasattr(os, "uname") else ""


def _rfc3339(timestamp: float) -> str:
    seconds = int(timestamp)
    micros = int((timestamp - seconds) * 1e6)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros:06d}Z"

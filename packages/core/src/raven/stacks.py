"""Stack extraction: traceback and live frames to Sentry ``stacktrace`` frames."""

from __future__ import annotations

import linecache
import os
import sys
import time
from collections.abc import Iterable, Iterator
from types import CodeType, FrameType, TracebackType
from typing import Any

from .guard import capture_internal_errors
from .serializer import DEADLINE, Serializer

__all__ = ["LocalsBudget", "StackBuilder", "iter_stack_frames", "iter_traceback_frames"]

_library_prefixes: tuple[str, ...] | None = None


def library_prefixes() -> tuple[str, ...]:
    """Library locations: frames from here are not in_app by default. Computed on the first
    capture (``sysconfig`` costs ``import raven`` a millisecond), then kept."""
    global _library_prefixes
    if _library_prefixes is None:
        import sysconfig

        paths = sysconfig.get_paths()
        _library_prefixes = tuple(
            {
                os.path.normcase(os.path.realpath(p)) + os.sep
                for key in ("stdlib", "platstdlib", "purelib", "platlib")
                if (p := paths.get(key))
            }
            | {os.path.normcase(os.path.realpath(p)) + os.sep for p in sys.path if "-packages" in p}
        )
    return _library_prefixes


def iter_traceback_frames(tb: TracebackType | None) -> Iterator[tuple[FrameType, int]]:
    """(frame, lineno) from a traceback, oldest first, skipping ``__traceback_hide__`` frames."""
    while tb is not None:
        frame = tb.tb_frame
        if not _hidden(frame):
            yield frame, tb.tb_lineno
        tb = tb.tb_next


def iter_stack_frames(
    frame: FrameType | None = None, skip: int = 0
) -> Iterator[tuple[FrameType, int]]:
    """(frame, lineno) of the live stack, newest first, from ``frame`` or the caller's frame."""
    frame = frame or sys._getframe(1 + skip)
    while frame is not None:
        if not _hidden(frame):
            yield frame, frame.f_lineno
        frame = frame.f_back


def _hidden(frame: FrameType) -> bool:
    if "__traceback_hide__" not in frame.f_code.co_varnames:
        return False
    try:
        return bool(frame.f_locals.get("__traceback_hide__"))
    except Exception:
        return False


_CACHE_SIZE = 4096  # per-code and per-line caches are cleared when they grow past this


class LocalsBudget:
    """What one capture may spend on locals: each object is represented once (the same object
    in several frames costs one ``repr``), and the time is bounded by ``max_locals_time``."""

    __slots__ = ("deadline", "limit", "memo", "omitted")

    def __init__(self, seconds: float) -> None:
        self.limit = seconds
        self.deadline = time.perf_counter() + seconds
        # Shared by the serializer calls of the capture: ~id -> (object, what it became); the
        # object is held so that its id is not reused while the capture runs.
        self.memo: dict[int, Any] = {DEADLINE: self.deadline}
        self.omitted = 0  # frames whose locals were left out, wholly or in part

    def note(self) -> str | None:
        """What the event says when locals were left out, else None."""
        if not self.omitted:
            return None
        return (
            f"locals of {self.omitted} frame(s) left out: reading them took longer than "
            f"max_locals_time ({self.limit:g} s)"
        )


class StackBuilder:
    """Builds Sentry frames; one per client so options are read once."""

    def __init__(
        self,
        serializer: Serializer,
        *,
        context_lines: int = 5,
        capture_locals: bool = True,
        include_paths: Iterable[str] = (),
        exclude_paths: Iterable[str] = (),
        max_frames: int = 100,
        max_locals_time: float = 0.05,
    ) -> None:
        self.serialize = serializer
        self.context_lines = context_lines
        self.capture_locals = capture_locals
        self.include_paths = tuple(include_paths)
        self.exclude_paths = tuple(exclude_paths)
        self.max_frames = max_frames
        self.max_locals_time = max_locals_time
        self._in_app_cache: dict[tuple[str, str], bool] = {}
        self._static_cache: dict[CodeType, dict[str, Any]] = {}
        self._context_cache: dict[tuple[str, int], tuple[list[str], str, list[str]]] = {}

    def set_in_app_rules(self, include_paths: Iterable[str], exclude_paths: Iterable[str]) -> None:
        """New ``include_paths`` / ``exclude_paths`` (a client attribute assigned): the cached
        per-code fields hold the old in_app decision, so they go too."""
        self.include_paths = tuple(include_paths)
        self.exclude_paths = tuple(exclude_paths)
        self._in_app_cache.clear()
        self._static_cache.clear()

    def budget(self) -> LocalsBudget:
        """A fresh allowance for one capture's locals (share it across the capture's stacks)."""
        return LocalsBudget(self.max_locals_time)

    def stacktrace(
        self,
        frames: Iterable[tuple[FrameType, int]],
        capture_locals: bool | None = None,
        budget: LocalsBudget | None = None,
    ) -> dict[str, Any]:
        """``{"frames": [...]}`` oldest first; very deep stacks keep both ends and drop the middle.

        Locals are read newest frame first, so when ``budget`` runs out the frames nearest the
        error keep theirs.
        """
        pairs = list(frames)
        with_locals = self.capture_locals if capture_locals is None else capture_locals
        dropped = 0
        if len(pairs) > self.max_frames:
            half = self.max_frames // 2
            dropped = len(pairs) - self.max_frames
            pairs = pairs[:half] + pairs[-half:]
        if with_locals and budget is None:
            budget = self.budget()
        built = [self.frame(f, lineno, with_locals, budget) for f, lineno in reversed(pairs)]
        built.reverse()
        result: dict[str, Any] = {"frames": built}
        if dropped:
            result["frames_omitted"] = [self.max_frames // 2, self.max_frames // 2 + dropped]
        return result

    def frame(
        self,
        frame: FrameType,
        lineno: int,
        with_locals: bool,
        budget: LocalsBudget | None = None,
    ) -> dict[str, Any]:
        """One Sentry frame: file, module, function, line, context lines and (optionally) locals."""
        code = frame.f_code
        static = self._static_cache.get(code)
        if static is None:
            static = self._static_fields(code, frame.f_globals)
        data = dict(static)
        data["lineno"] = lineno
        if self.context_lines and lineno:
            context = self._context_cache.get((code.co_filename, lineno))
            if context is None:
                context = self._context_lines(code.co_filename, lineno, frame.f_globals)
            if context:
                data["pre_context"], data["context_line"], data["post_context"] = context
        # A module-level frame's locals are the module's globals: often large, rarely the cause.
        if with_locals and code.co_name != "<module>":
            if budget is None:
                budget = self.budget()
            if budget.deadline < 0:  # spent by an earlier frame of this capture
                budget.omitted += 1
                return data
            # The budget's memo goes to the serializer: it repr's each object once per capture
            # and, past the deadline, no more (what is left gets a placeholder). The clock is
            # read once per frame here, not per value.
            serialize, memo = self.serialize, budget.memo
            with capture_internal_errors("stacks", "reading a frame's locals"):
                data["vars"] = {
                    str(k): serialize(v, memo)
                    for k, v in list(frame.f_locals.items())[:50]
                    if not (
                        isinstance(k, str)
                        and k.startswith("__")
                        and (k.endswith("__") or k.startswith("__traceback"))
                    )
                }
            if time.perf_counter() > budget.deadline:
                budget.deadline = -1.0  # spent: no later frame reads its locals
                budget.omitted += 1
        return data

    def _static_fields(self, code: CodeType, module_globals: dict[str, Any]) -> dict[str, Any]:
        """What a frame's code always gives: file, module, function, in_app. Cached per code object."""
        abs_path = code.co_filename
        module = module_globals.get("__name__") or "?"
        if not isinstance(module, str):
            module = "?"
        static = {
            "filename": _relative_filename(abs_path, module),
            "abs_path": abs_path,
            "module": module,
            "function": code.co_name,  # the plain name groups as raven-python and sentry-sdk did
            "in_app": self.in_app(module, _module_path(abs_path, module_globals)),
        }
        if len(self._static_cache) >= _CACHE_SIZE:
            self._static_cache.clear()
        self._static_cache[code] = static
        return static

    def _context_lines(
        self, path: str, lineno: int, module_globals: dict[str, Any]
    ) -> tuple[list[str], str, list[str]] | None:
        """(pre_context, context_line, post_context) around ``lineno``; cached per (file, line)."""
        # The module's loader serves the module's own file, not code exec'd under another name
        # (a traceback may already have cached the module's lines under that name: not these).
        module_path = _module_path(path, module_globals)
        lines = linecache.getlines(path, module_globals if module_path == path else None)
        if module_path != path and lines == linecache.getlines(module_path, module_globals):
            lines = []
        if not lines or lineno > len(lines):
            return None
        n = self.context_lines
        limit = self.serialize.string_max_length

        def clean(line: str) -> str:
            line = line.rstrip("\r\n")
            return line if len(line) <= limit else line[: limit - 3] + "..."

        context = (
            [clean(x) for x in lines[max(0, lineno - 1 - n) : lineno - 1]],
            clean(lines[lineno - 1]),
            [clean(x) for x in lines[lineno : lineno + n]],
        )
        if len(self._context_cache) >= _CACHE_SIZE:
            self._context_cache.clear()
        self._context_cache[(path, lineno)] = context
        return context

    def in_app(self, module: str, abs_path: str) -> bool:
        """Whether ``module`` is the application's, by ``include_paths`` and ``exclude_paths``."""
        key = (module, abs_path)
        cached = self._in_app_cache.get(key)
        if cached is None:
            cached = self._in_app_cache[key] = self._decide_in_app(module, abs_path)
        return cached

    def _decide_in_app(self, module: str, abs_path: str) -> bool:
        def matches(prefixes: tuple[str, ...]) -> bool:
            return any(module == p or module.startswith(p + ".") for p in prefixes)

        if matches(self.include_paths):
            # the most specific rule wins, so include "app" with exclude "app.vendor" works
            longest_in = max(
                len(p) for p in self.include_paths if module == p or module.startswith(p + ".")
            )
            excl = [p for p in self.exclude_paths if module == p or module.startswith(p + ".")]
            return not excl or longest_in > max(len(p) for p in excl)
        if self.include_paths:
            return False  # an allow-list, as in raven-python: no guessing by path besides it
        if matches(self.exclude_paths):
            return False
        if module == "raven" or module.startswith("raven.") or module.startswith("raven_"):
            return False
        if abs_path.startswith("<"):
            return False
        path = os.path.normcase(os.path.realpath(abs_path))
        return not path.startswith(library_prefixes())


def _module_path(path: str, module_globals: dict[str, Any]) -> str:
    """The file a frame's code comes from. Code compiled from a string under a bare name (Sanic
    recompiles ``handle_request`` that way) is the module's: its ``__file__`` decides in_app."""
    file = module_globals.get("__file__")
    if os.path.isabs(path) or path.startswith("<") or not isinstance(file, str):
        return path
    return file if os.path.basename(path) != os.path.basename(file) else path


def _relative_filename(abs_path: str, module: str) -> str:
    """Path relative to the import root (``pkg/mod.py``), derived from the module name."""
    if abs_path.startswith("<") or not module or module == "?":
        return abs_path
    base = module.split(".")[0]
    marker = os.sep + base + os.sep
    index = abs_path.rfind(marker) if "." in module else -1
    if index >= 0:
        return abs_path[index + 1 :]
    return os.path.basename(abs_path)

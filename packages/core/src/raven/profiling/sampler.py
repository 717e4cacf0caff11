"""The process's sampling profiler thread and the profiles it fills.

One :class:`Sampler` per process. Its thread exists only while profiles run: the first
:meth:`Sampler.start` starts it, and it ends itself when no profile has run for
``LINGER_SECONDS`` (a tenth of a second: back-to-back profiled requests share one thread). Each tick it reads ``sys._current_frames()`` (every thread but its own), turns
each stack into a tuple of (code id, line) pairs, interned so that equal stacks share memory,
and hands the tick to every running profile. The app's threads meet the sampler only in
:meth:`Sampler.start` and :meth:`Sampler.stop` (a short lock); frames, JSON and everything
else are handled on the sampler's thread or on the transport's encoder thread.

In a forked child the sampler starts over (no thread, nothing running): the next profile
started in the child starts its own thread.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from ..events import _event_id

if TYPE_CHECKING:
    from ..stacks import StackBuilder

__all__ = ["MAX_PROFILE_SECONDS", "MAX_STACK_DEPTH", "Profile", "Sampler", "process_sampler"]

logger = logging.getLogger("raven.profiling")

# A profile running longer than this is discarded (its samples freed at once) and counted.
MAX_PROFILE_SECONDS = 30.0
# Frames kept per stack, the innermost ones.
MAX_STACK_DEPTH = 128
# Distinct stacks or code objects remembered before the tables start over (memory bound).
TABLE_LIMIT = 20_000
# How long the thread waits, sampling nothing, for the next profile before it ends: under steady
# profiled traffic one thread serves every request instead of one thread started per request.
LINGER_SECONDS = 0.1

# One tick: (monotonic ns, ((thread id, stack), ...), the code table its stacks refer to). A
# stack is a flat tuple (id(code), line, id(code), line, ...), innermost frame first; the table
# maps each id(code) to (code, module globals) and keeps the code alive, so ids stay unique.
Tick = tuple[int, tuple[tuple[int, tuple[int, ...]], ...], dict[int, tuple[CodeType, Any]]]


class Profile:
    """The samples of one profiled transaction, from :meth:`Sampler.start` to :meth:`stop`."""

    __slots__ = (
        "profile_id",
        "active_thread_id",
        "start_ns",
        "stop_ns",
        "max_ns",
        "ticks",
        "discarded",
        "thread_names",
        "stacks",
    )

    def __init__(self, stacks: StackBuilder | None = None) -> None:
        self.profile_id = _event_id()  # a UUID4 in hex, without os.urandom's system call
        self.active_thread_id = threading.get_ident()
        self.start_ns = time.monotonic_ns()
        self.stop_ns: int | None = None
        self.max_ns = int(MAX_PROFILE_SECONDS * 1e9)
        self.ticks: list[Tick] = []
        self.discarded = False  # ran past max_ns: its samples were dropped
        self.thread_names: dict[int, str] = {}
        self.stacks = stacks  # the client's: frames get in_app as error frames do

    def payload(self, transaction: dict[str, Any]) -> dict[str, Any]:
        """The ``profile`` item for ``transaction`` (the event): built on the encoder thread."""
        from .payload import profile_payload

        if self.stacks is None:
            from ..serializer import Serializer
            from ..stacks import StackBuilder

            self.stacks = StackBuilder(Serializer())
        return profile_payload(self, transaction, self.stacks)

    def add(self, tick: Tick) -> bool:
        """Keep ``tick`` (sampler thread); False once the profile ran past its limit."""
        if tick[0] - self.start_ns > self.max_ns:
            self.discarded = True
            self.ticks = []
            return False
        if self.stop_ns is None:
            self.ticks.append(tick)
        return True

    def samples(self) -> list[Tick]:
        """The ticks taken while the profile ran (read after :meth:`Sampler.stop`)."""
        stop = self.stop_ns if self.stop_ns is not None else time.monotonic_ns()
        return [tick for tick in self.ticks if self.start_ns <= tick[0] <= stop]


class Sampler:
    """The process's sampling thread (see the module's docstring)."""

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):  # not on Windows, where nothing forks
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        """No thread, nothing running: at construction and in a forked child."""
        self._lock = threading.Lock()
        self._active: tuple[Profile, ...] = ()
        self._thread: threading.Thread | None = None
        self.interval = 1 / 101
        self.cpu_seconds = 0.0  # the sampler thread's CPU time, summed over its runs
        self._new_tables()

    def _new_tables(self) -> None:
        self._codes: dict[int, tuple[CodeType, Any]] = {}
        self._stacks: dict[tuple[int, ...], tuple[int, ...]] = {}
        self._names: dict[int, str] = {}
        # Per thread, its innermost frame and instruction at the last tick, and the stack read
        # then: a thread still there (waiting on a lock, a socket) has the same stack, and is
        # not walked again. Its frames outside the innermost are suspended in calls, so they
        # cannot have moved. Held one tick at most (replaced at every tick).
        self._last: dict[int, tuple[FrameType, int, tuple[int, ...]]] = {}

    @property
    def running(self) -> bool:
        """True while the sampler thread exists."""
        return self._thread is not None

    def start(self, frequency: float = 101.0, stacks: StackBuilder | None = None) -> Profile:
        """A new running profile; starts the thread (sampling ``frequency`` times a second)
        when it is the only one."""
        profile = Profile(stacks)
        with self._lock:
            self._active += (profile,)
            if self._thread is None:
                self.interval = 1.0 / frequency
                thread = threading.Thread(target=self._run, name="raven.profiler", daemon=True)
                self._thread = thread
                thread.start()
        return profile

    def stop(self, profile: Profile) -> None:
        """Stop ``profile``; the thread ends at its next tick when no profile runs."""
        profile.stop_ns = time.monotonic_ns()
        with self._lock:
            self._active = tuple(p for p in self._active if p is not profile)

    # -- the sampler thread -----------------------------------------------------------------
    def _run(self) -> None:
        own = threading.get_ident()
        started = time.thread_time()
        interval = self.interval
        due = last_active = time.monotonic()
        try:
            while True:
                active = self._active
                if not active:
                    if time.monotonic() - last_active >= LINGER_SECONDS:
                        with self._lock:
                            if not self._active:
                                self._thread = None
                                self._new_tables()  # nothing running refers to them any more
                                return
                        continue
                    due += interval
                    time.sleep(max(0.0, due - time.monotonic()))
                    continue
                last_active = time.monotonic()
                tick = self._sample(own)
                for profile in active:
                    if not profile.add(tick):
                        logger.debug("profile %s longer than its limit: discarded", profile)
                        self.stop(profile)
                    else:
                        profile.thread_names = self._names
                due += interval
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:  # behind (a busy machine): carry on from now, no burst to catch up
                    due = time.monotonic()
        except Exception:
            logger.exception("raven.profiling: sampling stacks failed; profiling stops")
            with self._lock:
                for profile in self._active:
                    profile.discarded = True
                self._active = ()
                self._thread = None
        finally:
            self.cpu_seconds += time.thread_time() - started

    def _sample(self, own: int) -> Tick:
        now = time.monotonic_ns()
        codes, interned, names, last = self._codes, self._stacks, self._names, self._last
        samples = []
        seen: dict[int, tuple[FrameType, int, tuple[int, ...]]] = {}
        for tid, top in sys._current_frames().items():
            if tid == own:
                continue
            lasti = top.f_lasti
            before = last.get(tid)
            if before is not None and before[0] is top and before[1] == lasti:
                seen[tid] = before
                samples.append((tid, before[2]))
                continue
            frame: FrameType | None = top
            key: list[int] = []
            depth = 0
            while frame is not None and depth < MAX_STACK_DEPTH:
                code = frame.f_code
                cid = id(code)
                if cid not in codes:
                    codes[cid] = (code, frame.f_globals)
                key.append(cid)
                key.append(frame.f_lineno or 0)
                frame = frame.f_back
                depth += 1
            stack = tuple(key)
            stack = interned.setdefault(stack, stack)
            seen[tid] = (top, lasti, stack)
            samples.append((tid, stack))
            if tid not in names:
                self._name_threads()
                names = self._names
        self._last = seen
        if len(interned) > TABLE_LIMIT or len(codes) > TABLE_LIMIT:
            self._new_tables()  # ticks already taken keep the table they refer to
        return now, tuple(samples), codes

    def _name_threads(self) -> None:
        names = dict(self._names)
        # threading's own table, copied under the GIL: threading.enumerate() would take the
        # lock the app's threads take to start and end.
        active: dict[int, threading.Thread] = getattr(threading, "_active", {})
        for tid, thread in dict(active).items():
            names[tid] = thread.name
        for tid in sys._current_frames():
            names.setdefault(tid, "")  # not a Python thread object: looked up once, unnamed
        self._names = names  # replaced, never mutated: profiles hold the dict they saw


process_sampler = Sampler()

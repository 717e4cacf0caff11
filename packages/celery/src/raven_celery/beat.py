"""Celery beat tasks as Sentry cron monitors: ``monitor_beat_tasks(app, client)``.

Every entry of ``app.conf.beat_schedule`` becomes a monitor named by the entry (its name made a
slug), its schedule converted from Celery's ``crontab`` or interval, in the app's time zone.

How a run is matched, start to end and across retries:

- **Beat side.** The entries' ``options["headers"]`` get the slug and the monitor config (set
  once, when ``monitor_beat_tasks`` runs and again at ``beat_init``, so a schedule configured
  later is seen too). A ``before_task_publish`` receiver adds, to each message that carries a
  slug and no check-in id yet, a fresh check-in id and the time it was sent. A receiver rather
  than static options: the id must be new for every run, and patching Celery's scheduler classes
  would leave every other app and scheduler in the process patched too.
- **Worker side** (wherever the task runs: prefork children included). ``task_prerun`` sends
  ``in_progress`` with the config; ``task_success`` sends ``ok``, ``task_failure`` and
  ``task_retry`` send ``error``, with the duration on the worker's monotonic clock (the header's
  send time when the start was not seen in this process). Celery copies a message's headers into
  its retry, so a retry carries the same id: attempt *n* uses an id derived from it and *n*, so
  each attempt is a run of its own (in_progress, then ok/error) under the same slug.

A run the worker cannot end (a hard time limit, a lost pool process) stays ``in_progress`` and
Sentry marks it timed out after the config's ``max_runtime``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from celery import signals
from celery.schedules import crontab, schedule
from raven.guard import capture_internal_errors
from raven.monitors import capture_checkin, monitor_config, new_check_in_id, slugify

from ._signals import Receivers

__all__ = [
    "HEADER_CHECK_IN_ID",
    "HEADER_CONFIG",
    "HEADER_SENT_AT",
    "HEADER_SLUG",
    "BeatMonitors",
    "beat_monitor_config",
    "monitor_beat_tasks",
]

logger = logging.getLogger("raven.celery")

HEADER_SLUG = "raven-monitor-slug"
HEADER_CONFIG = "raven-monitor-config"
HEADER_CHECK_IN_ID = "raven-monitor-check-in-id"
HEADER_SENT_AT = "raven-monitor-sent-at"  # seconds since the epoch, when beat sent the task
_OURS = (HEADER_SLUG, HEADER_CONFIG, HEADER_CHECK_IN_ID, HEADER_SENT_AT)
# The largest unit that divides an interval exactly is used (seconds per unit, largest first).
_UNITS = (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60))
_OPEN_MAX = 10_000  # runs started and not ended in this process (bounded: lost ones age out)


# -- schedules ---------------------------------------------------------------------------------
def _cron_field(value: Any) -> str:
    """One crontab field as Celery was given it: a string or number as is, a set or range of
    numbers as a comma list."""
    if isinstance(value, (str, int)):
        return str(value)
    try:
        return ",".join(str(v) for v in sorted(value))
    except TypeError:
        return str(value)


def _crontab_value(entry: crontab) -> str:
    fields = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
    return " ".join(_cron_field(getattr(entry, f"_orig_{name}", "*")) for name in fields)


def _interval(seconds: float) -> dict[str, Any]:
    """An interval schedule: the largest unit dividing ``seconds`` exactly, else whole minutes
    rounded up (Sentry's smallest unit is the minute: a job that runs more often than its
    monitor expects is never reported missed)."""
    whole = int(seconds)
    if whole == seconds and whole >= 60:
        for unit, size in _UNITS:
            if whole % size == 0:
                return {"type": "interval", "value": whole // size, "unit": unit}
    return {"type": "interval", "value": max(1, math.ceil(seconds / 60)), "unit": "minute"}


def beat_monitor_config(beat_schedule: Any, timezone: str | None = None) -> dict[str, Any] | None:
    """The monitor config for a beat entry's ``schedule``: a ``crontab`` as a five-field crontab
    string, an interval (a ``schedule``, a ``timedelta`` or seconds) as an interval; ``timezone``
    (default ``"UTC"``). None for other schedules (``solar``, custom classes)."""
    if isinstance(beat_schedule, crontab):
        sched: dict[str, Any] = {"type": "crontab", "value": _crontab_value(beat_schedule)}
    elif isinstance(beat_schedule, schedule):
        sched = _interval(beat_schedule.run_every.total_seconds())
    elif isinstance(beat_schedule, timedelta):
        sched = _interval(beat_schedule.total_seconds())
    elif isinstance(beat_schedule, (int, float)) and not isinstance(beat_schedule, bool):
        sched = _interval(float(beat_schedule))
    else:
        return None
    return monitor_config({"schedule": sched, "timezone": timezone or "UTC"})


def _timezone(app: Any) -> str:
    zone = app.conf.timezone
    return str(getattr(zone, "key", None) or zone or "UTC")


def _excluded(patterns: tuple[re.Pattern[str], ...], *names: Any) -> bool:
    return any(p.search(str(n)) for p in patterns for n in names if n)


def _patterns(exclude: Iterable[str | re.Pattern[str]] | str | None) -> tuple[re.Pattern[str], ...]:
    if exclude is None:
        return ()
    if isinstance(exclude, (str, re.Pattern)):
        exclude = [exclude]
    return tuple(p if isinstance(p, re.Pattern) else re.compile(p) for p in exclude)


def _unmark(entry: dict[str, Any]) -> None:
    """Take the monitor headers off a beat entry."""
    headers = (entry.get("options") or {}).get("headers")
    if isinstance(headers, dict) and HEADER_SLUG in headers:
        rest = {k: v for k, v in headers.items() if k not in _OURS}
        entry["options"] = {**entry["options"], "headers": rest}


# -- the worker's side -------------------------------------------------------------------------
def _headers(request: Any) -> Mapping[str, Any] | None:
    """The monitor headers of the task's message (None when it is not a monitored run): Celery
    gives custom headers as ``request.headers`` (5.4 and later) or as request attributes."""
    if request is None:
        return None
    custom = getattr(request, "headers", None)
    source = custom if isinstance(custom, Mapping) else {}
    found = {}
    for name in _OURS:
        value = source.get(name)
        if value is None:
            value = getattr(request, name, None)
        if value is not None:
            found[name] = value
    if not isinstance(found.get(HEADER_SLUG), str) or HEADER_CHECK_IN_ID not in found:
        return None
    return found


def attempt_id(check_in_id: str, retries: int) -> str:
    """The check-in id of attempt ``retries`` (0: the first) of the run beat sent as
    ``check_in_id``: the id itself, then one derived from it per retry."""
    if not retries:
        return check_in_id
    return hashlib.blake2b(f"{check_in_id}:{retries}".encode(), digest_size=16).hexdigest()


class BeatMonitors:
    """The check-ins of ``app``'s beat tasks, sent with ``client``: ``install()`` (idempotent)
    puts the monitor headers on the schedule's entries and connects the receivers;
    ``uninstall()`` takes both away."""

    def __init__(
        self, app: Any, client: Any, exclude: Iterable[str | re.Pattern[str]] | str | None = None
    ) -> None:
        self.app = app
        self.client = client
        self.exclude = _patterns(exclude)
        self._open: OrderedDict[tuple[str, int], tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._receivers = Receivers(
            (signals.beat_init, self.handle_beat_init),
            (signals.before_task_publish, self.handle_before_publish),
            (signals.task_prerun, self.handle_prerun),
            (signals.task_success, self.handle_success),
            (signals.task_failure, self.handle_failure),
            (signals.task_retry, self.handle_retry),
        )

    # -- install / uninstall ------------------------------------------------------------------
    def install(self) -> None:
        """Monitor every entry of the beat schedule; calling it again changes nothing."""
        self.mark_schedule()
        self._receivers.connect()

    def uninstall(self) -> None:
        """No more check-ins; the schedule's entries lose their monitor headers."""
        self._receivers.disconnect()
        for entry in (self.app.conf.beat_schedule or {}).values():
            if isinstance(entry, dict):
                _unmark(entry)
        with _registry_lock:
            if _registry.get((id(self.app), id(self.client))) is self:
                del _registry[(id(self.app), id(self.client))]

    @property
    def installed(self) -> bool:
        """Whether the receivers are connected."""
        return self._receivers.connected

    def mark_schedule(self) -> dict[str, dict[str, Any]]:
        """Put the slug and config in the headers of every monitored entry of the app's beat
        schedule (idempotent); returns the configs by slug."""
        configs: dict[str, dict[str, Any]] = {}
        zone = _timezone(self.app)
        for name, entry in list((self.app.conf.beat_schedule or {}).items()):
            if not isinstance(entry, dict):
                continue
            if _excluded(self.exclude, name, entry.get("task")):
                _unmark(entry)  # excluded since an earlier call
                continue
            slug = slugify(name)
            config = beat_monitor_config(entry.get("schedule"), zone)
            if not slug or config is None:
                logger.warning(
                    "raven.celery: beat entry %r is not monitored: %s",
                    name,
                    "no slug can be made of its name" if not slug else "unsupported schedule",
                )
                continue
            options = dict(entry.get("options") or {})
            headers = dict(options.get("headers") or {})
            headers.update({HEADER_SLUG: slug, HEADER_CONFIG: config})
            headers.pop(HEADER_CHECK_IN_ID, None)  # a new id per run: added when it is sent
            options["headers"] = headers
            entry["options"] = options  # a copy: entries may share one options dict
            configs[slug] = config
        return configs

    # -- receivers: beat ----------------------------------------------------------------------
    @capture_internal_errors("celery", "monitoring the beat schedule")
    def handle_beat_init(self, sender: Any = None, **_: Any) -> None:
        """Beat starts and is about to read the schedule: mark entries configured since."""
        if getattr(sender, "app", self.app) is self.app:
            self.mark_schedule()

    @capture_internal_errors("celery", "adding a check-in id to a beat message")
    def handle_before_publish(self, headers: Any = None, **_: Any) -> None:
        """A monitored entry's message is sent: it gets the run's check-in id and send time."""
        if isinstance(headers, dict) and isinstance(headers.get(HEADER_SLUG), str):
            if HEADER_CHECK_IN_ID not in headers:  # a retry keeps its run's id
                headers[HEADER_CHECK_IN_ID] = new_check_in_id()
                headers[HEADER_SENT_AT] = time.time()

    # -- receivers: worker --------------------------------------------------------------------
    @capture_internal_errors("celery", "sending a task's in_progress check-in")
    def handle_prerun(
        self, sender: Any = None, task_id: str | None = None, task: Any = None, **_: Any
    ) -> None:
        """A monitored task starts: ``in_progress``."""
        request = getattr(task if task is not None else sender, "request", None)
        headers = _headers(request)
        if headers is None or task_id is None or getattr(request, "id", None) != task_id:
            return
        retries = int(getattr(request, "retries", 0) or 0)
        check_in_id = attempt_id(str(headers[HEADER_CHECK_IN_ID]), retries)
        with self._lock:
            self._open[(task_id, retries)] = (check_in_id, time.monotonic())
            while len(self._open) > _OPEN_MAX:
                self._open.popitem(last=False)
        capture_checkin(
            self.client,
            headers[HEADER_SLUG],
            "in_progress",
            check_in_id,
            monitor_config=headers.get(HEADER_CONFIG),
        )

    def _end(self, task: Any, task_id: str | None, status: str) -> None:
        request = getattr(task, "request", None)
        headers = _headers(request)
        if headers is None or task_id is None or getattr(request, "id", None) != task_id:
            return  # not a monitored run, or not from the task's own process (hard limits)
        retries = int(getattr(request, "retries", 0) or 0)
        with self._lock:
            started = self._open.pop((task_id, retries), None)
        duration: float | None
        if started is not None:
            check_in_id, duration = started[0], time.monotonic() - started[1]
        else:
            check_in_id = attempt_id(str(headers[HEADER_CHECK_IN_ID]), retries)
            sent_at = headers.get(HEADER_SENT_AT)
            duration = time.time() - float(sent_at) if sent_at is not None else None
        capture_checkin(
            self.client,
            headers[HEADER_SLUG],
            status,
            check_in_id,
            max(0.0, duration) if duration is not None else None,
            headers.get(HEADER_CONFIG),
        )

    @capture_internal_errors("celery", "sending a task's ok check-in")
    def handle_success(self, sender: Any = None, **_: Any) -> None:
        """A monitored task returned: ``ok``."""
        self._end(sender, getattr(getattr(sender, "request", None), "id", None), "ok")

    @capture_internal_errors("celery", "sending a task's error check-in")
    def handle_failure(self, sender: Any = None, task_id: str | None = None, **_: Any) -> None:
        """A monitored task raised: ``error``."""
        self._end(sender, task_id, "error")

    @capture_internal_errors("celery", "sending a retried task's error check-in")
    def handle_retry(self, sender: Any = None, request: Any = None, **_: Any) -> None:
        """A monitored task asked for a retry: ``error`` for this attempt (the retry is a run of
        its own)."""
        self._end(sender, getattr(request, "id", None), "error")


_registry: dict[tuple[int, int], BeatMonitors] = {}
_registry_lock = threading.Lock()


def monitor_beat_tasks(
    app: Any, client: Any, exclude: Iterable[str | re.Pattern[str]] | str | None = None
) -> BeatMonitors:
    """Make every task of ``app``'s beat schedule a cron monitor reporting to ``client``.

    Call it where the app is configured, so that it runs both in the beat process (which puts
    the monitor headers on the messages) and in the workers (which send the check-ins).
    ``exclude``: regular expressions (strings or compiled), searched in each entry's name and
    task name; a match is not monitored. Calling it again for the same app and client installs
    nothing new (``exclude`` takes the latest value).
    """
    key = (id(app), id(client))
    with _registry_lock:
        monitors = _registry.get(key)
        if monitors is None or monitors.app is not app or monitors.client is not client:
            monitors = _registry[key] = BeatMonitors(app, client, exclude)
        else:
            monitors.exclude = _patterns(exclude)
    monitors.install()
    return monitors

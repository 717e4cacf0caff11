"""Cron monitors: check-ins that tell Sentry a scheduled job started, succeeded or failed.

``client.monitor(slug)`` (decorator and context manager, sync and ``async``) sends an
``in_progress`` check-in when the job starts and ``ok`` or ``error`` with its duration when it
ends; ``client.capture_checkin(...)`` sends one check-in with an explicit status. Imported on
first use: a client that never monitors a job never loads this module.

Check-ins are ``check_in`` envelope items (rate-limit category ``monitor``, at most 100 KiB),
queued with the events through :meth:`raven.Client.send_item`; they are never sampled out and
never pass through ``before_send``. Bad values never raise into the app: each kind is logged once
on ``raven.monitors``; a bad part is left out (a duration, a config key, the whole config when
its schedule is bad, an id replaced by a new one) and the check-in still sent, while a check-in
that cannot be sent at all (no usable slug, an unknown status, over 100 KiB) is dropped and
counted in client reports (``invalid`` or ``too_large``, category ``monitor``). Formats:
``PROTOCOL.md`` in this package, "Check-ins".
"""

from __future__ import annotations

import functools
import logging
import math
import re
import time
import uuid
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from .callbacks import WarnOnce, describe
from .events import _event_id
from .guard import capture_internal_errors

__all__ = [
    "MAX_CHECK_IN_BYTES",
    "STATUSES",
    "Monitor",
    "capture_checkin",
    "monitor_config",
    "new_check_in_id",
    "slugify",
]

logger = logging.getLogger("raven.monitors")

F = TypeVar("F", bound=Callable[..., Any])

STATUSES = frozenset({"in_progress", "ok", "error"})
MAX_CHECK_IN_BYTES = 100 * 1024  # per check_in item (Sentry's envelope size limits)
MAX_SLUG_LENGTH = 50  # Relay cuts longer slugs (relay-monitors' SLUG_LENGTH)
INTERVAL_UNITS = frozenset({"year", "month", "week", "day", "hour", "minute"})
_NONSTANDARD_CRONTABS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_CRON_FIELD = re.compile(r"[0-9A-Za-z*?,/\-#]+")
_SLUG = re.compile(r"[a-z0-9_-]{1,50}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
# Config keys whose value is a whole number of minutes or check-ins, at least 1.
_COUNTS = ("checkin_margin", "max_runtime", "failure_issue_threshold", "recovery_threshold")
_TEXTS = ("timezone", "owner")

_warn = WarnOnce(logger)


# -- values ----------------------------------------------------------------------------------------
def new_check_in_id() -> str:
    """A new check-in id: a random UUID4 as 32 hex digits (made as event ids are, without the
    ``os.urandom`` system call that can take a millisecond on a busy machine)."""
    return _event_id()


def slugify(name: Any) -> str:
    """``name`` as a monitor slug, the way Sentry makes slugs: ASCII letters (lower-cased),
    digits, ``_`` and ``-``; other characters removed, runs of spaces and dashes made one dash,
    dashes and underscores stripped from the ends; at most 50 characters. "" when nothing is
    left."""
    text = str(name)
    if _SLUG.fullmatch(text) and text[0] not in "-_" and text[-1] not in "-_":
        return text
    import unicodedata

    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text.lower())
    text = re.sub(r"[-\s]+", "-", text).strip("-_")
    return text[:MAX_SLUG_LENGTH].strip("-_")


def _check_in_id(value: Any) -> str | None:
    """A check-in id as 32 lower-case hex digits, from a string (with or without dashes) or a
    ``uuid.UUID``; None when it is neither."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, str):
        text = value.replace("-", "").lower()
        if _HEX32.fullmatch(text):
            return text
    return None


def _known_timezone(name: str) -> bool:
    """Whether ``name`` is a tz database zone; True whatever the name when this system has no
    tz database to ask (Sentry checks it then)."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)  # cached by zoneinfo after the first lookup
        return True
    except zoneinfo.ZoneInfoNotFoundError:
        try:
            zoneinfo.ZoneInfo("UTC")
        except zoneinfo.ZoneInfoNotFoundError:
            return True
        return False
    except (ValueError, OSError):  # not a key at all ("../etc", "")
        return False


def _status(value: Any) -> str | None:
    status = getattr(value, "value", value)  # an enum member with a string value
    return status if isinstance(status, str) and status in STATUSES else None


def _count(value: Any) -> int | None:
    """A whole number at least 1 (an integral float accepted), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value >= 1 else None


def _schedule(value: Any) -> dict[str, Any] | None:
    """A schedule in the wire format, or None when it is not one."""
    if not isinstance(value, Mapping):
        return None
    kind = value.get("type")
    if kind == "crontab":
        crontab = value.get("value")
        if not isinstance(crontab, str):
            return None
        crontab = " ".join(crontab.split())
        fields = crontab.split(" ")
        if crontab in _NONSTANDARD_CRONTABS or (
            len(fields) == 5 and all(_CRON_FIELD.fullmatch(f) for f in fields)
        ):
            return {"type": "crontab", "value": crontab}
        return None
    if kind == "interval":
        count, unit = _count(value.get("value")), value.get("unit")
        if count is None or unit not in INTERVAL_UNITS:
            return None
        return {"type": "interval", "value": count, "unit": unit}
    return None


def monitor_config(config: Any) -> dict[str, Any] | None:
    """``config`` checked and in the wire format (``PROTOCOL.md``, "Check-ins"), or None.

    A bad schedule (it is required) leaves the whole config out; any other bad or unknown key
    is left out alone. Each kind of problem is logged once on ``raven.monitors``.
    """
    if config is None:
        return None
    if not isinstance(config, Mapping):
        _warn("config", "monitor_config must be a dict, got %s; sent without it", describe(config))
        return None
    schedule = _schedule(config.get("schedule"))
    if schedule is None:
        _warn(
            "schedule",
            "monitor_config's schedule must be {'type': 'crontab', 'value': '0 * * * *'} or "
            "{'type': 'interval', 'value': 5, 'unit': 'minute'} (units: %s), got %s; "
            "sent without the config",
            ", ".join(sorted(INTERVAL_UNITS)),
            describe(config.get("schedule")),
        )
        return None
    checked: dict[str, Any] = {"schedule": schedule}
    for key, value in config.items():
        if key == "schedule":
            continue
        if key in _COUNTS:
            count = _count(value)
            if count is None and value is not None:
                _warn(
                    key,
                    "monitor_config's %s must be a whole number >= 1, got %s; left out",
                    key,
                    describe(value),
                )
            elif count is not None:
                checked[key] = count
        elif key in _TEXTS:
            if key == "timezone" and isinstance(value, str) and not _known_timezone(value):
                _warn(
                    f"timezone:{value}",
                    "monitor_config's timezone %r is not in the tz database; left out",
                    value,
                )
            elif isinstance(value, str) and value:
                checked[key] = value
            elif value is not None:
                _warn(
                    key,
                    "monitor_config's %s must be a string, got %s; left out",
                    key,
                    describe(value),
                )
        else:
            _warn(f"key:{key}", "monitor_config has no key %r; left out", key)
    return checked


# -- sending ---------------------------------------------------------------------------------------
def capture_checkin(
    client: Any,
    monitor_slug: Any,
    status: Any,
    check_in_id: Any = None,
    duration: Any = None,
    monitor_config: Any = None,
) -> str:
    """Send one check-in with ``client``; returns its id (32 hex digits), the one given or a new
    one, whether or not the check-in could be sent (so that code closing it works unchanged)."""
    new_id = _check_in_id(check_in_id) if check_in_id is not None else None
    if new_id is None:
        if check_in_id is not None:
            _warn(
                "check_in_id",
                "check_in_id must be 32 hex digits or a UUID, got %s; a new id is used",
                describe(check_in_id),
            )
        new_id = _event_id()
    if client.transport is None:
        return new_id
    with capture_internal_errors("monitors", "sending a check-in"):
        slug = _slug(monitor_slug)
        checked_status = _status(status)
        if checked_status is None:
            _warn(
                "status",
                "a check-in's status must be one of %s, got %s; check-in dropped",
                ", ".join(sorted(STATUSES)),
                describe(status),
            )
        if duration is not None:
            duration = _duration(duration, checked_status)
        _queue(client, new_id, slug, checked_status, duration, _config(monitor_config))
    return new_id


def _slug(monitor_slug: Any) -> str:
    """The slug to send ("" when nothing is left of it, with one warning)."""
    slug = slugify(monitor_slug) if isinstance(monitor_slug, str) else ""
    if not slug:
        _warn(
            "slug",
            "monitor_slug must be a non-empty string of letters, digits, '-' or '_', got %s; "
            "check-in dropped",
            describe(monitor_slug),
        )
    return slug


def _duration(duration: Any, status: str | None) -> float | None:
    if status == "in_progress":
        _warn("duration_in_progress", "an in_progress check-in has no duration; left out")
        return None
    if (
        isinstance(duration, (int, float))
        and not isinstance(duration, bool)
        and math.isfinite(duration)
        and duration >= 0
    ):
        return float(duration)
    _warn(
        "duration",
        "a check-in's duration must be a number of seconds >= 0, got %s; left out",
        describe(duration),
    )
    return None


def _config(config: Any) -> tuple[dict[str, Any], int] | None:
    """``config`` checked, with its size as JSON (None when left out)."""
    checked = monitor_config(config)
    if checked is None:
        return None
    from .transport.envelope import dumps

    return checked, len(dumps(checked))


def _queue(
    client: Any,
    check_in_id: str,
    slug: str,
    status: str | None,
    duration: float | None,
    config: tuple[dict[str, Any], int] | None,
) -> None:
    """Queue one check-in whose values are checked (``slug`` "" or ``status`` None: dropped and
    counted ``invalid``; ``config``: the checked config and its JSON size)."""
    if not slug or status is None:
        client.reports.record("invalid", "monitor")
        return
    payload: dict[str, Any] = {"check_in_id": check_in_id, "monitor_slug": slug, "status": status}
    if duration is not None:
        payload["duration"] = duration
    options = client.options
    release, environment = options.release, options.environment
    if release:
        payload["release"] = release
    if environment:
        payload["environment"] = environment
    size = 512 + 6 * (len(release or "") + len(environment or ""))  # at most, without config
    if config is not None:
        payload["monitor_config"], config_bytes = config
        size += config_bytes
    trace = client.trace_context()
    payload["contexts"] = {"trace": {"trace_id": trace["trace_id"], "span_id": trace["span_id"]}}
    if size > MAX_CHECK_IN_BYTES:  # maybe too large: measure
        from .transport.envelope import dumps

        size = len(dumps(payload))
        if size > MAX_CHECK_IN_BYTES:
            _warn(
                "size",
                "check-in for %s dropped: %d bytes, over the %d bytes a check-in may have",
                slug,
                size,
                MAX_CHECK_IN_BYTES,
            )
            client.reports.record("too_large", "monitor")
            return
    client.send_item("check_in", payload, category="monitor")


# -- the decorator and context manager -------------------------------------------------------------
class Monitor:
    """What ``client.monitor(slug, monitor_config)`` returns: a decorator (sync and ``async def``
    functions) and a context manager (``with`` and ``async with``) that sends ``in_progress``
    when the job starts, then ``ok``, or ``error`` when it raises (the exception goes on
    unchanged), with the job's duration (monotonic clock).

    Each call of a decorated function is a run of its own. Used as a context manager, one object
    times one run at a time: use ``with client.monitor(...)`` per run.
    """

    __slots__ = ("_config", "_run", "client", "slug")

    def __init__(self, client: Any, monitor_slug: Any, config: Any = None) -> None:
        self.client = client
        self.slug = ""  # checked once, not per run: "" drops (and counts) the runs' check-ins
        self._config: tuple[dict[str, Any], int] | None = None
        with capture_internal_errors("monitors", "checking a monitor"):
            self.slug = _slug(monitor_slug)
            self._config = _config(config)
        self._run: tuple[str, float] | None = None

    @property
    def config(self) -> dict[str, Any] | None:
        """The ``monitor_config`` the check-ins carry, as checked (None: none)."""
        return self._config[0] if self._config is not None else None

    def _send(self, check_in_id: str, status: str, duration: float | None) -> None:
        if self.client.transport is not None:
            with capture_internal_errors("monitors", "sending a check-in"):
                _queue(self.client, check_in_id, self.slug, status, duration, self._config)

    def start(self) -> tuple[str, float]:
        """Send ``in_progress``; the run's check-in id and start time (monotonic)."""
        check_in_id = _event_id()
        self._send(check_in_id, "in_progress", None)
        return check_in_id, time.monotonic()

    def finish(self, run: tuple[str, float], failed: bool) -> None:
        """Send ``ok`` (or ``error``) with the run's duration."""
        check_in_id, started = run
        self._send(check_in_id, "error" if failed else "ok", max(0.0, time.monotonic() - started))

    def __call__(self, func: F) -> F:
        from .guard import _is_coroutine_function

        if _is_coroutine_function(func):

            @functools.wraps(func)
            async def async_monitored(*args: Any, **kwargs: Any) -> Any:
                run = self.start()
                try:
                    result = await func(*args, **kwargs)
                except BaseException:
                    self.finish(run, True)
                    raise
                self.finish(run, False)
                return result

            return async_monitored  # type: ignore[return-value]

        @functools.wraps(func)
        def monitored(*args: Any, **kwargs: Any) -> Any:
            run = self.start()
            try:
                result = func(*args, **kwargs)
            except BaseException:
                self.finish(run, True)
                raise
            self.finish(run, False)
            return result

        return monitored  # type: ignore[return-value]

    def __enter__(self) -> Monitor:
        self._run = self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        run, self._run = self._run, None
        if run is not None:
            self.finish(run, exc_type is not None)

    async def __aenter__(self) -> Monitor:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

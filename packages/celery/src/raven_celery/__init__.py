"""Raven for Celery: ``register_signal(client)`` reports failing tasks, ``register_logger_signal``
turns error logs from task code into events, ``monitor_beat_tasks(app, client)`` makes the beat
schedule's tasks cron monitors (imported on first use)."""

from __future__ import annotations

from typing import Any

from .__about__ import __version__
from .handler import SentryCeleryHandler, register_signal
from .logs import CeleryFilter, register_logger_signal, unregister_logger_signal

__all__ = [
    "BeatMonitors",
    "CeleryFilter",
    "SentryCeleryHandler",
    "__version__",
    "monitor_beat_tasks",
    "register_logger_signal",
    "register_signal",
    "unregister_logger_signal",
]


def __getattr__(name: str) -> Any:
    """``monitor_beat_tasks`` and ``BeatMonitors`` (:mod:`raven_celery.beat`), imported on first
    use: an app that monitors no beat task loads none of it."""
    if name in ("monitor_beat_tasks", "BeatMonitors"):
        from . import beat

        return getattr(beat, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

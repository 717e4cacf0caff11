"""Raven for Celery: ``register_signal(client)`` reports failing tasks, ``register_logger_signal``
turns error logs from task code into events."""

from __future__ import annotations

from .__about__ import __version__
from .handler import SentryCeleryHandler, register_signal
from .logs import CeleryFilter, register_logger_signal, unregister_logger_signal

__all__ = [
    "CeleryFilter",
    "SentryCeleryHandler",
    "__version__",
    "register_logger_signal",
    "register_signal",
    "unregister_logger_signal",
]

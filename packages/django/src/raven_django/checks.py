"""System checks: ``manage.py check`` lists every problem in the Raven settings.

- ``raven.E001``: ``RAVEN_CONFIG`` (or ``SENTRY_DSN``/``SENTRY_CLIENT``) has the wrong type.
- ``raven.E002``: the DSN is malformed.
- ``raven.E003``: ``SENTRY_CLIENT`` cannot be imported or is not a ``DjangoClient`` subclass.
- ``raven.E004``: a ``RAVEN_CONFIG`` key is not a client option, or its value is invalid.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from django.core.checks import CheckMessage, Error, register
from raven.dsn import Dsn
from raven.exceptions import ConfigurationError
from raven.options import OPTION_NAMES, ClientOptions

from . import conf

__all__ = ["check_raven_settings", "register_checks"]

# RAVEN_CONFIG keys DjangoClient takes itself (not raven-core options), with their type.
DJANGO_OPTIONS: dict[str, type] = {"install_sql_hook": bool}


def option_names() -> set[str]:
    """Names ``raven.Client`` accepts as options (raven-python's spellings included)."""
    return set(OPTION_NAMES)


def register_checks() -> None:
    """Make ``manage.py check`` validate the Raven settings (check tag ``raven``)."""
    register(check_raven_settings, "raven")


def check_raven_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Validate the Raven settings without building a client."""
    try:
        config = conf.read_settings()
    except ConfigurationError as exc:
        return [
            Error(
                str(exc),
                hint="RAVEN_CONFIG = {'dsn': '...', 'release': '...', ...}",
                obj="settings",
                id="raven.E001",
            )
        ]
    errors: list[CheckMessage] = []
    if config.dsn:
        try:
            Dsn.parse(config.dsn)
        except ConfigurationError as exc:
            errors.append(
                Error(
                    f"invalid DSN: {exc}",
                    hint="Copy the DSN from your Sentry project settings.",
                    obj="settings.RAVEN_CONFIG['dsn']",
                    id="raven.E002",
                )
            )
    try:
        conf.load_client_class(config.client_class)
    except ConfigurationError as exc:
        errors.append(Error(str(exc), obj="settings.SENTRY_CLIENT", id="raven.E003"))
    known = option_names()
    for key, value in config.options.items():
        message = _option_error(key, value, known)
        if message is not None:
            errors.append(
                Error(
                    f"RAVEN_CONFIG[{key!r}]: {message}",
                    hint=_hint(key, known),
                    obj="settings.RAVEN_CONFIG",
                    id="raven.E004",
                )
            )
    return errors


def _option_error(key: Any, value: Any, known: set[str]) -> str | None:
    if not isinstance(key, str):
        return "keys must be strings"
    if key in DJANGO_OPTIONS:
        expected = DJANGO_OPTIONS[key]
        return (
            None if isinstance(value, expected) else f"must be a {expected.__name__}, got {value!r}"
        )
    if key not in known:
        return f"unknown option {key!r}"
    try:
        ClientOptions.from_kwargs({key: value})
    except ConfigurationError as exc:
        return str(exc)
    if key == "processors":
        return _processor_error(value)
    return None


def _processor_error(value: Any) -> str | None:
    for spec in (value,) if isinstance(value, str) else value:
        if not isinstance(spec, str):
            continue
        module, _, name = spec.rpartition(".")
        try:
            getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError, ValueError) as exc:
            return f"cannot load processor {spec!r}: {exc}"
    return None


def _hint(key: Any, known: set[str]) -> str | None:
    if isinstance(key, str) and key not in known and key not in DJANGO_OPTIONS:
        close = difflib.get_close_matches(key, sorted(known | set(DJANGO_OPTIONS)), n=1)
        if close:
            return f"Did you mean {close[0]!r}?"
        return "RAVEN_CONFIG takes 'dsn' and the options of raven.Client (see raven.options.ClientOptions)."
    return None

"""System checks: ``manage.py check`` lists every problem in the Raven settings.

- ``raven.E001``: ``RAVEN_CONFIG`` (or ``SENTRY_DSN``/``SENTRY_CLIENT``) has the wrong type.
- ``raven.E002``: the DSN (from the settings or the ``SENTRY_DSN`` environment variable) is
  malformed or has a scheme no transport serves.
- ``raven.E003``: ``SENTRY_CLIENT`` cannot be imported or is not a ``raven.Client`` subclass.
- ``raven.E004``: a ``RAVEN_CONFIG`` key is not a client option, or its value is invalid.
- ``raven.E005``: the options read from ``SENTRY_*`` environment variables or the DSN's query
  string are invalid.
"""

from __future__ import annotations

import difflib
import importlib
import os
from typing import Any

from django.core.checks import CheckMessage, Error, register
from raven.dsn import Dsn
from raven.exceptions import ConfigurationError, InvalidDsn
from raven.options import OPTION_NAMES, ClientOptions
from raven.transport import transport_for

from . import conf
from ._routes import TRANSACTION_STYLES

__all__ = ["check_raven_settings", "register_checks"]

# RAVEN_CONFIG keys DjangoClient takes itself (not raven-core options), with their type.
DJANGO_OPTIONS: dict[str, type] = {"install_sql_hook": bool, "transaction_style": str}


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
    dsn = _check_dsn(config, errors)
    try:
        conf.load_client_class(config.client_class)
    except ConfigurationError as exc:
        errors.append(Error(str(exc), obj="settings.SENTRY_CLIENT", id="raven.E003"))
    known = option_names()
    env_error = _options_error({})
    for key, value in config.options.items():
        message = _option_error(key, value, known, env_error)
        if message is not None:
            errors.append(
                Error(
                    f"RAVEN_CONFIG[{key!r}]: {message}",
                    hint=_hint(key, known),
                    obj="settings.RAVEN_CONFIG",
                    id="raven.E004",
                )
            )
    if not errors:
        # What each key alone cannot show: options from SENTRY_* environment variables and the
        # DSN's query string, read as the client reads them.
        options = {k: v for k, v in config.options.items() if k not in DJANGO_OPTIONS}
        message = _options_error(options, dsn.query if dsn else None)
        if message is not None:
            errors.append(
                Error(
                    f"invalid client options: {message}",
                    hint="Check the SENTRY_* environment variables and the DSN's query string.",
                    obj="environment",
                    id="raven.E005",
                )
            )
    return errors


def _check_dsn(config: conf.RavenSettings, errors: list[CheckMessage]) -> Dsn | None:
    """The DSN the client will use, from the settings or else the ``SENTRY_DSN`` environment
    variable (as ``raven.Client`` reads it), checked for its form and for a transport."""
    from django.conf import settings

    if config.dsn:
        text = config.dsn
        raven_config = getattr(settings, "RAVEN_CONFIG", None) or {}
        source = (
            "settings.RAVEN_CONFIG['dsn']" if raven_config.get("dsn") else "settings.SENTRY_DSN"
        )
    else:
        text = os.environ.get("SENTRY_DSN", "").strip()
        source = "the SENTRY_DSN environment variable"
    if not text:
        return None
    try:
        dsn = Dsn.parse(text)
        override = config.options.get("transport")
        transport_for(dsn, override)
    except InvalidDsn as exc:
        errors.append(
            Error(
                f"invalid DSN in {source}: {exc}",
                hint="Copy the DSN from your Sentry project settings.",
                obj=source,
                id="raven.E002",
            )
        )
        return None
    except ConfigurationError as exc:  # a 'transport' option that names no transport
        errors.append(Error(str(exc), obj="settings.RAVEN_CONFIG['transport']", id="raven.E004"))
    return dsn


def _options_error(options: dict[str, Any], dsn_query: Any = None) -> str | None:
    try:
        ClientOptions.from_kwargs(options, dsn_query)
    except ConfigurationError as exc:
        return str(exc)
    return None


def _option_error(key: Any, value: Any, known: set[str], env_error: str | None) -> str | None:
    if not isinstance(key, str):
        return "keys must be strings"
    if key in DJANGO_OPTIONS:
        expected = DJANGO_OPTIONS[key]
        if not isinstance(value, expected):
            return f"must be a {expected.__name__}, got {value!r}"
        if key == "transaction_style" and value not in TRANSACTION_STYLES:
            return f"must be one of {', '.join(map(repr, TRANSACTION_STYLES))}, got {value!r}"
        return None
    if key not in known:
        return f"unknown option {key!r}"
    message = _options_error({key: value})
    if message is not None and message != env_error:  # the environment's error is E005's
        return message
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

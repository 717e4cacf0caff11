"""``setup_logging(handler)``: send the root logger's records to Sentry; ``convert_options``:
client options from a framework's settings, as raven-python read them."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["EXCLUDE_LOGGER_DEFAULTS", "convert_options", "setup_logging"]

EXCLUDE_LOGGER_DEFAULTS = ("raven", "gunicorn", "south", "sentry.errors", "django.request", "dummy")


def setup_logging(
    handler: logging.Handler, exclude: Iterable[str] = EXCLUDE_LOGGER_DEFAULTS
) -> bool:
    """Attach ``handler`` to the root logger; loggers in ``exclude`` stop propagating to it.

    Returns False when an equal handler is already attached (nothing done).
    """
    root = logging.getLogger()
    if any(type(h) is type(handler) for h in root.handlers):
        return False
    root.addHandler(handler)
    for name in exclude:
        logger = logging.getLogger(name)
        logger.propagate = False
        if not logger.handlers:
            logger.addHandler(logging.StreamHandler())
    return True


def convert_options(
    settings: Any,
    defaults: Mapping[str, Any] | None = None,
    config_keys: Iterable[str] = ("SENTRY_CONFIG", "RAVEN_CONFIG"),
) -> dict[str, Any]:
    """Client options from a framework's settings (an object or a mapping), as raven-python
    read them: the first of ``config_keys`` that is set (a dict of options), then each
    ``SENTRY_<OPTION>`` setting the dict does not give (``SENTRY_RELEASE``, ``SENTRY_TRANSPORT``,
    ...), then ``defaults``. ``SENTRY_DSN`` gives ``dsn``; ``SENTRY_CLIENT`` is not an option."""
    from ..options import OPTION_NAMES

    def get(key: str) -> Any:
        if isinstance(settings, Mapping):
            return settings.get(key)
        return getattr(settings, key, None)

    config: Any = None
    for key in config_keys:
        config = get(key)
        if config is not None:
            break
    if config is not None and not isinstance(config, Mapping):
        from ..exceptions import ConfigurationError

        raise ConfigurationError(f"{key} must be a dict of client options, got {config!r}")
    options = dict(defaults or {})
    for name in sorted(OPTION_NAMES | {"dsn"}):
        value = get(f"SENTRY_{name.upper()}")
        if value is not None:
            options[name] = value
    options.update(config or {})
    return options

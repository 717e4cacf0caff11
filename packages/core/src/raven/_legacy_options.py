"""Option names from raven-python 6.10 and sentry-sdk, accepted by :class:`raven.Client`.

Spellings of options Raven has are renamed to Raven's; raven-python options Raven does not
support are accepted and ignored with one warning each (a configuration written for raven-python
keeps its client working); names nobody ever had still fail fast in :mod:`raven.options`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

__all__ = ["ALIASES", "IGNORED", "replace_option", "translate"]

logger = logging.getLogger("raven.client")

# Other names for Raven's options: raven-python's and sentry-sdk's spellings.
ALIASES = {
    "machine": "server_name",  # raven-python
    "context": "extra",  # raven-python: extra data on every event
    "ignore_errors": "ignore_exceptions",  # sentry-sdk
    "in_app_include": "include_paths",
    "in_app_exclude": "exclude_paths",
    "include_local_variables": "capture_locals",
    "max_value_length": "string_max_length",
    "attach_stacktrace": "auto_log_stacks",
    "validate_cert": "verify_ssl",  # raven-python's AsyncSentryClient (Tornado)
}
# raven-python options with no effect in Raven, and why (said once, in the warning).
IGNORED = {
    "include_versions": "installed packages are always sent, as 'modules'",
    "_random_seed": "sampling uses the random module",
    "servers": "give the server in the DSN",
    "public_key": "give the key in the DSN",
    "secret_key": "give the key in the DSN",
    "project": "give the project in the DSN",
    "thrash_timeout": "Raven backs off with jitter on its own",
    "celery_loglevel": "pass loglevel= to raven_celery.register_logger_signal",
    "CELERY_LOGLEVEL": "pass loglevel= to raven_celery.register_logger_signal",
}
_warned: set[str] = set()


def translate(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with other spellings renamed to Raven's and unsupported raven-python options
    left out (warned about once per process). A name given in both spellings: Raven's wins."""
    out = dict(options)
    for old, new in ALIASES.items():
        if old in out:
            value = out.pop(old)
            out.setdefault(new, value)
    for name, reason in IGNORED.items():
        if name in out:
            del out[name]
            if name not in _warned:
                _warned.add(name)
                logger.warning(
                    "option %r is not supported by Raven and is ignored: %s", name, reason
                )
    return out


def replace_option(options: Any, name: str, value: Any) -> Any:
    """A copy of the frozen ``options`` where ``name`` is ``value``, validated as at
    construction (a wrong value raises :class:`raven.ConfigurationError` naming it)."""
    from .exceptions import ConfigurationError
    from .options import _ALIASES, _NULLABLE, ClientOptions, _annotations, _coerce

    name = _ALIASES.get(name, ALIASES.get(name, name))
    known = _annotations()
    if name not in known:
        raise ConfigurationError(f"unknown client option {name!r}")
    values = dict(options.__dict__)
    if value is None and name not in _NULLABLE:
        values.pop(name, None)  # back to the default, as None means at construction
    else:
        values[name] = _coerce(name, known[name], value)
    new = ClientOptions(**values)
    new._check_ranges()
    return new

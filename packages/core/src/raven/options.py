"""The client's options: one typed, frozen object with defaults, ``SENTRY_*`` environment
variables, and validation that names the option and what was expected."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from ._legacy_options import ALIASES as _LEGACY_ALIASES
from ._legacy_options import IGNORED as _LEGACY_IGNORED
from ._legacy_options import translate as translate_legacy
from .exceptions import ConfigurationError

__all__ = ["ClientOptions", "DEFAULT_PROCESSORS", "OPTION_NAMES"]

DEFAULT_PROCESSORS: tuple[str, ...] = ("raven.processors.SanitizePasswordsProcessor",)

# Options whose value may come from the environment when not given.
_ENV = {
    "release": "SENTRY_RELEASE",
    "environment": "SENTRY_ENVIRONMENT",
    "debug": "SENTRY_DEBUG",
    "server_name": "SENTRY_SERVER_NAME",
    "traces_sample_rate": "SENTRY_TRACES_SAMPLE_RATE",
}
# raven-python spellings kept for existing configurations.
_ALIASES = {"name": "server_name", "site_name": "site"}


class ClientOptions:
    """Everything a :class:`raven.Client` can be configured with. Read, never mutated.

    A plain class, not a dataclass: ``dataclasses`` imports ``inspect``, which alone would add
    a third to ``import raven``. Defaults are class attributes; given values live on the instance.
    """

    release: str | None = None
    environment: str | None = None
    server_name: str | None = None
    site: str | None = None
    dist: str | None = None
    tags: Mapping[str, str] = {}  # never mutated: options are read-only
    extra: Mapping[str, Any] = {}
    repos: Mapping[str, Any] = {}  # raven-python's: kept (client.repos), never sent
    sample_rate: float = 1.0
    ignore_exceptions: tuple[str, ...] = ()
    include_paths: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    string_max_length: int = 400
    list_max_length: int = 50
    max_depth: int = 5
    max_stack_frames: int = 100
    capture_locals: bool = True
    # Seconds one capture may spend reading locals; past it the rest are left out (extra says so).
    max_locals_time: float = 0.05
    # callable(value) -> str | None: text sent instead of a value's repr (sentry-sdk's name).
    custom_repr: Callable[[Any], str | None] | None = None
    auto_log_stacks: bool = False
    context_lines: int = 5
    processors: tuple[Any, ...] = DEFAULT_PROCESSORS
    sanitize_keys: tuple[str, ...] = ()
    transport: Any = None
    raise_send_errors: bool = False
    timeout: float = 5.0
    verify_ssl: bool = True
    ca_certs: str | None = None
    # Proxies (sentry-sdk's names): None uses the environment's, "" disables it.
    http_proxy: str | None = None
    https_proxy: str | None = None
    before_send: Callable[..., Any] | None = None
    before_breadcrumb: Callable[..., Any] | None = None
    max_breadcrumbs: int = 100
    install_sys_hook: bool = True
    install_logging_hook: bool = True
    hook_libraries: tuple[str, ...] = ("requests", "httplib")
    enable_breadcrumbs: bool = True
    # Threads and ThreadPoolExecutor jobs run in a copy of their starter's context (raven.threads).
    propagate_context_to_threads: bool = True
    send_default_pii: bool = False
    max_request_body_size: str = "medium"
    debug: bool = False
    # Delivery.
    transport_protocol: str = "envelope"
    queue_size: int = 10_000
    queue_max_bytes: int = 64 * 1024 * 1024
    max_requests_in_flight: int = 4
    max_event_bytes: int = 1024 * 1024
    shutdown_timeout: float = 2.0
    send_client_reports: bool = True
    outbox_path: str | None = None
    outbox_max_events: int = 10_000
    outbox_max_bytes: int = 256 * 1024 * 1024
    # Attachments (raven.attachments), in bytes: one attachment, and all of one event's (Relay's
    # names; 20 MiB is the request size Sentry's other SDKs cap attachments to). What is over
    # is left out (counted), the event still goes.
    max_attachment_size: int = 20 * 1024 * 1024
    max_attachments_size: int = 20 * 1024 * 1024
    # Tracing (raven.tracing): off unless a rate or a sampler is given.
    traces_sample_rate: float | None = None
    traces_sampler: Callable[..., Any] | None = None
    # Regular expressions (strings or compiled) searched in outgoing URLs that get trace headers.
    trace_propagation_targets: tuple[Any, ...] = (".*",)  # compiled by the tracer
    # Transactions whose name matches one of these patterns are not sent (health checks, ...).
    ignore_transactions: tuple[Any, ...] = ()
    # Transactions of requests answered with one of these status codes are not sent (e.g. 404).
    trace_ignore_status_codes: tuple[int, ...] = ()
    max_spans: int = 1000  # per transaction; more are dropped and counted
    before_send_transaction: Callable[..., Any] | None = None
    # Profiling (raven.profiling): off unless a rate or a sampler is given; both are relative to
    # sampled transactions. profiles_sampler gets the sampling context traces_sampler gets.
    profiles_sample_rate: float | None = None
    profiles_sampler: Callable[..., Any] | None = None
    # Stack samples a second while a profile runs: a prime, off the beat of periodic work.
    profiles_sampling_frequency: float = 101.0
    # Structured logs (raven.logs): off by default. Python logging records at or above
    # logs_level (a level number or name; None: only client.logger's calls) become logs.
    enable_logs: bool = False
    logs_level: int | None = 20  # logging.INFO
    before_send_log: Callable[..., Any] | None = None
    # Metrics (raven.metrics): client.metrics.count / gauge / distribution.
    enable_metrics: bool = True
    before_send_metric: Callable[..., Any] | None = None
    # Release health (raven.sessions): None means on when the client has a release (given, from
    # SENTRY_RELEASE, or detected by raven.release); sessions without a release are never sent.
    auto_session_tracking: bool | None = None

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(_annotations())
        if unknown:
            raise ConfigurationError(f"unknown client option {sorted(unknown)[0]!r}")
        self.__dict__.update(values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"client options are read-only (tried to set {name!r})")

    def __repr__(self) -> str:
        return f"ClientOptions({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"

    @classmethod
    def from_kwargs(
        cls, options: Mapping[str, Any], dsn_query: Mapping[str, str] | None = None
    ) -> ClientOptions:
        """Build and validate options; unknown names and wrong types raise ConfigurationError."""
        options = translate_legacy(options)  # raven-python's and sentry-sdk's spellings
        known = _annotations()
        values: dict[str, Any] = {}
        for name, env in _ENV.items():
            if os.environ.get(env):
                values[name] = os.environ[env]
        for key, raw in (dsn_query or {}).items():
            if key in known:
                values[key] = raw
        for key, value in options.items():
            key = _ALIASES.get(key, key)
            if key not in known:
                raise ConfigurationError(f"unknown client option {key!r}")
            if value is None and key not in _NULLABLE:
                continue
            values[key] = value
        coerced = {name: _coerce(name, known[name], value) for name, value in values.items()}
        for name in ("trace_propagation_targets", "ignore_transactions"):
            if name in coerced:
                coerced[name] = compile_patterns(name, coerced[name])
        if coerced.get("release") is None and "SENTRY_RELEASE" not in os.environ:
            # Not given: the checkout's commit or a CI variable. SENTRY_RELEASE="" (or
            # release="") means no release, and nothing detected.
            from .release import detect_release

            coerced["release"] = detect_release()
        if not coerced.get("server_name"):
            coerced["server_name"] = (
                os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")
            )
        opts = cls(**coerced)
        opts._check_ranges()
        return opts

    def _check_ranges(self) -> None:
        if not 0.0 <= self.sample_rate <= 1.0:
            raise ConfigurationError(
                f"option 'sample_rate' must be a number between 0 and 1, got {self.sample_rate!r}"
            )
        for name in (
            "string_max_length",
            "list_max_length",
            "max_depth",
            "queue_size",
            "max_requests_in_flight",
            "max_event_bytes",
            "max_stack_frames",
            "max_spans",
        ):
            if getattr(self, name) < 1:
                raise ConfigurationError(
                    f"option {name!r} must be a positive integer, got {getattr(self, name)!r}"
                )
        for name in ("context_lines", "max_breadcrumbs"):
            if getattr(self, name) < 0:
                raise ConfigurationError(
                    f"option {name!r} must be >= 0, got {getattr(self, name)!r}"
                )
        # Negative byte/event bounds cannot work: refuse them rather than spill or busy-loop.
        for name in (
            "queue_max_bytes",
            "outbox_max_events",
            "outbox_max_bytes",
            "max_attachment_size",
            "max_attachments_size",
        ):
            if getattr(self, name) < 1:
                raise ConfigurationError(
                    f"option {name!r} must be a positive integer, got {getattr(self, name)!r}"
                )
        # Timeouts name the value; inf and nan would wait forever (nan also slips past "<= 0").
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ConfigurationError(
                f"option 'timeout' must be a finite number of seconds > 0, got {self.timeout!r}"
            )
        if not (math.isfinite(self.shutdown_timeout) and self.shutdown_timeout >= 0):
            raise ConfigurationError(
                "option 'shutdown_timeout' must be a finite number of seconds >= 0, "
                f"got {self.shutdown_timeout!r}"
            )
        if self.max_request_body_size not in ("never", "small", "medium", "always"):
            raise ConfigurationError(
                "option 'max_request_body_size' must be one of 'never', 'small', "
                f"'medium', 'always', got {self.max_request_body_size!r}"
            )
        if self.transport_protocol not in ("envelope", "store"):
            raise ConfigurationError(
                f"option 'transport_protocol' must be 'envelope' or 'store', got {self.transport_protocol!r}"
            )
        # max_locals_time: a finite number of seconds >= 0 (nan and inf would never cut).
        if not 0 <= self.max_locals_time < float("inf"):
            raise ConfigurationError(
                "option 'max_locals_time' must be a finite number of seconds >= 0, "
                f"got {self.max_locals_time!r}"
            )
        for name in ("traces_sample_rate", "profiles_sample_rate"):
            rate = getattr(self, name)
            if rate is not None and not 0.0 <= rate <= 1.0:
                raise ConfigurationError(
                    f"option {name!r} must be a number between 0 and 1, got {rate!r}"
                )
        if not 1.0 <= self.profiles_sampling_frequency <= 1000.0:
            raise ConfigurationError(
                "option 'profiles_sampling_frequency' must be a number of samples a second "
                f"between 1 and 1000, got {self.profiles_sampling_frequency!r}"
            )
        for code in self.trace_ignore_status_codes:
            if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
                raise ConfigurationError(
                    f"option 'trace_ignore_status_codes' must hold HTTP status codes, got {code!r}"
                )
        for name in (
            "before_send",
            "before_breadcrumb",
            "custom_repr",  # ours
            "traces_sampler",
            "before_send_transaction",
            "profiles_sampler",
            "before_send_log",
            "before_send_metric",
        ):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise ConfigurationError(f"option {name!r} must be callable, got {value!r}")


def _annotations() -> dict[str, str]:
    """Option name -> declared type, as text (annotations are strings in this module)."""
    return {k: v for k, v in ClientOptions.__annotations__.items() if not k.startswith("_")}


_NULLABLE = {
    "release",
    "environment",
    "server_name",
    "site",
    "dist",
    "transport",
    "before_send",
    "before_breadcrumb",
    "custom_repr",
    "outbox_path",
    "ca_certs",
    "http_proxy",  # None: the environment's proxy; "" (kept, not dropped): none at all
    "https_proxy",
    "traces_sample_rate",
    "traces_sampler",
    "before_send_transaction",
    "profiles_sample_rate",
    "profiles_sampler",
    "logs_level",
    "before_send_log",
    "before_send_metric",
    "auto_session_tracking",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    """Convert ``value`` to the option's declared type, or raise naming the option."""
    kind = str(annotation)
    try:
        if kind == "bool":
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise TypeError
        if kind == "bool | None":
            return None if value is None else _coerce(name, "bool", value)
        if kind == "int":
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, str):
                return int(value)
            if isinstance(value, int):
                return value
            raise TypeError
        if kind == "int | None":  # logs_level: a logging level, by number or name
            return _log_level(value)
        if kind == "float | None" and value is None:
            return None
        if kind in ("float", "float | None"):
            if isinstance(value, bool):
                raise TypeError
            return float(value) if isinstance(value, (int, float, str)) else _fail()
        if kind == "str | None" or kind == "str":
            if value is None or isinstance(value, str):
                return value
            raise TypeError
        if kind.startswith("tuple"):
            if isinstance(value, str):
                return (value,)
            if isinstance(value, (list, tuple, set, frozenset, range)):
                return tuple(value)
            raise TypeError
        if kind.startswith("Mapping"):
            if isinstance(value, Mapping):
                return dict(value)
            raise TypeError
    except (TypeError, ValueError):
        expected = {
            "bool": "a boolean",
            "bool | None": "a boolean or None",
            "int": "an integer",
            "float": "a number",
            "float | None": "a number",
            "str | None": "a string",
            "str": "a string",
            "int | None": "a logging level (a number, a name such as 'INFO', or None)",
        }.get(kind, "a list of strings" if kind.startswith("tuple") else "a dict")
        raise ConfigurationError(f"option {name!r} must be {expected}, got {value!r}") from None
    return value


def compile_patterns(name: str, values: Any) -> tuple[re.Pattern[str], ...]:
    """Strings (regular expressions, searched in the value) and compiled patterns, compiled;
    a string that does not compile fails here, naming the option."""
    patterns = []
    for value in values:
        if isinstance(value, re.Pattern):
            patterns.append(value)
            continue
        try:
            patterns.append(re.compile(value))
        except (re.error, TypeError) as exc:
            raise ConfigurationError(
                f"option {name!r}: {value!r} is not a regular expression ({exc})"
            ) from None
    return tuple(patterns)


def _fail() -> Any:
    raise TypeError


_LEVEL_NAMES = {"CRITICAL": 50, "FATAL": 50, "ERROR": 40, "WARNING": 30, "WARN": 30}
_LEVEL_NAMES.update({"INFO": 20, "DEBUG": 10, "TRACE": 5, "NOTSET": 0})


def _log_level(value: Any) -> int | None:
    """A logging level from a number or a name (``"info"``, ``"WARNING"``); None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        if text.upper() in _LEVEL_NAMES:
            return _LEVEL_NAMES[text.upper()]
    raise ValueError


# Every name raven.Client accepts as an option, raven-python's spellings included.
OPTION_NAMES: frozenset[str] = (
    frozenset(_annotations())
    | frozenset(_ALIASES)
    | frozenset(_LEGACY_ALIASES)
    | frozenset(_LEGACY_IGNORED)
)

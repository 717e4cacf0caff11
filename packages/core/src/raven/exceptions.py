"""Raven's exception types: configuration errors raised at construction, delivery errors."""

from __future__ import annotations

__all__ = ["APIError", "ConfigurationError", "DuplicateScheme", "InvalidDsn", "RateLimited"]


class ConfigurationError(ValueError):
    """A client option has a wrong type or value; the message names the option and what was expected."""


class InvalidDsn(ConfigurationError):
    """The DSN is malformed or uses a scheme no transport is registered for."""


class DuplicateScheme(Exception):
    """A transport is already registered for this scheme."""


class APIError(Exception):
    """The server refused an event (an answer other than 2xx)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class RateLimited(APIError):
    """The server answered 429: send nothing more for ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float = 0) -> None:
        super().__init__(message, 429)
        self.retry_after = retry_after

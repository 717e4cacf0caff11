"""raven-python's ``raven.transport.exceptions``."""

from __future__ import annotations

from ..exceptions import DuplicateScheme, InvalidDsn

__all__ = ["DuplicateScheme", "InvalidScheme"]


class InvalidScheme(InvalidDsn):
    """A transport was given a DSN whose scheme it does not handle."""

"""Which key a request was sent with: the ``X-Sentry-Auth`` header (or ``Authorization: Sentry``),
the ``sentry_key`` query parameter, or the envelope's ``dsn`` header, as Sentry reads them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .decoding import IngestError

__all__ = ["check_key", "header_key", "public_key_of_dsn"]


def _parse_header(value: str) -> dict[str, str]:
    value = value.strip()
    if value[:7].lower() == "sentry ":
        value = value[7:]
    fields = {}
    for part in value.split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields[key.strip().lower()] = val.strip().strip('"')
    return fields


def header_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The public key the request's header or query string gives, None when neither does.

    Two forms naming different keys are refused, as Sentry refuses them."""
    found: list[str] = []
    auth = headers.get("x-sentry-auth")
    authorization = headers.get("authorization", "")
    if auth is None and authorization[:7].lower() == "sentry ":
        auth = authorization
    if auth is not None:
        key = _parse_header(auth).get("sentry_key")
        if not key:
            raise IngestError(401, "bad X-Sentry-Auth header: no sentry_key in it")
        found.append(key)
    if query.get("sentry_key"):
        found.append(query["sentry_key"])
    if len(set(found)) > 1:
        raise IngestError(401, "the header and the query string name different keys")
    return found[0] if found else None


def public_key_of_dsn(dsn: Any) -> str | None:
    """The public key of an envelope's ``dsn`` header (Sentry's third way to authenticate)."""
    if not isinstance(dsn, str):
        return None
    return urlsplit(dsn).username or None


def check_key(project_id: int, key: str | None, keys: Mapping[int, str]) -> None:
    """Raise the answer Sentry gives when ``key`` may not send to ``project_id``."""
    if key is None:
        raise IngestError(
            401, "missing authorization information (X-Sentry-Auth header or sentry_key)"
        )
    expected = keys.get(project_id)
    if expected is None:
        raise IngestError(403, f"project {project_id} does not exist on this server")
    if key != expected:
        raise IngestError(
            403, f"the key {key!r} is not the key of project {project_id}: use the project's DSN"
        )

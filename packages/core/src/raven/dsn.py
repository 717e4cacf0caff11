"""Parsing of Sentry DSNs: ``[transport+]scheme://public[:secret]@host[:port]/[path/]project_id``."""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlsplit

from .exceptions import InvalidDsn

__all__ = ["Dsn"]


class Dsn:
    """A parsed DSN. ``transport`` is the scheme prefix (``sync``, ``threaded``) or ``""``."""

    __slots__ = (
        "raw",
        "transport",
        "scheme",
        "public_key",
        "secret_key",
        "host",
        "port",
        "path",
        "project_id",
        "query",
    )

    def __init__(
        self,
        raw: str,
        transport: str,
        scheme: str,
        public_key: str,
        secret_key: str | None,
        host: str,
        port: int | None,
        path: str,
        project_id: str,
        query: dict[str, str] | None = None,
    ) -> None:
        self.raw = raw
        self.transport = transport
        self.scheme = scheme
        self.public_key = public_key
        self.secret_key = secret_key
        self.host = host
        self.port = port
        self.path = path
        self.project_id = project_id
        self.query = query or {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dsn) and self.raw == other.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"Dsn({self.public()!r})"

    @classmethod
    def parse(cls, value: str) -> Dsn:
        """Parse a DSN string; :class:`InvalidDsn` names the part that is wrong."""
        raw = value.strip() if isinstance(value, str) else ""
        if not raw:
            raise InvalidDsn(f"DSN must be a non-empty string, got {value!r}")
        # Two DSNs pasted together (or joined by a comma or space) would otherwise parse, with
        # the second one's project id and the first one's key.
        # (The query may hold URLs: ``?https_proxy=http://...``.)
        head = raw.partition("?")[0]
        if head.count("://") > 1 or any(c.isspace() for c in head):
            raise InvalidDsn(f"DSN {raw!r} holds more than one DSN, or spaces: give exactly one")
        try:
            parts = urlsplit(raw)
            port = parts.port
        except ValueError as exc:
            raise InvalidDsn(f"malformed DSN {raw!r}: {exc}") from None
        transport, _, scheme = parts.scheme.rpartition("+")
        if not scheme:
            raise InvalidDsn(f"DSN {raw!r} has no scheme (expected https://key@host/project_id)")
        if not parts.hostname:
            raise InvalidDsn(f"DSN {raw!r} has no host")
        if not parts.username:
            raise InvalidDsn(
                f"DSN {raw!r} has no public key (expected scheme://PUBLIC_KEY@host/project_id)"
            )
        path, _, project_id = parts.path.rstrip("/").rpartition("/")
        if not project_id:
            raise InvalidDsn(
                f"DSN {raw!r} has no project id (expected scheme://key@host/[path/]PROJECT_ID)"
            )
        if not project_id.isdigit() or not project_id.isascii():
            raise InvalidDsn(
                f"DSN {raw!r}: project id {project_id!r} is not a number "
                "(expected scheme://key@host/[path/]PROJECT_ID)"
            )
        return cls(
            raw=raw,
            transport=transport,
            scheme=scheme,
            public_key=parts.username,
            secret_key=parts.password or None,
            host=parts.hostname,
            port=port,
            path=path,
            project_id=project_id,
            query=dict(parse_qsl(parts.query)),
        )

    @classmethod
    def from_env(cls) -> Dsn | None:
        """The DSN of ``SENTRY_DSN``, or None when it is unset or empty."""
        value = os.environ.get("SENTRY_DSN", "").strip()
        return cls.parse(value) if value else None

    @property
    def netloc(self) -> str:
        """``host[:port]`` of the server."""
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port in (None, default) else f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Server URL without the project: ``https://host[:port][/path]``."""
        return f"{self.scheme}://{self.netloc}{self.path}"

    def endpoint(self, name: str) -> str:
        """The ingestion URL for ``envelope`` or ``store``."""
        return f"{self.base_url}/api/{self.project_id}/{name}/"

    def public(self, scheme: str | None = None) -> str:
        """The DSN without secret and transport prefix; ``scheme=""`` gives a protocol-relative form."""
        scheme = self.scheme if scheme is None else scheme
        prefix = f"{scheme}:" if scheme else ""
        return f"{prefix}//{self.public_key}@{self.netloc}{self.path}/{self.project_id}"

    def auth_header(self, client: str) -> str:
        """The ``X-Sentry-Auth`` header value for this DSN's key."""
        parts = ["sentry_version=7", f"sentry_client={client}", f"sentry_key={self.public_key}"]
        if self.secret_key:
            parts.append(f"sentry_secret={self.secret_key}")
        return "Sentry " + ", ".join(parts)

    def __str__(self) -> str:
        return self.public()

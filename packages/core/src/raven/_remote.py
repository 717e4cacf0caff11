"""raven-python's ``RemoteConfig`` (``raven.conf.remote``): where events go, read from a DSN (a
view of :class:`raven.Dsn`).

``client.remote`` is one; ``RemoteConfig.from_string(dsn)`` parses a DSN as raven-python did,
raising :class:`raven.exceptions.InvalidDsn` for a malformed DSN or an unknown scheme.
"""

from __future__ import annotations

from typing import Any

from .dsn import Dsn

__all__ = ["RemoteConfig"]


class RemoteConfig:
    """``base_url``, ``project``, ``public_key``, ``secret_key``, ``store_endpoint``, ``options``
    (the DSN's query) and the transport to send with."""

    def __init__(
        self,
        base_url: str | None = None,
        project: str | None = None,
        public_key: str | None = None,
        secret_key: str | None = None,
        transport: Any = None,
        options: dict[str, Any] | None = None,
        dsn: Dsn | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.project = project
        self.public_key = public_key
        self.secret_key = secret_key
        self.options = dict(options or {})
        self.store_endpoint = f"{self.base_url}/api/{project}/store/" if self.base_url else None
        self.dsn = dsn
        self._transport_cls = transport
        self._transport: Any = None

    @classmethod
    def from_dsn(cls, dsn: Dsn | None, transport: Any = None) -> RemoteConfig:
        """The remote of a parsed DSN (an inactive one for None)."""
        if dsn is None:
            return cls(transport=transport)
        return cls(
            base_url=dsn.base_url,
            project=dsn.project_id,
            public_key=dsn.public_key,
            secret_key=dsn.secret_key,
            transport=transport,
            options=dict(dsn.query),
            dsn=dsn,
        )

    @classmethod
    def from_string(
        cls, value: str, transport: Any = None, transport_registry: Any = None
    ) -> RemoteConfig:
        """Parse ``value``; :class:`~raven.exceptions.InvalidDsn` when it is malformed or no
        transport handles its scheme (``transport`` given: any scheme goes)."""
        from .transport import transport_for

        dsn = Dsn.parse(value)
        transport_cls = transport_for(dsn, transport)
        return cls.from_dsn(dsn, transport_cls)

    def __str__(self) -> str:
        return str(self.base_url)

    def __repr__(self) -> str:
        return f"RemoteConfig({self.dsn!r})"

    def is_active(self) -> bool:
        """True when the server, project and public key are all known."""
        return bool(self.base_url and self.project and self.public_key)

    def get_transport(self) -> Any:
        """The transport instance sending to this remote (the client's, for ``client.remote``);
        None when inactive. For a raven-python transport class, that class's instance."""
        if self._transport is None and self.dsn is not None:
            from .options import ClientOptions
            from .transport import transport_for

            transport_cls = self._transport_cls or transport_for(self.dsn)
            options = ClientOptions.from_kwargs({}, self.dsn.query)
            self._transport = transport_cls(self.dsn, options)
        return getattr(self._transport, "legacy", self._transport)

    def get_public_dsn(self) -> str | None:
        """The DSN without its secret, scheme-relative: ``//key@host/project``."""
        return self.dsn.public("") if self.dsn is not None else None

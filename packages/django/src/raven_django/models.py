"""raven-python's ``raven.contrib.django.models``: ``client``, a lazy proxy to the configured client.

No models: Django imports this module while it loads apps, so it must stay free of side effects.
"""

from __future__ import annotations

from typing import Any

from .compat import SentryDjangoHandler
from .conf import get_client

__all__ = ["ProxyClient", "SentryDjangoHandler", "client", "get_client"]


class ProxyClient:
    """Forwards attribute access to :func:`get_client` at each use, so it follows setting changes."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(get_client(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(get_client(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(get_client(), name)

    def __repr__(self) -> str:
        return f"<ProxyClient for {get_client()!r}>"

    # raven-python's proxy passed these through: code compares, hashes and type-checks it.
    def __eq__(self, other: object) -> bool:
        return bool(get_client() == other)

    def __ne__(self, other: object) -> bool:
        return bool(get_client() != other)

    def __hash__(self) -> int:
        return hash(get_client())

    def __bool__(self) -> bool:
        return True

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # noqa: D105 - isinstance(client, DjangoClient) holds
        return type(get_client())


client = ProxyClient()

"""raven-python's client attributes: ``client.include_paths``, ``tags``, ``site``, ``remote`` ...
readable and assignable, an assignment taking effect for the next capture.

Raven's options are one frozen object (``client.options``); assigning one of these attributes
replaces that object with a copy holding the new value (validated as at construction) and
rebuilds what was derived from it (the stack builder's in-app rules, the ignore matcher, the
processors). :class:`raven.Client` inherits this mixin.
"""

from __future__ import annotations

import logging
from typing import Any

from ._legacy_options import replace_option
from .options import ClientOptions

__all__ = ["LegacyClientAttributes"]

logger = logging.getLogger("raven.client")


def _option(name: str, doc: str) -> property:
    def get(self: Any) -> Any:
        return getattr(self.options, name)

    def set_(self: Any, value: Any) -> None:
        self._set_option(name, value)

    return property(get, set_, doc=doc)


class LegacyClientAttributes:
    """Client attributes with raven-python's names, backed by ``self.options``."""

    options: ClientOptions

    include_paths = _option(
        "include_paths", "Module prefixes whose frames are in_app (allow-list)."
    )
    exclude_paths = _option("exclude_paths", "Module prefixes whose frames are never in_app.")
    ignore_exceptions = _option("ignore_exceptions", "Exception classes or names not captured.")
    site = _option("site", "The ``site`` tag of every event.")
    extra = _option("extra", "Extra data on every event (raven-python's ``context`` option).")
    tags = _option("tags", "Tags on every event.")
    sample_rate = _option("sample_rate", "The share of events sent (0 to 1).")
    sanitize_keys = _option("sanitize_keys", "More keys whose values are masked.")
    release = _option("release", "The release of every event.")
    environment = _option("environment", "The environment of every event.")
    name = _option("server_name", "The server name of every event (raven-python's ``name``).")
    auto_log_stacks = _option("auto_log_stacks", "Attach the caller's stack to messages.")
    capture_locals = _option("capture_locals", "Send frames' local variables.")
    string_max_length = _option("string_max_length", "Longest string sent.")
    list_max_length = _option("list_max_length", "Longest list sent.")
    raise_send_errors = _option("raise_send_errors", "Raise delivery errors to the caller.")

    def _set_option(self, name: str, value: Any) -> None:
        """Replace ``self.options`` with a copy where ``name`` is ``value``, then rebuild what the
        client derived from it (through the one place that builds it)."""
        self.options = replace_option(self.options, name, value)
        self._options_changed(name)

    def _options_changed(self, name: str) -> None:
        client: Any = self
        opts = self.options
        if name in ("include_paths", "exclude_paths", "capture_locals"):
            client.stacks.set_in_app_rules(opts.include_paths, opts.exclude_paths)
            client.stacks.capture_locals = opts.capture_locals
        elif name == "ignore_exceptions":
            from .excinfo import ignore_matcher

            client._ignore = ignore_matcher(opts.ignore_exceptions)
        elif name in ("sanitize_keys", "processors"):
            from .callbacks import load_processor

            client.processors = [load_processor(p, self) for p in opts.processors]
        elif name in ("release", "environment", "server_name"):
            client._static = client._static_event_fields()
        elif name in ("string_max_length", "list_max_length"):
            client.serializer.string_max_length = opts.string_max_length
            client.serializer.list_max_length = opts.list_max_length

    repos = _option(
        "repos",
        "raven-python's ``repos`` option: kept, not sent (Sentry reads a release's commits "
        "from its repository integration now).",
    )

    @property
    def remote(self) -> Any:
        """raven-python's ``RemoteConfig`` of this client's DSN (``is_active()``,
        ``store_endpoint``, ``get_transport()``, ...). Assign one, or call :meth:`set_dsn`, to
        send elsewhere from now on."""
        from ._deprecated import warn_moved
        from ._remote import RemoteConfig

        warn_moved("client.remote", "client.dsn")
        client: Any = self
        remote = getattr(self, "_raven_remote", None)
        if remote is None or remote.dsn != client.dsn:
            remote = RemoteConfig.from_dsn(client.dsn)
            remote._transport = client.transport
            self._raven_remote = remote
        return remote

    @remote.setter
    def remote(self, value: Any) -> None:
        self.set_dsn(value.dsn.raw if getattr(value, "dsn", None) is not None else None)

    def get_ident(self, result: Any) -> Any:
        """raven-python's deprecated way to get an event's id: ``capture`` returns it."""
        from ._deprecated import warn_moved

        warn_moved("client.get_ident(result)", "the id capture returns")
        return result

    def set_dsn(self, dsn: str | None = None, transport: Any = None) -> None:
        """Send to ``dsn`` from now on (None: disable the client); pending events still go to
        the old DSN, whose transport is closed without waiting."""
        from . import hooks
        from .dsn import Dsn
        from .transport import transport_for

        client: Any = self
        new = Dsn.parse(dsn) if dsn else None
        old_transport = client.transport
        transport_cls = transport_for(new, transport or self.options.transport) if new else None
        client.dsn = new
        client.transport = (
            transport_cls(new, self.options, client.reports) if transport_cls and new else None
        )
        if old_transport is not None:
            old_transport.close(0)
        if client.transport is not None:
            client._context.activate()
            hooks.install(client)
        else:
            hooks.uninstall(client)
            client._context.deactivate()

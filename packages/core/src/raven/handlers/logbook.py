"""``SentryHandler`` for logbook (raven-python's ``raven.handlers.logbook``): records at or above
its level become events. Needs logbook: ``pip install "raven-core[logbook]"``."""

from __future__ import annotations

from typing import Any

from .._deprecated import import_for
from ..client import Client
from ..guard import capture_internal_errors

logbook: Any = import_for("logbook", "raven.handlers.logbook", '"raven-core[logbook]"')
_LogbookHandler: Any = logbook.Handler

__all__ = ["SentryHandler"]

_EXCLUDED = ("raven", "sentry.errors")


class SentryHandler(_LogbookHandler):  # type: ignore[misc]
    """``SentryHandler(client)``, ``SentryHandler("dsn", client_cls=...)`` or
    ``SentryHandler(client=client, level=...)``; other arguments go to ``logbook.Handler``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) == 1 and "client" not in kwargs:
            first, args = args[0], ()
            if isinstance(first, str):
                client_cls = kwargs.pop("client_cls", Client)
                handler_keys = ("level", "filter", "bubble")
                handler_kwargs = {k: kwargs.pop(k) for k in handler_keys if k in kwargs}
                first, kwargs = client_cls(dsn=first, **kwargs), handler_kwargs
            self.client = first
        elif "client" in kwargs:
            self.client = kwargs.pop("client")
        else:
            raise TypeError("SentryHandler needs a client: SentryHandler(client) or a DSN string")
        if not isinstance(self.client, Client):
            raise ValueError(
                f"SentryHandler needs a raven.Client or a DSN string, got {self.client!r}"
            )
        super().__init__(*args, **kwargs)

    def emit(self, record: Any) -> None:
        """Capture ``record``; a failure is logged on ``raven.handlers``, never raised."""
        if record.channel.startswith(_EXCLUDED):
            return
        with capture_internal_errors("handlers", "sending a logbook record"):
            self._emit(record)

    def _emit(self, record: Any) -> str | None:
        extra = {
            "lineno": record.lineno,
            "filename": record.filename,
            "function": record.func_name,
            "process": record.process,
            "process_name": record.process_name,
            **record.extra,
        }
        kwargs: dict[str, Any] = {
            "level": logbook.get_level_name(record.level).lower(),
            "logger": record.channel,
            "extra": extra,
        }
        if "tags" in record.kwargs:
            kwargs["tags"] = record.kwargs["tags"]
        # logbook formats with str.format: the entry carries the text logbook formatted
        entry = {"message": record.msg, "formatted": record.message}
        data = {"logentry": entry, "message": record.message}
        if record.args:
            entry["params"] = list(record.args)
        if record.exc_info is True or (record.exc_info and all(record.exc_info)):
            exc_info = None if record.exc_info is True else record.exc_info
            event_id: str | None = self.client.captureException(exc_info, data=data, **kwargs)
            return event_id
        event_id = self.client.captureMessage(record.msg, data=data, **kwargs)
        return event_id

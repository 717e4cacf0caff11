"""The transport interface, and the HTTP logic every HTTP transport shares: preparing a request
(rate limits, size limits, envelope, client reports, gzip) and reading the server's answer.

Transports that do their I/O differently (a thread pool, Tornado's IOLoop) subclass
:class:`HTTPTransport` and only perform the request.
"""

from __future__ import annotations

import abc
import atexit
import logging
import random
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from ..__about__ import __version__
from ..dsn import Dsn
from ..guard import capture_internal_errors
from ..options import ClientOptions
from .envelope import (
    COMPRESS_FROM,
    GZIP_LEVEL_ERRORS,
    category_of,
    drops_of,
    dumps,
    encode_envelope,
    fit_event,
    gzip_body,
    rfc3339_now,
)
from .ratelimit import RateLimits
from .reports import ClientReports

__all__ = ["Backoff", "HTTPTransport", "PreparedRequest", "Transport", "USER_AGENT"]

logger = logging.getLogger("raven.transport")
USER_AGENT = f"raven-python/{__version__}"
REPORT_INTERVAL = 30.0  # a lone client report goes out at most this often
MAX_BACKOFF = 60.0
OVERFLOW_WARNING_INTERVAL = 60.0
MAX_PROFILE_BYTES = 50 * 1024 * 1024  # Relay's limit for a profile item


class Backoff:
    """Exponentially longer pauses, with jitter, after consecutive server failures."""

    def __init__(self) -> None:
        self.failures = 0
        self.until = 0.0  # time.monotonic() before which nothing is sent

    def failed(self) -> float:
        """Record a failure; the pause (seconds) that follows it."""
        self.failures += 1
        delay = min(MAX_BACKOFF, 2.0 ** min(self.failures - 1, 6)) * random.uniform(0.5, 1.0)
        self.until = max(self.until, time.monotonic() + delay)
        return delay

    def succeeded(self) -> None:
        """Forget earlier failures: the next failure pauses briefly again."""
        self.failures = 0

    def remaining(self) -> float:
        """Seconds left in the current pause (zero or negative when none)."""
        return self.until - time.monotonic()


class Transport(abc.ABC):
    """Receives finished events from the client and delivers them."""

    def __init__(
        self, dsn: Dsn, options: ClientOptions, reports: ClientReports | None = None
    ) -> None:
        self.dsn = dsn
        self.options = options
        self.reports = reports or ClientReports()

    @abc.abstractmethod
    def send_event(self, event: dict[str, Any]) -> None:
        """Deliver ``event`` (a JSON-safe dict); must not raise unless ``raise_send_errors``."""

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for pending events; True when nothing is pending."""
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Flush for up to ``timeout`` and accept nothing more."""
        return self.flush(timeout)

    def at_exit(self) -> None:
        """What becomes of pending events when the interpreter exits: by default, close()."""
        self.close(self.options.shutdown_timeout)

    def close_at_exit(self) -> None:
        """Have :meth:`at_exit` called at interpreter exit (the transport is held weakly)."""
        global _exit_hook_registered
        if not _exit_hook_registered:
            _exit_hook_registered = True
            atexit.register(_run_exit_hooks)
        _closing_at_exit.add(self)


_closing_at_exit: weakref.WeakSet[Transport] = weakref.WeakSet()
_exit_hook_registered = False


def proxies_for(url: str, options: ClientOptions) -> dict[str, str | None] | None:
    """The ``proxies`` argument for ``requests``: None leaves the environment's proxy in charge.

    ``https_proxy`` applies to an https DSN, ``http_proxy`` to an http one (and to an https one
    when ``https_proxy`` is not set), as in sentry-sdk. An empty string means "no proxy": keys set
    to None keep ``requests`` from taking ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY``.
    """
    proxy = options.https_proxy if url.startswith("https:") else None
    if proxy is None:
        proxy = options.http_proxy
    if proxy is None:
        return None
    if proxy == "":
        return {"http": None, "https": None, "all": None}
    return {"http": proxy, "https": proxy}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return headers.get(name.lower()) if value is None else value


def _run_exit_hooks() -> None:
    for transport in list(_closing_at_exit):
        with capture_internal_errors("transport", "flushing at exit"):
            transport.at_exit()


class PreparedRequest:
    """A request ready to POST, with what the transport needs to account for its answer."""

    __slots__ = ("url", "headers", "body", "category", "event_id", "report", "outbox_file", "drops")

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        body: bytes,
        category: str,
        event_id: str | None,
        report: dict[str, Any] | None = None,
        outbox_file: str | None = None,
        drops: list[tuple[str, int]] | None = None,
    ) -> None:
        self.url = url
        self.headers = headers
        self.body = body
        self.category = category
        self.event_id = event_id
        self.report = report  # a client report riding along, restored if this fails
        self.outbox_file = outbox_file  # set when loaded from (or written to) the outbox
        # What losing it counts in client reports (see envelope.drops_of); None: one of category.
        self.drops = drops


class HTTPTransport(Transport):
    """Shared HTTP behaviour; subclasses call :meth:`prepare`, do the I/O, then :meth:`handle_answer`."""

    def __init__(
        self, dsn: Dsn, options: ClientOptions, reports: ClientReports | None = None
    ) -> None:
        super().__init__(dsn, options, reports)
        self.rate_limits = RateLimits()
        self.store = options.transport_protocol == "store"
        self.url = dsn.endpoint("store" if self.store else "envelope")
        self.auth = dsn.auth_header(USER_AGENT)
        self.timeout = float(dsn.query.get("timeout", options.timeout))
        self.verify: bool | str = options.verify_ssl
        if dsn.query.get("verify_ssl") in ("0", "false", "False"):
            self.verify = False
        ca_certs = dsn.query.get("ca_certs") or options.ca_certs
        if ca_certs and self.verify:
            self.verify = ca_certs
        self._last_warning: dict[str, float] = {}  # by kind: see _warn_rarely
        # Run over each event and transaction as it is encoded (the client's processors, set by
        # the client): scrubbing happens here, on the encoder thread, not on the app's.
        self.process_event: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.proxies = proxies_for(self.url, options)
        # One dict shared by every request (never mutated): a queued backlog holds no copies.
        self.request_headers = {
            "User-Agent": USER_AGENT,
            "X-Sentry-Auth": self.auth,
            "Content-Encoding": "gzip",
            "Content-Type": "application/json" if self.store else "application/x-sentry-envelope",
        }
        # ... and the one for a body sent uncompressed (see COMPRESS_FROM)
        self.plain_headers = {
            k: v for k, v in self.request_headers.items() if k != "Content-Encoding"
        }

    def admit(self, event: dict[str, Any]) -> str | None:
        """The event's category, or None when that category is rate limited (the drop is counted).

        Queuing transports call this first, so a limited event never takes queue room.
        """
        category = category_of(event)
        if self.rate_limits.is_limited(category):
            self.record_dropped("ratelimit_backoff", category, event)
            return None
        return category

    def record_dropped(self, reason: str, category: str, event: dict[str, Any]) -> None:
        """Count a dropped event: one of its category, plus a transaction's spans or what an
        envelope item says it holds (``drops_of``)."""
        for drop_category, quantity in drops_of(event, category):
            self.reports.record(reason, drop_category, quantity)

    def record_closed(self, event: dict[str, Any], category: str) -> None:
        """Count an event captured after the transport was closed."""
        self.record_dropped("network_error", category, event)
        logger.debug("event %s dropped: transport closed", event.get("event_id"))

    def count_lost(self, reason: str, request: PreparedRequest) -> None:
        """Count a request that will not be delivered (what it carried, see ``drops_of``)."""
        for category, quantity in request.drops or ((request.category, 1),):
            self.reports.record(reason, category, quantity)

    def record_overflow(self, category: str, drops: list[tuple[str, int]] | None = None) -> None:
        """Count an event dropped because the queue is full; warn at most once a minute."""
        for drop_category, quantity in drops or ((category, 1),):
            self.reports.record("queue_overflow", drop_category, quantity)
        self._warn_rarely(
            "overflow",
            "raven's send queue is full (%d events or %d bytes): dropping events; the count "
            "is reported to the server",
            self.options.queue_size,
            self.options.queue_max_bytes,
        )

    def report_due(self) -> bool:
        """True when dropped events are counted and no report went out for REPORT_INTERVAL."""
        return (
            self.reports.pending() and time.monotonic() - self.reports.last_taken >= REPORT_INTERVAL
        )

    def prepare(self, event: dict[str, Any]) -> PreparedRequest | None:
        """The request for ``event``, or None when it must not be sent (counted as dropped)."""
        category = category_of(event)
        if self.rate_limits.is_limited(category):
            self.record_dropped("ratelimit_backoff", category, event)
            return None
        if "_item" in event:
            return self._prepare_item(event, category)
        dsc = event.pop("_dsc", None)  # a transaction's sampling context: the envelope's ``trace``
        profile = event.pop("_profile", None)  # a profiled transaction's samples (raven.profiling)
        attachments = event.pop("_attachments", None)  # files sent with it (raven.attachments)
        event = self.processed(event)
        if category != "transaction":
            from ..versioning import get_module_versions  # imported by the sender's warm-up

            event.setdefault("modules", get_module_versions())
        payload = fit_event(event, self.options.max_event_bytes)
        if payload is None:
            self.record_dropped("too_large", category, event)
            if profile is not None:
                self.reports.record("too_large", "profile")
            if attachments:
                self._count_attachments("too_large", attachments)
            logger.warning(
                "event %s dropped: larger than %d bytes even after trimming",
                event.get("event_id"),
                self.options.max_event_bytes,
            )
            return None
        event_id = event.get("event_id")
        if self.store:
            if profile is not None:
                self.reports.record("send_error", "profile")  # the store endpoint takes events
            if attachments:
                self._count_attachments("send_error", attachments)
            return PreparedRequest(
                self.url,
                self.request_headers,
                gzip_body(payload, GZIP_LEVEL_ERRORS),
                category,
                event_id,
            )
        profile_item = self._profile_item(profile, event) if profile is not None else None
        items: list[tuple[str | dict[str, Any], bytes]] = [
            ("transaction" if category == "transaction" else "event", payload)
        ]
        if profile_item is not None:
            items.insert(1, ("profile", profile_item))
        attachment_drops: list[tuple[str, int]] = []
        if attachments:  # before the report is taken: it then counts what was left out here
            attachment_drops = self._attachment_items(attachments, items)
        report = self.reports.take() if self.options.send_client_reports else None
        if report is not None:
            items.append(("client_report", dumps(report)))
        headers = self._envelope_headers(event_id)
        if dsc:
            headers["trace"] = dsc
        body = encode_envelope(headers, items)
        drops = drops_of(event, category) if category == "transaction" else None
        if drops is not None and profile_item is not None:
            drops.append(("profile", 1))
        if attachment_drops:  # losing the request loses them too
            drops = [*(drops or [(category, 1)]), *attachment_drops]
        request_headers, body = self.encoded(body, category)
        return PreparedRequest(
            self.url, request_headers, body, category, event_id, report, drops=drops
        )

    def encoded(self, body: bytes, category: str) -> tuple[dict[str, str], bytes]:
        """The headers and body to send for an envelope of ``category``: errors compressed,
        anything else only from ``COMPRESS_FROM`` bytes."""
        if category in ("error", "default"):
            return self.request_headers, gzip_body(body, GZIP_LEVEL_ERRORS)
        if len(body) >= COMPRESS_FROM:
            return self.request_headers, gzip_body(body)
        return self.plain_headers, body

    def _profile_item(self, profile: Any, transaction: dict[str, Any]) -> bytes | None:
        """The ``profile`` item that goes with ``transaction``, or None (the drop counted)."""
        if not callable(getattr(profile, "payload", None)):
            return None  # read back from the outbox: the samples stayed in the old process
        if self.rate_limits.is_limited("profile"):
            self.reports.record("ratelimit_backoff", "profile")
            return None
        payload = None
        with capture_internal_errors("transport", "encoding a profile"):
            payload = dumps(profile.payload(transaction))
        if payload is None:
            self.reports.record("internal_sdk_error", "profile")
        elif len(payload) > MAX_PROFILE_BYTES:
            self.reports.record("too_large", "profile")
            logger.warning("profile of %d bytes dropped: too large", len(payload))
            payload = None
        return payload

    def _attachment_items(
        self, attachments: list[dict[str, Any]], items: list[tuple[str | dict[str, Any], bytes]]
    ) -> list[tuple[str, int]]:
        """Add the event's ``attachment`` items to ``items``; what losing them counts. A failure
        here costs the attachments (counted), never the event."""
        from ..attachments import envelope_items

        with capture_internal_errors("transport", "encoding attachments"):
            attachment_items, drops = envelope_items(attachments, self)
            items.extend(attachment_items)
            return drops
        self._count_attachments("internal_sdk_error", attachments)
        return []

    def _count_attachments(self, reason: str, attachments: list[dict[str, Any]]) -> None:
        from ..attachments import drops_for

        for category, quantity in drops_for(attachments):
            self.reports.record(reason, category, quantity)

    def processed(self, event: dict[str, Any]) -> dict[str, Any]:
        """``event`` after the client's processors (:attr:`process_event`), run once: an event
        spilled to the outbox was processed before it was written."""
        if event.pop("_processed", False) or self.process_event is None:
            return event
        return self.process_event(event)

    def _prepare_item(self, item: dict[str, Any], category: str) -> PreparedRequest | None:
        """The request for an :func:`~raven.transport.envelope.envelope_item`."""
        if self.store:  # the store endpoint takes events only
            self.record_dropped("send_error", category, item)
            logger.debug("%s item dropped: the store protocol carries events only", category)
            return None
        payload = dumps(item["_payload"])
        if len(payload) > self.options.max_event_bytes:
            self.record_dropped("too_large", category, item)
            logger.warning("%s item of %d bytes dropped: too large", category, len(payload))
            return None
        report = self.reports.take() if self.options.send_client_reports else None
        items: list[tuple[str | dict[str, Any], bytes]] = [(item["_item"], payload)]
        if report is not None:
            items.append(("client_report", dumps(report)))
        request_headers, body = self.encoded(
            encode_envelope(self._envelope_headers(None), items), category
        )
        item_id = f"{random.getrandbits(128):032x}"  # not sent: marks it as data, not a report
        return PreparedRequest(
            self.url,
            request_headers,
            body,
            category,
            item_id,
            report,
            drops=drops_of(item, category),
        )

    def prepare_report(self) -> PreparedRequest | None:
        """A request carrying only the pending client report, if there is one."""
        if (
            self.store
            or not self.options.send_client_reports
            or self.rate_limits.is_limited("internal")
        ):
            return None  # under a limit on every category the report waits, still counted
        report = self.reports.take()
        if report is None:
            return None
        request_headers, body = self.encoded(
            encode_envelope(self._envelope_headers(None), [("client_report", dumps(report))]),
            "internal",
        )
        return PreparedRequest(self.url, request_headers, body, "internal", None, report)

    def _envelope_headers(self, event_id: str | None) -> dict[str, Any]:
        headers: dict[str, Any] = {
            "sent_at": rfc3339_now(),
            "dsn": self.dsn.public(),
            "sdk": {"name": "raven.python", "version": __version__},
        }
        if event_id:
            headers["event_id"] = event_id
        return headers

    def handle_answer(
        self, request: PreparedRequest, status: int, headers: Mapping[str, str], text: str
    ) -> str:
        """Account for the server's answer: ``"sent"``, ``"retry"`` (server trouble) or ``"dropped"``."""
        self.rate_limits.update(status, headers)
        if 200 <= status < 300:
            logger.debug("event %s delivered (%d)", request.event_id, status)
            return "sent"
        if status == 429:
            # The server counted it already: client reports record nothing for 429.
            logger.debug("event %s rate limited (429)", request.event_id)
            return "dropped"
        if status >= 500 or status == 408:
            logger.debug("server error %d for event %s", status, request.event_id)
            return "retry"
        if 300 <= status < 400:
            # Never followed: the event and X-Sentry-Auth would go to wherever Location points.
            location = _header(headers, "Location") or "?"
            self._warn_rarely(
                "redirect",
                "the server answered HTTP %d redirecting to %s: redirects are not followed, "
                "events are dropped and counted; point the DSN at the final address",
                status,
                location,
            )
            if request.event_id:
                self.count_lost("send_error", request)
            return "dropped"
        message = headers.get("X-Sentry-Error") or headers.get("x-sentry-error") or text[:500]
        logger.error("server refused event %s with HTTP %d: %s", request.event_id, status, message)
        if request.event_id:
            self.count_lost("send_error", request)
        return "dropped"

    def _warn_rarely(self, kind: str, message: str, *args: Any) -> None:
        """Log a warning of this ``kind`` at most once per OVERFLOW_WARNING_INTERVAL."""
        now = time.monotonic()
        last = self._last_warning.get(kind)
        if last is None or now - last >= OVERFLOW_WARNING_INTERVAL:
            self._last_warning[kind] = now
            logger.warning(message, *args)

    def handle_failure(self, request: PreparedRequest, exc: BaseException) -> None:
        """An event that will not be retried after a network error is counted as lost."""
        if request.report is not None:
            self.reports.restore(request.report)
        if request.event_id:
            self.count_lost("network_error", request)
        logger.debug("event %s lost: %s", request.event_id, exc)


def __getattr__(name: str) -> Any:
    """raven-python's ``AsyncTransport``, resolved lazily."""
    if name not in ("AsyncTransport",):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .legacy import legacy_name

    return legacy_name(__name__, name)

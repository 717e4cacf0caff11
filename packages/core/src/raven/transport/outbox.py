"""The durable outbox: events that could not be delivered are kept on disk and sent later.

One file per request, written atomically (temporary file, then rename). A file is deleted only
once the server has answered for it, so a process killed mid-send re-sends at most what was in
flight, and never loses what reached the outbox.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import tempfile
import threading
import time
from typing import TYPE_CHECKING, Any

from .base import PreparedRequest
from .envelope import is_gzip, rfc3339_now
from .reports import ClientReports

if TYPE_CHECKING:
    from .base import HTTPTransport

__all__ = ["Outbox"]

logger = logging.getLogger("raven.transport.outbox")
SUFFIX = ".raven"
MAGIC = b"RAVEN1\n"


class Outbox:
    """A directory of pending requests, bounded by count and bytes (oldest dropped, counted)."""

    def __init__(self, path: str, max_events: int, max_bytes: int, reports: ClientReports) -> None:
        self.path = path
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.reports = reports
        self._lock = threading.RLock()  # re-entrant: a capture from a signal handler may spill
        self._claimed: set[str] = set()
        self._count: int | None = None  # files and bytes on disk, kept up to date once scanned
        self._bytes = 0
        self._scanned: tuple[list[str], list[int]] = ([], [])
        os.makedirs(path, exist_ok=True)
        if not os.access(path, os.W_OK):  # read-only filesystem: refuse now, not at each spill
            raise PermissionError(f"directory {path!r} is not writable")
        # Files waiting on disk (left by an earlier process, or spilled and not loaded yet). One
        # directory listing here, nothing read: the encoder thread loads them.
        self.unclaimed = bool(self._files())

    def spill_event(self, event: dict[str, Any], transport: HTTPTransport) -> bool:
        """Write an event that found the queue full (encoded here, on the caller's thread)."""
        try:
            request = transport.prepare(event)
        except Exception:
            logger.exception("could not encode event for the outbox")
            return False
        return True if request is None else self.spill_request(request, claim=False)

    def spill_request(self, request: PreparedRequest, claim: bool = True) -> bool:
        """Keep ``request`` on disk; True when it is safely there.

        ``claim``: the request also stays in memory and this process sends it; otherwise it waits
        on disk until :meth:`load` picks it up.
        """
        if request.event_id is None:
            return False
        if request.outbox_file and os.path.exists(request.outbox_file):
            return True  # already on disk: it stays there until delivered
        meta = json.dumps(
            {
                "event_id": request.event_id,
                "category": request.category,
                "url": request.url,
                "headers": request.headers,
            }
        ).encode()
        name = f"{time.time_ns():020d}-{request.event_id}{SUFFIX}"
        try:
            self._make_room(len(request.body))
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                # No fsync: the rename is atomic against a killed process, which is the failure
                # the outbox is for; fsync would cost milliseconds on the caller's thread.
                fh.write(MAGIC + meta + b"\n" + request.body)
            final = os.path.join(self.path, name)
            os.replace(tmp, final)
        except OSError:
            logger.exception("could not write to the outbox %s", self.path)
            return False
        request.outbox_file = final
        with self._lock:
            if claim:
                self._claimed.add(final)  # this process will send it; do not load it a second time
            else:
                self.unclaimed = True
        logger.debug("event %s kept in the outbox", request.event_id)
        return True

    def _files(self) -> list[str]:
        try:
            names = sorted(n for n in os.listdir(self.path) if n.endswith(SUFFIX))
        except OSError:
            return []
        return [os.path.join(self.path, n) for n in names]

    def _scan(self) -> None:
        files = self._files()
        sizes = []
        for f in files:
            try:
                sizes.append(os.path.getsize(f))
            except OSError:
                sizes.append(0)
        self._count, self._bytes = len(files), sum(sizes)
        self._scanned = (files, sizes)

    def _make_room(self, incoming: int) -> None:
        """Drop the oldest files while over the bounds; the directory is listed only when needed."""
        with self._lock:
            if self._count is None:
                self._scan()
            assert self._count is not None
            if self._count < self.max_events and self._bytes + incoming <= self.max_bytes:
                self._count += 1
                self._bytes += incoming
                return
            self._scan()
            files, sizes = self._scanned
            while files and (
                len(files) >= self.max_events or sum(sizes) + incoming > self.max_bytes
            ):
                oldest = files.pop(0)
                sizes.pop(0)
                try:
                    os.unlink(oldest)
                except OSError:
                    continue
                self.reports.record("cache_overflow", "error")
                logger.warning("outbox full: dropped its oldest event %s", os.path.basename(oldest))
            self._count, self._bytes = len(files) + 1, sum(sizes) + incoming

    def load(self, transport: HTTPTransport, limit: int | None = None) -> list[PreparedRequest]:
        """Up to ``limit`` requests waiting on disk, not yet claimed; corrupt files skipped."""
        requests: list[PreparedRequest] = []
        self.unclaimed = False
        for path in self._files():
            if limit is not None and len(requests) >= limit:
                self.unclaimed = True
                break
            with self._lock:
                if path in self._claimed:
                    continue
                self._claimed.add(path)
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
                if not data.startswith(MAGIC):
                    raise ValueError("not a raven outbox file")
                meta_line, _, body = data[len(MAGIC) :].partition(b"\n")
                meta = json.loads(meta_line)
                body = _refresh_sent_at(body, meta["headers"])
                requests.append(
                    PreparedRequest(
                        transport.url,
                        transport.request_headers if is_gzip(body) else transport.plain_headers,
                        body,
                        meta["category"],
                        meta["event_id"],
                        None,
                        path,
                    )
                )
            except Exception as exc:
                logger.warning("skipping unreadable outbox file %s: %s", path, exc)
        if requests:
            logger.debug("loaded %d events from the outbox %s", len(requests), self.path)
        return requests

    def forget(self, request: PreparedRequest) -> None:
        """The server answered for this request: remove its file."""
        if request.outbox_file:
            try:
                os.unlink(request.outbox_file)
            except FileNotFoundError:
                return
            with self._lock:
                self._claimed.discard(request.outbox_file)
                if self._count:
                    self._count -= 1
                    self._bytes = max(0, self._bytes - len(request.body))


def _refresh_sent_at(body: bytes, headers: dict[str, str]) -> bytes:
    """Rewrite the envelope header's ``sent_at``: it must say when the request is really sent."""
    if headers.get("Content-Type") != "application/x-sentry-envelope":
        return body
    compressed = is_gzip(body)
    raw = gzip.decompress(body) if compressed else body
    first, _, rest = raw.partition(b"\n")
    envelope_headers = json.loads(first)
    envelope_headers["sent_at"] = rfc3339_now()
    refreshed = json.dumps(envelope_headers, separators=(",", ":")).encode() + b"\n" + rest
    return gzip.compress(refreshed, mtime=0) if compressed else refreshed

"""The client's feature APIs whose implementation is imported on first use.

``import raven; raven.Client(dsn)`` is a tracked start-up cost: a feature an app does not use
must not load its code. Each API here is a thin method or property of :class:`raven.Client`
that imports its module the first time it is called.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .telemetry import Pipeline

__all__ = ["MonitorsMixin", "ScopeExtrasMixin", "SessionsMixin", "TelemetryMixin"]


class TelemetryMixin:
    """``client.logger`` and ``client.metrics`` on :class:`raven.Client`, made on first use."""

    options: Any
    _structured_logger: Any = None
    _metrics_api: Any = None
    _log_capture: Any = None
    # Made on first use (raven.logs.log_pipeline, raven.metrics.metric_pipeline).
    _log_pipeline: Pipeline | None = None
    _metric_pipeline: Pipeline | None = None

    @property
    def logger(self) -> Any:
        """The structured-log API (:class:`raven.logs.StructuredLogger`): ``client.logger.info(
        "order %s paid", order_id, attributes={...})``. With ``enable_logs`` off its calls go to
        Python's ``raven.client`` logger, as raven-python's ``client.logger`` did."""
        if self._structured_logger is None:
            from .logs import StructuredLogger

            self._structured_logger = StructuredLogger(self)
        return self._structured_logger

    @logger.setter
    def logger(self, value: Any) -> None:
        self._structured_logger = value

    @property
    def metrics(self) -> Any:
        """The metrics API (:class:`raven.metrics.Metrics`): ``count``, ``gauge``,
        ``distribution``."""
        if self._metrics_api is None:
            from .metrics import Metrics

            self._metrics_api = Metrics(self)
        return self._metrics_api

    def start_telemetry(self) -> None:
        """With ``enable_logs``: Python logging records become logs (from now until close)."""
        opts = self.options
        if opts.enable_logs and opts.logs_level is not None and self._log_capture is None:
            from .logs import LogCapture

            self._log_capture = LogCapture(self)
            self._log_capture.start()

    def _pipelines(self) -> list[Pipeline]:
        return [p for p in (self._log_pipeline, self._metric_pipeline) if p is not None]

    def flush_telemetry(self) -> None:
        """Hand every buffered log and metric to the transport now."""
        for pipeline in self._pipelines():
            pipeline.batcher.flush()

    def close_telemetry(self) -> None:
        """Stop taking logging records; ship what is buffered and stop the batcher threads."""
        if self._log_capture is not None:
            self._log_capture.stop()
            self._log_capture = None
        for pipeline in self._pipelines():
            pipeline.batcher.close()


class SessionsMixin:
    """Release health on :class:`raven.Client` (:mod:`raven.sessions`, imported only when
    session tracking is on): the request sessions frameworks open and close, the application
    session of a script or a Lambda invocation, and what a capture does to them."""

    options: Any
    _sessions: Any = None  # raven.sessions.SessionTracker while session tracking is on

    def start_sessions(self) -> None:
        """With ``auto_session_tracking`` (default: on when the client has a release), start
        tracking; the process's application-mode session starts now."""
        opts = self.options
        tracking = opts.auto_session_tracking
        if tracking is None:
            tracking = bool(opts.release)
        if not tracking or self._sessions is not None:
            return
        if not opts.release:
            import logging

            logging.getLogger("raven.sessions").warning(
                "option 'auto_session_tracking' is on but the client has no release "
                "(option 'release', SENTRY_RELEASE): no session is sent"
            )
            return
        from .sessions import SessionTracker

        tracker = self._sessions = SessionTracker(self)
        tracker.start_process_session(auto=True)
        # Called on every request: straight to the tracker, without this class's hop (its
        # methods never raise: see raven.sessions).
        self.start_request_session = tracker.start_request  # type: ignore[method-assign]
        self.end_request_session = tracker.end_request  # type: ignore[method-assign,assignment]

    def use_request_sessions(self) -> None:
        """Count sessions per request or task from now on (framework packages call it when they
        are installed): the process's own session is given up, never sent, so that a server's
        parent process (a Celery worker's main process, a pre-forking server's master) sends
        none. The first :meth:`start_request_session` does the same."""
        if self._sessions is not None:
            self._sessions.enter_request_mode()

    def start_request_session(self) -> Any:
        """A request or task starts (frameworks call this): counted as one session, in request
        mode. Returns the token to pass to :meth:`end_request_session` (None when session
        tracking is off); errors captured until then, in this thread or task, mark it."""
        tracker = self._sessions
        if tracker is None:
            return None
        try:
            return tracker.start_request()
        except Exception:  # never on the app's path
            return None

    def end_request_session(self, token: Any) -> None:
        """The request or task started with ``token`` ends: counted into its minute's
        aggregate (``exited``, ``errored`` or ``crashed``). Ending twice counts once."""
        if token is None:
            return
        try:
            self._sessions.end_request(token)
        except Exception:
            from .guard import capture_internal_errors

            with capture_internal_errors("sessions", "ending a request session"):
                raise

    def start_session(self) -> None:
        """Start an application-mode session (one run of a job, one Lambda invocation): sent
        as a ``session`` item by :meth:`end_session`, ``close()`` or at exit. No-op when
        session tracking is off."""
        if self._sessions is not None:
            self._sessions.start_process_session()

    def end_session(self, status: str | None = None) -> None:
        """End and send the application-mode session: ``exited``, ``crashed`` when an
        unhandled exception was captured, or the ``status`` given (``exited``, ``crashed``,
        ``abnormal``)."""
        if self._sessions is not None:
            from .guard import capture_internal_errors

            with capture_internal_errors("sessions", "ending the session"):
                self._sessions.end_process_session(status)

    def flush_sessions(self) -> None:
        """Send the session aggregates counted so far."""
        if self._sessions is not None:
            self._sessions.flush()

    def close_sessions(self) -> None:
        """End the application session (sent) and send the aggregates."""
        if self._sessions is not None:
            self._sessions.close()


class MonitorsMixin:
    """Cron monitors on :class:`raven.Client` (:mod:`raven.monitors`, imported on first use):
    check-ins telling Sentry a scheduled job started, succeeded or failed."""

    def monitor(self, monitor_slug: str, monitor_config: dict[str, Any] | None = None) -> Any:
        """Decorator and context manager for a scheduled job: an ``in_progress`` check-in when it
        starts, ``ok`` or ``error`` (re-raising the job's exception) with its duration when it
        ends (:class:`raven.monitors.Monitor`)."""
        from .monitors import Monitor

        return Monitor(self, monitor_slug, monitor_config)

    def capture_checkin(
        self,
        monitor_slug: str,
        status: str,
        check_in_id: str | None = None,
        duration: float | None = None,
        monitor_config: dict[str, Any] | None = None,
    ) -> str:
        """Send one check-in (``in_progress``, ``ok`` or ``error``); returns its id (32 hex
        digits), to pass as ``check_in_id`` when closing it (:mod:`raven.monitors`)."""
        from .monitors import capture_checkin

        return capture_checkin(self, monitor_slug, status, check_in_id, duration, monitor_config)


class ScopeExtrasMixin:
    """Feature flags and attachments on :class:`raven.Client`. Both live in the current scope
    (:mod:`raven.context`): a request's flags and files never reach another request's event."""

    _context: Any
    _warn_once: Any
    reports: Any

    def add_feature_flag(self, name: str, result: bool) -> None:
        """Record that flag ``name`` evaluated to ``result`` in this thread or task: the latest
        100 evaluations go on each error event as ``contexts.flags`` (a flag evaluated again
        moves to the end), and on the current span, when tracing (at most 10 per span)."""
        if not isinstance(name, str) or type(result) is not bool:
            self._warn_once(
                "add_feature_flag",
                "add_feature_flag() expects a name (str) and a result (bool), got %s and %s; "
                "ignored",
                type(name).__name__,
                type(result).__name__,
            )
            return
        if _flag_name().fullmatch(name) is None:
            self._warn_once(
                "add_feature_flag-name",
                "add_feature_flag(): flag name %r is not 1 to 200 of a-z A-Z 0-9 _ . : - "
                "(what Sentry accepts); ignored",
                name[:250],
            )
            return
        span = self._context.add_flag(name, result)
        if span is not None:
            _flag_span(span, name, result)

    def add_attachment(
        self, data: Any, filename: str | None = None, content_type: str | None = None
    ) -> None:
        """Send a file with every event this thread or task (request, ``with client.context``)
        captures from now on: ``data`` is bytes, or a path (``str`` or ``os.PathLike``) read
        when the event is sent. ``filename`` defaults to the path's; ``content_type`` is
        guessed from it. Bad arguments are logged and ignored (:mod:`raven.attachments`)."""
        from .attachments import make_attachment

        attachment = make_attachment(data, filename, content_type, self._warn_once)
        if attachment is not None:
            self._context.add_attachment(attachment)

    def clear_attachments(self) -> None:
        """Forget the attachments added in this thread or task."""
        self._context.clear_attachments()

    def _attachments_for(self, per_capture: Any) -> list[dict[str, Any]]:
        """The scope's attachments and the capture's own (``attachments=``)."""
        attachments = list(self._context.attachments)
        if per_capture is not None:
            from .attachments import for_capture

            attachments.extend(for_capture(per_capture, self._warn_once))
        return attachments

    def _count_dropped_attachments(self, reason: str, per_capture: Any) -> None:
        """An event dropped before the transport (``sample_rate``, ``before_send``): count the
        attachments it would have carried."""
        if per_capture is None and not self._context.attachments:
            return
        from .attachments import drops_for

        for category, quantity in drops_for(self._attachments_for(per_capture)):
            self.reports.record(reason, category, quantity)


MAX_FLAGS_PER_SPAN = 10


@functools.cache
def _flag_name() -> re.Pattern[str]:
    """Relay's rule for ``contexts.flags`` names, compiled on first use (not at start-up)."""
    return re.compile(r"[a-zA-Z0-9_.:-]{1,200}")


_FLAG_PREFIX = "flag.evaluation."


def _flag_span(span: Any, name: str, result: bool) -> None:
    """``flag.evaluation.<name>`` in the span's data: the first 10 flags of a span (a flag it
    already has is updated)."""
    data: dict[str, Any] | None = getattr(span, "data", None)
    key = _FLAG_PREFIX + name
    if data and key not in data:
        if sum(1 for k in data if k.startswith(_FLAG_PREFIX)) >= MAX_FLAGS_PER_SPAN:
            return
    span.set_data(key, result)

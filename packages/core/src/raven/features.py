"""The client's feature APIs whose implementation is imported on first use.

``import raven; raven.Client(dsn)`` is a tracked start-up cost: a feature an app does not use
must not load its code. Each API here is a thin method or property of :class:`raven.Client`
that imports its module the first time it is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .telemetry import Pipeline

__all__ = ["TelemetryMixin"]


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

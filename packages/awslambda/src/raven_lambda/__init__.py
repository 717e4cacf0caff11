"""Raven for AWS Lambda: ``@raven_lambda.handler`` reports a handler's errors and imminent
timeouts to Sentry, and delivers them before Lambda freezes the process."""

from __future__ import annotations

from .__about__ import __version__
from ._timeout import TIMEOUT_MESSAGE
from ._wrapper import DEFAULT_TIMEOUT_MARGIN, handler
from .client import LambdaClient

__all__ = ["DEFAULT_TIMEOUT_MARGIN", "LambdaClient", "TIMEOUT_MESSAGE", "__version__", "handler"]

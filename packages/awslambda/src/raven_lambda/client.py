"""``LambdaClient``: raven-python's name for a client used inside AWS Lambda."""

from __future__ import annotations

from typing import Any

import raven

__all__ = ["LambdaClient"]


class LambdaClient(raven.Client):
    """A :class:`raven.Client` for Lambda functions.

    It is the client :func:`raven_lambda.handler` builds by default; build one yourself to pass
    options (``@raven_lambda.handler(client=LambdaClient(release=...))``), or decorate the
    handler with ``@client.capture_exceptions`` as raven-python allowed.
    """

    def capture_exceptions(self, function_or_exceptions: Any = None, **kwargs: Any) -> Any:
        """On a function: :func:`raven_lambda.handler` with this client (context, flush, timeout
        warning). With exception classes, or as a context manager: as on :class:`raven.Client`."""
        if callable(function_or_exceptions) and not (
            isinstance(function_or_exceptions, type)
            and issubclass(function_or_exceptions, BaseException)
        ):
            from ._wrapper import handler

            return handler(client=self, **kwargs)(function_or_exceptions)
        return super().capture_exceptions(function_or_exceptions, **kwargs)

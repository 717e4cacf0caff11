"""What an event says about the invocation: the ``aws_lambda`` context built from Lambda's context
object and environment, and the cold-start flag of this process."""

from __future__ import annotations

import os
import threading
from typing import Any

__all__ = ["aws_lambda_context", "function_name", "remaining_seconds", "take_cold_start"]

_cold_lock = threading.Lock()
_cold = True


def take_cold_start() -> bool:
    """True for the first invocation of this process, False for every later one."""
    global _cold
    with _cold_lock:
        cold, _cold = _cold, False
    return cold


def remaining_seconds(context: Any) -> float | None:
    """Seconds left before Lambda's deadline, or None when ``context`` cannot tell."""
    method = getattr(context, "get_remaining_time_in_millis", None)
    if method is None:
        return None
    millis = method()
    return max(float(millis), 0.0) / 1000.0 if isinstance(millis, (int, float)) else None


def function_name(context: Any) -> str | None:
    """The function's name, from the context object or Lambda's environment."""
    return _text(getattr(context, "function_name", None)) or os.environ.get(
        "AWS_LAMBDA_FUNCTION_NAME"
    )


def aws_lambda_context(context: Any, cold_start: bool) -> dict[str, Any]:
    """The ``aws_lambda`` event context; unknown values are left out rather than sent as null."""
    arn = _text(getattr(context, "invoked_function_arn", None))
    data: dict[str, Any] = {
        "function_name": function_name(context),
        "function_version": _text(getattr(context, "function_version", None))
        or os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
        "invoked_function_arn": arn,
        "aws_request_id": _text(getattr(context, "aws_request_id", None)),
        "memory_limit_in_mb": _number(
            getattr(context, "memory_limit_in_mb", None)
            or os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        ),
        "log_group_name": _text(getattr(context, "log_group_name", None))
        or os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME"),
        "log_stream_name": _text(getattr(context, "log_stream_name", None))
        or os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
        "region": os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or _arn_region(arn),
        "execution_environment": os.environ.get("AWS_EXECUTION_ENV"),
        "cold_start": cold_start,
    }
    remaining = remaining_seconds(context)
    if remaining is not None:
        data["remaining_time_in_millis"] = int(remaining * 1000)
    return {key: value for key, value in data.items() if value is not None and value != ""}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> int | str | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def _arn_region(arn: str | None) -> str | None:
    # arn:aws:lambda:<region>:<account>:function:<name>[:<alias>]
    parts = arn.split(":") if arn else []
    return parts[3] or None if len(parts) > 3 and parts[2] == "lambda" else None

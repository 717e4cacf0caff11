"""Summary statistics for timing samples."""

from __future__ import annotations

import math
import statistics

__all__ = ["percentile", "summary"]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (``fraction`` in 0..1)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float], scale: float = 1.0) -> dict[str, float]:
    """Median, p95, p99, max and mean of ``values`` multiplied by ``scale`` (e.g. 1e6 for µs)."""
    if not values:
        raise ValueError("no samples")
    return {
        "n": len(values),
        "median": statistics.median(values) * scale,
        "p95": percentile(values, 0.95) * scale,
        "p99": percentile(values, 0.99) * scale,
        "max": max(values) * scale,
        "mean": statistics.fmean(values) * scale,
    }

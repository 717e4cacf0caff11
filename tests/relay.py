"""Validate events with Sentry Relay's normalizer: the normalization code of Sentry's ingestion."""

from __future__ import annotations

import json
from typing import Any

from sentry_relay.processing import StoreNormalizer

__all__ = ["validate_event"]

_normalizer = StoreNormalizer(project_id=1)


def validate_event(event: dict[str, Any]) -> dict[str, Any]:
    """Normalize ``event``; fail on any error Relay reports. Returns the normalized event."""
    normalized = _normalizer.normalize_event(raw_event=json.dumps(event).encode())
    errors = normalized.get("errors") or []
    assert not errors, f"Relay reported normalization errors: {errors}"
    meta_errors = _meta_errors(normalized.get("_meta") or {})
    assert not meta_errors, f"Relay reported errors in _meta: {meta_errors}"
    return normalized


def _meta_errors(meta: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(meta, dict):
        for key, value in meta.items():
            if key == "" and isinstance(value, dict) and value.get("err"):
                found.append(f"{path}: {value['err']}")
            else:
                found.extend(_meta_errors(value, f"{path}.{key}" if path else str(key)))
    return found

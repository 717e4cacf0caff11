"""Envelopes and requests written by hand, byte for byte, for what SDKs rarely send."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from .conftest import Server


def key_of(dsn: str) -> str:
    return urlsplit(dsn).username or ""


def project_of(dsn: str) -> int:
    return int(urlsplit(dsn).path.strip("/"))


def auth(key: str) -> dict[str, str]:
    return {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_client=tests/1.0, sentry_key={key}"}


def event(message: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "level": "error",
        "platform": "python",
        "message": message,
        **fields,
    }


def envelope(*items: tuple[dict[str, Any], Any], headers: dict[str, Any] | None = None) -> bytes:
    """An envelope of (item headers, payload) pairs; dict payloads become JSON, lengths are set."""
    lines = [json.dumps(headers if headers is not None else {"event_id": uuid.uuid4().hex})]
    for item_headers, payload in items:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        lines.append(json.dumps({**item_headers, "length": len(body)}))
        lines.append(body.decode("latin-1"))
    return "\n".join(lines).encode("latin-1") + b"\n"


def event_envelope(payload: dict[str, Any]) -> bytes:
    return envelope(({"type": "event"}, payload), headers={"event_id": payload["event_id"]})


def post(
    server: Server,
    dsn: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    endpoint: str = "envelope",
    with_auth: bool = True,
    query: str = "",
) -> tuple[int, dict[str, str], Any]:
    """POST ``body`` to the DSN's project: (status, headers, JSON answer)."""
    all_headers = {"Content-Type": "application/x-sentry-envelope"}
    if with_auth:
        all_headers.update(auth(key_of(dsn)))
    all_headers.update(headers or {})
    path = f"/api/{project_of(dsn)}/{endpoint}/{query}"
    status, answer_headers, answer = server.request(path, body, all_headers)
    return status, answer_headers, json.loads(answer) if answer else None

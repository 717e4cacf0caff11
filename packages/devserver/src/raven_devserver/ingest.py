"""The ingestion endpoints, ``/api/<project>/envelope/`` and ``/api/<project>/store/``: read the
body within the limits, check the key, turn items into records, wait until they are stored,
answer as Sentry does (``{"id": ...}``, or an error status with ``detail`` and ``X-Sentry-Error``)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .auth import check_key, header_key, public_key_of_dsn
from .decoding import (
    MAX_ENVELOPE_BYTES,
    MAX_REQUEST_BYTES,
    IngestError,
    decompress,
    json_payload,
    read_envelope,
    read_store_body,
)
from .records import Record

if TYPE_CHECKING:
    from .app import DevServer

__all__ = ["routes"]

log = logging.getLogger("raven_devserver")

# Item types stored and shown; their payload is one JSON object (attachments are kept as bytes).
_JSON_ITEMS = frozenset(
    {"event", "transaction", "session", "sessions", "check_in", "log", "client_report"}
)
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "X-Sentry-Error, X-Sentry-Rate-Limits, Retry-After",
}


def _server(request: Request) -> DevServer:
    server: DevServer = request.app.state.devserver
    return server


def _project_id(request: Request) -> int:
    text = str(request.path_params["project_id"])
    if not text.isdigit():
        raise IngestError(400, f"invalid project id {text!r}: the DSN's path ends in a number")
    return int(text)


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        raise IngestError(413, f"the request exceeded the size limit ({MAX_REQUEST_BYTES:,} bytes)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise IngestError(413, f"the request exceeded the size limit ({MAX_REQUEST_BYTES:,})")
        chunks.append(chunk)
    body = b"".join(chunks)
    return decompress(body, request.headers.get("content-encoding", ""), MAX_ENVELOPE_BYTES)


def _item_record(project: int, headers: dict[str, Any], payload: bytes, event_id: str) -> Record:
    kind = str(headers["type"])
    if kind == "attachment":
        return Record(kind, project, raw=payload, headers=headers, event_id=event_id)
    if kind not in _JSON_ITEMS:
        return Record(kind, project)  # kept as a count: unknown and unshown types are skipped
    try:
        data = json_payload(payload, f"{kind} item")
    except IngestError:
        return Record(f"invalid {kind}", project)  # Sentry answers 200 and drops it later
    return Record(kind, project, payload=data, raw=payload, event_id=event_id)


async def envelope(request: Request) -> Response:
    """``POST /api/<project>/envelope/``."""
    server = _server(request)
    project = _project_id(request)
    key = header_key(request.headers, request.query_params)
    if key is not None:  # refused before the body is read, as Sentry does
        check_key(project, key, server.keys)
    headers, items = read_envelope(await _body(request))
    if key is None:
        check_key(project, public_key_of_dsn(headers.get("dsn")), server.keys)
    event_id = str(headers.get("event_id") or uuid.uuid4().hex).replace("-", "")
    records = [_item_record(project, h, payload, event_id) for h, payload in items]
    await asyncio.wrap_future(server.writer.submit(records))
    stored = any(r.kind in ("event", "transaction") for r in records)
    return JSONResponse({"id": event_id} if stored else {}, headers=_CORS)


async def store(request: Request) -> Response:
    """``POST /api/<project>/store/``: one event, the legacy way."""
    server = _server(request)
    project = _project_id(request)
    key = header_key(request.headers, request.query_params)
    check_key(project, key, server.keys)
    event = read_store_body(await _body(request))
    event_id = str(event.get("event_id") or uuid.uuid4().hex).replace("-", "")
    kind = "transaction" if event.get("type") == "transaction" else "event"
    await asyncio.wrap_future(
        server.writer.submit([Record(kind, project, payload=event, event_id=event_id)])
    )
    return JSONResponse({"id": event_id}, headers=_CORS)


async def preflight(request: Request) -> Response:
    """CORS preflight, for browser SDKs."""
    return Response(
        status_code=200,
        headers={
            **_CORS,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "*",
            "Access-Control-Max-Age": "3600",
        },
    )


def _answering_errors(endpoint: Any) -> Any:
    async def answer(request: Request) -> Response:
        try:
            response: Response = await endpoint(request)
            return response
        except IngestError as exc:
            log.warning("%s %s refused: %d %s", request.method, request.url.path, exc.status, exc)
            ascii_detail = exc.detail.encode("ascii", "replace").decode()  # header-safe
            headers = {**_CORS, "X-Sentry-Error": ascii_detail}
            return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)

    answer.__doc__ = endpoint.__doc__
    return answer


routes = [
    Route("/api/{project_id}/envelope/", _answering_errors(envelope), methods=["POST"]),
    Route("/api/{project_id}/store/", _answering_errors(store), methods=["POST"]),
    Route("/api/{project_id}/envelope/", preflight, methods=["OPTIONS"]),
    Route("/api/{project_id}/store/", preflight, methods=["OPTIONS"]),
]

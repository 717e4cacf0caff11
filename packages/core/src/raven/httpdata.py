"""The Sentry ``request`` interface, built from raw HTTP data or a WSGI environ.

Integrations pass what the framework has; bodies are capped by ``max_request_body_size`` and
every value is scrubbed later by the client's processors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

__all__ = ["BODY_LIMITS", "body_limit", "cap_body", "get_headers_from_environ", "get_url_from_environ",
           "request_from_wsgi_environ", "request_interface"]

BODY_LIMITS = {"never": 0, "small": 4 * 1024, "medium": 10 * 1024, "always": 1024 * 1024}
_ENV_KEYS = ("REMOTE_ADDR", "SERVER_NAME", "SERVER_PORT")
UNAVAILABLE = "<unavailable>"


def body_limit(client: Any = None, max_body_size: str | int | None = None) -> int:
    """Bytes of request body to keep, from a size name or the client's option."""
    if max_body_size is None:
        max_body_size = getattr(getattr(client, "options", None), "max_request_body_size", "medium")
    if isinstance(max_body_size, int):
        return max_body_size
    return BODY_LIMITS.get(str(max_body_size), BODY_LIMITS["medium"])


def request_interface(*, url: str | None = None, method: str | None = None, query_string: str | None = None,
                      headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                      cookies: Mapping[str, str] | str | None = None, data: Any = None,
                      env: Mapping[str, Any] | None = None, max_body_size: str | int | None = None,
                      client: Any = None) -> dict[str, Any]:
    """A ``request`` dict; ``data`` may be bytes, str, a dict (form or JSON) or None."""
    request: dict[str, Any] = {}
    if url is not None:
        request["url"] = url
    if method:
        request["method"] = method.upper()
    if query_string:
        request["query_string"] = query_string
    if headers:
        items = headers.items() if isinstance(headers, Mapping) else headers
        request["headers"] = {str(k): str(v) for k, v in items}
    if cookies:
        request["cookies"] = cookies if isinstance(cookies, str) else dict(cookies)
    if env:
        request["env"] = dict(env)
    if data is not None and data != b"" and data != "":
        body = cap_body(data, body_limit(client, max_body_size))
        if body is not None:  # "never": no data key at all, not a null body
            request["data"] = body
    return request


def cap_body(data: Any, limit: int) -> Any:
    """The body if it fits ``limit`` bytes (JSON text decoded to a dict), else a note saying why not."""
    if isinstance(data, (bytes, bytearray)):
        if len(data) > limit:
            return f"<body of {len(data)} bytes not sent: over the {limit}-byte limit>" if limit else None
        text = bytes(data).decode("utf-8", "replace")
        return _maybe_json(text)
    if isinstance(data, str):
        if len(data.encode("utf-8", "replace")) > limit:
            return f"<body of {len(data)} chars not sent: over the {limit}-byte limit>" if limit else None
        return _maybe_json(data)
    if limit == 0:
        return None
    return data


def _maybe_json(text: str) -> Any:
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def get_headers_from_environ(environ: Mapping[str, Any]) -> dict[str, str]:
    """HTTP headers from a WSGI environ, with their usual spelling (``Content-Type``)."""
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        else:
            continue
        if value in ("", None):
            continue
        headers[name.replace("_", "-").title()] = str(value)
    return headers


def get_url_from_environ(environ: Mapping[str, Any]) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = environ.get("SERVER_NAME", "localhost")
        port = str(environ.get("SERVER_PORT", ""))
        if port and port != ("443" if scheme == "https" else "80"):
            host = f"{host}:{port}"
    path = quote(environ.get("SCRIPT_NAME", "")) + quote(environ.get("PATH_INFO", ""))
    return f"{scheme}://{host}{path}"


def request_from_wsgi_environ(environ: Mapping[str, Any], data: Any = None, client: Any = None) -> dict[str, Any]:
    """The ``request`` dict for a WSGI request (``data``: the body, if the caller has read it)."""
    headers = get_headers_from_environ(environ)
    cookies = headers.pop("Cookie", None)
    send_pii = getattr(getattr(client, "options", None), "send_default_pii", False)
    env = {k: environ[k] for k in _ENV_KEYS if k in environ and (send_pii or k != "REMOTE_ADDR")}
    return request_interface(url=get_url_from_environ(environ), method=environ.get("REQUEST_METHOD"),
                             query_string=environ.get("QUERY_STRING"), headers=headers, cookies=cookies,
                             data=data, env=env, client=client)

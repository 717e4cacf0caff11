"""The Sentry ``request`` and ``user`` interfaces, built from raw values a framework has.

The privacy rules live here and only here, so no framework package can get them wrong: the
client's IP address, the user's username, name and email are sent only with
``send_default_pii=True``; the ``Cookie`` header becomes the parsed ``cookies``; bodies are capped
by ``max_request_body_size``. Every value is scrubbed later by the client's processors.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

__all__ = [
    "BODY_LIMITS",
    "UNAVAILABLE",
    "body_limit",
    "body_over_limit",
    "cap_body",
    "client_ip",
    "get_headers_from_environ",
    "get_host_from_environ",
    "get_url_from_environ",
    "parse_cookies",
    "request_from_wsgi_environ",
    "request_interface",
    "send_default_pii",
    "user_interface",
]

BODY_LIMITS = {"never": 0, "small": 4 * 1024, "medium": 10 * 1024, "always": 1024 * 1024}
_SERVER_KEYS = ("SERVER_NAME", "SERVER_PORT")
UNAVAILABLE = "<unavailable>"  # a body the application consumed before Raven could read it


def send_default_pii(client: Any) -> bool:
    """Whether ``client`` may send personal data (its ``send_default_pii`` option; no client: no)."""
    return bool(getattr(getattr(client, "options", None), "send_default_pii", False))


def body_limit(client: Any = None, max_body_size: str | int | None = None) -> int:
    """Bytes of request body to keep, from a size name or the client's option."""
    if max_body_size is None:
        max_body_size = getattr(getattr(client, "options", None), "max_request_body_size", "medium")
    if isinstance(max_body_size, int):
        return max_body_size
    return BODY_LIMITS.get(str(max_body_size), BODY_LIMITS["medium"])


def body_over_limit(length: int, limit: int) -> str:
    """What stands for a body of ``length`` bytes that is over ``limit`` (and so not even read)."""
    return f"<body of {length} bytes not sent: over the {limit}-byte limit>"


def request_interface(
    *,
    url: str | None = None,
    method: str | None = None,
    query_string: str | None = None,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    cookies: Mapping[str, str] | str | None = None,
    data: Any = None,
    remote_addr: str | None = None,
    env: Mapping[str, Any] | None = None,
    max_body_size: str | int | None = None,
    client: Any = None,
) -> dict[str, Any]:
    """A ``request`` dict from raw values; ``data`` may be bytes, str, a dict (form or JSON) or None.

    ``remote_addr`` (the peer's address) goes into ``env["REMOTE_ADDR"]`` only when ``client``
    has ``send_default_pii``; a ``Cookie`` header is moved into ``cookies``, parsed.
    """
    request: dict[str, Any] = {}
    if url is not None:
        request["url"] = url
    if method:
        request["method"] = method.upper()
    if query_string:
        request["query_string"] = query_string
    header_cookies = None
    if headers:
        items = headers.items() if isinstance(headers, Mapping) else headers
        request["headers"] = {}
        for key, value in items:
            name = str(key)
            if name.lower() == "cookie":
                header_cookies = str(value)
            else:
                request["headers"][name] = str(value)
        if not request["headers"]:
            del request["headers"]
    cookies = cookies if cookies is not None else header_cookies
    if cookies:
        request["cookies"] = parse_cookies(cookies) if isinstance(cookies, str) else dict(cookies)
    pii = send_default_pii(client)
    env = {k: v for k, v in (env or {}).items() if k != "REMOTE_ADDR" or pii}
    if remote_addr and pii:
        env["REMOTE_ADDR"] = str(remote_addr)
    if env:
        request["env"] = env
    if data is not None and data != b"" and data != "":
        body = cap_body(data, body_limit(client, max_body_size))
        if body is not None:  # "never": no data key at all, not a null body
            request["data"] = body
    return request


def cap_body(data: Any, limit: int) -> Any:
    """The body if it fits ``limit`` bytes (JSON text decoded to a dict), else a note saying why not."""
    if isinstance(data, (bytes, bytearray)):
        if len(data) > limit:
            return body_over_limit(len(data), limit) if limit else None
        text = bytes(data).decode("utf-8", "replace")
        return _maybe_json(text)
    if isinstance(data, str):
        if len(data.encode("utf-8", "replace")) > limit:
            return (
                f"<body of {len(data)} chars not sent: over the {limit}-byte limit>"
                if limit
                else None
            )
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


def parse_cookies(header: str) -> dict[str, str]:
    """``{"name": "value"}`` from a ``Cookie`` header (``a=1; b=2``); a pair without ``=`` is kept
    under an empty value, so scrubbing still sees it."""
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if name or value:
            cookies[name.strip() if sep else name] = value.strip().strip('"') if sep else ""
    return cookies


def client_ip(forwarded_for: str | None, remote_addr: str | None) -> str | None:
    """The client's address: the first ``X-Forwarded-For`` entry, else the peer's; None unless valid."""
    candidate = forwarded_for.split(",")[0].strip() if forwarded_for else remote_addr
    if not candidate:
        return None
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


# Sent only with ``send_default_pii``: each identifies a person, an opaque id alone does not.
_PII_USER_KEYS = ("username", "name", "email", "ip_address")


def user_interface(
    client: Any,
    *,
    id: Any = None,
    username: Any = None,
    name: Any = None,
    email: Any = None,
    ip_address: Any = None,
    **other: Any,
) -> dict[str, Any] | None:
    """The ``user`` dict from raw values the framework has; None when nothing may be sent.

    ``id`` is always sent; ``username``, ``name``, ``email`` and ``ip_address`` only when
    ``client`` has ``send_default_pii``. ``other`` holds fields the application asked for by
    name (Flask's ``SENTRY_USER_ATTRS``): sent as given, the application opted in.
    """
    user: dict[str, Any] = {}
    if id is not None and id != "":
        user["id"] = str(id)
    if send_default_pii(client):
        for key, value in zip(_PII_USER_KEYS, (username, name, email, ip_address), strict=True):
            if value is not None and value != "":
                user[key] = str(value)
    user.update({k: v for k, v in other.items() if v is not None})
    return user or None


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
    """``scheme://host[:port]/script/path`` of a WSGI request, without the query string."""
    scheme = environ.get("wsgi.url_scheme", "http")
    path = quote(environ.get("SCRIPT_NAME", "")) + quote(environ.get("PATH_INFO", ""))
    return f"{scheme}://{get_host_from_environ(environ)}{path}"


def get_host_from_environ(environ: Mapping[str, Any]) -> str:
    """``host[:port]`` of a WSGI request: ``X-Forwarded-Host`` (the first, as raven-python and
    werkzeug read it), else ``Host``, else the server's name and port; the scheme's default port
    is left out, so one page has one URL whichever way it was reached."""
    scheme = environ.get("wsgi.url_scheme", "http")
    forwarded = str(environ.get("HTTP_X_FORWARDED_HOST") or "").split(",")[0].strip()
    host = forwarded or str(environ.get("HTTP_HOST") or "")
    if not host:
        host = str(environ.get("SERVER_NAME") or "localhost")
        port = str(environ.get("SERVER_PORT") or "")
        if port:
            host = f"{host}:{port}"
    default = ":443" if scheme == "https" else ":80"
    return host[: -len(default)] if host.endswith(default) else host


def request_from_wsgi_environ(
    environ: Mapping[str, Any], data: Any = None, client: Any = None
) -> dict[str, Any]:
    """The ``request`` dict for a WSGI request (``data``: the body, if the caller has read it)."""
    env = {k: str(environ[k]) for k in _SERVER_KEYS if environ.get(k) not in (None, "")}
    return request_interface(
        url=get_url_from_environ(environ),
        method=environ.get("REQUEST_METHOD"),
        query_string=environ.get("QUERY_STRING"),
        headers=get_headers_from_environ(environ),
        data=data,
        remote_addr=environ.get("REMOTE_ADDR"),
        env=env,
        client=client,
    )

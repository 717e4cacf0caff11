"""What triggered an invocation, read from the Lambda event.

HTTP events (API Gateway REST and HTTP APIs, function URLs, ALB) become the ``request``
interface, with the raw headers, query and body: the core's processors scrub them like any other
request. Records and EventBridge events become an ``aws_event`` context naming the source and the
ids of what was delivered.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from raven.httpdata import request_interface

__all__ = ["describe_trigger"]

# Enough ids to find the messages again; a batch of 10,000 SQS messages is not copied whole.
MAX_IDS = 50


def describe_trigger(
    event: Any, client: Any
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``(request interface or None, aws_event context or None)`` for a Lambda event."""
    if not isinstance(event, Mapping):
        return None, None
    request_context = event.get("requestContext")
    if isinstance(request_context, Mapping):
        if event.get("version") == "2.0" and isinstance(request_context.get("http"), Mapping):
            return _http_v2(event, request_context, client)
        if "httpMethod" in event:
            return _http_v1(event, request_context, client)
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        return None, _records(records)
    if "detail-type" in event and "source" in event:
        return None, _compact(
            {
                "trigger": "eventbridge",
                "source": event.get("source"),
                "detail_type": event.get("detail-type"),
                "ids": [event["id"]] if event.get("id") else None,
                "resources": _strings(event.get("resources")),
            }
        )
    return None, None


# -- HTTP ---------------------------------------------------------------------------------------
def _http_v1(
    event: Mapping[str, Any], ctx: Mapping[str, Any], client: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """API Gateway REST API (payload 1.0), also used by HTTP APIs on 1.0 and by ALB targets."""
    multi = event.get("multiValueHeaders")
    if isinstance(multi, Mapping) and multi:
        headers = {
            str(k): ", ".join(str(v) for v in values) if isinstance(values, list) else str(values)
            for k, values in multi.items()
        }
    else:
        headers = _str_dict(event.get("headers"))
    multi_query = event.get("multiValueQueryStringParameters")
    if isinstance(multi_query, Mapping) and multi_query:
        query = urlencode([(k, v) for k, values in multi_query.items() for v in (values or [])])
    else:
        query = urlencode(_str_dict(event.get("queryStringParameters")))
    # requestContext.path is what the caller typed (with the stage on execute-api domains).
    path = ctx.get("path") or event.get("path") or "/"
    host = _header(headers, "host") or ctx.get("domainName")
    identity = ctx.get("identity")
    source_ip = identity.get("sourceIp") if isinstance(identity, Mapping) else None
    kind = "alb" if "elb" in ctx else "api_gateway_v1"
    request = _request(
        client,
        method=event.get("httpMethod"),
        headers=headers,
        host=host,
        path=path,
        query=query,
        cookies=None,
        event=event,
        source_ip=source_ip,
    )
    trigger = _compact(
        {
            "trigger": kind,
            "source": "aws:elasticloadbalancing" if kind == "alb" else "aws:apigateway",
            "ids": [ctx["requestId"]] if ctx.get("requestId") else None,
            "resource": event.get("resource"),
            "stage": ctx.get("stage"),
            "api_id": ctx.get("apiId"),
        }
    )
    return request, trigger


def _http_v2(
    event: Mapping[str, Any], ctx: Mapping[str, Any], client: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """API Gateway HTTP API (payload 2.0) and Lambda function URLs, which share the format."""
    http = ctx["http"]
    headers = _str_dict(event.get("headers"))
    domain = str(ctx.get("domainName") or "")
    cookies = event.get("cookies")
    request = _request(
        client,
        method=http.get("method"),
        headers=headers,
        host=_header(headers, "host") or domain,
        path=event.get("rawPath") or http.get("path") or "/",
        query=str(event.get("rawQueryString") or ""),
        cookies="; ".join(str(c) for c in cookies)
        if isinstance(cookies, list) and cookies
        else None,
        event=event,
        source_ip=http.get("sourceIp"),
    )
    is_url = ".lambda-url." in domain
    trigger = _compact(
        {
            "trigger": "function_url" if is_url else "api_gateway_v2",
            "source": "aws:lambda" if is_url else "aws:apigateway",
            "ids": [ctx["requestId"]] if ctx.get("requestId") else None,
            "route_key": None if is_url else event.get("routeKey"),
            "stage": None if is_url else ctx.get("stage"),
            "api_id": ctx.get("apiId"),
        }
    )
    return request, trigger


def _request(
    client: Any,
    *,
    method: Any,
    headers: dict[str, str],
    host: Any,
    path: Any,
    query: str,
    cookies: str | None,
    event: Mapping[str, Any],
    source_ip: Any,
) -> dict[str, Any]:
    """The request interface from raw values; the core applies the privacy rules (the caller's
    address only with ``send_default_pii``, a ``Cookie`` header parsed into ``cookies``, the body
    capped by ``max_request_body_size``)."""
    scheme = (_header(headers, "x-forwarded-proto") or "https").split(",")[0].strip()
    return request_interface(
        url=f"{scheme}://{host}{path}" if host else str(path),
        method=str(method) if method else None,
        query_string=query,
        headers=headers,
        cookies=cookies,
        data=_body(event),
        remote_addr=str(source_ip) if source_ip else None,
        client=client,
    )


def _body(event: Mapping[str, Any]) -> Any:
    body = event.get("body")
    if not isinstance(body, str) or not body:
        return None
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body)
        except ValueError:
            return body
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    return body


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


# -- records and events ---------------------------------------------------------------------------
def _records(records: list[Any]) -> dict[str, Any]:
    first = records[0]
    source = first.get("eventSource") or first.get("EventSource") or ""
    items = [r for r in records if isinstance(r, Mapping)]
    if source == "aws:sqs":
        return _messages(source, len(items), items, "messageId", "eventSourceARN")
    if source == "aws:sns":
        sns = [r["Sns"] for r in items if isinstance(r.get("Sns"), Mapping)]
        return _messages(source, len(items), sns, "MessageId", "TopicArn")
    if source == "aws:s3":
        s3 = [r["s3"] for r in items if isinstance(r.get("s3"), Mapping)]
        return _compact(
            {
                "trigger": "s3",
                "source": source,
                "count": len(items),
                "event_names": _unique(r.get("eventName") for r in items),
                "ids": _strings(
                    (r.get("responseElements") or {}).get("x-amz-request-id") for r in items
                ),
                "objects": _strings(
                    f"s3://{(o.get('bucket') or {}).get('name')}/{(o.get('object') or {}).get('key')}"
                    for o in s3
                ),
            }
        )
    return _compact(
        {
            "trigger": source.partition(":")[2] or None,
            "source": source or None,
            "count": len(items),
            "ids": _strings(r.get("eventID") or r.get("messageId") for r in items),
            "arns": _unique(r.get("eventSourceARN") for r in items),
        }
    )


def _messages(
    source: str, count: int, messages: list[Any], id_key: str, arn_key: str
) -> dict[str, Any]:
    """A batch of queue or topic messages (``aws:sqs``: trigger ``sqs``): how many, their ids
    and the ARNs they came from."""
    return _compact(
        {
            "trigger": source.partition(":")[2],
            "source": source,
            "count": count,
            "ids": _strings(m.get(id_key) for m in messages),
            "arns": _unique(m.get(arn_key) for m in messages),
        }
    )


def _strings(values: Any) -> list[str] | None:
    if not values or isinstance(values, (str, bytes)):
        return None
    out = [str(v) for v in values if v][:MAX_IDS]
    return out or None


def _unique(values: Any) -> list[str] | None:
    return _strings(dict.fromkeys(v for v in values if v))


def _str_dict(value: Any) -> dict[str, str]:
    return (
        {str(k): str(v) for k, v in value.items() if v is not None}
        if isinstance(value, Mapping)
        else {}
    )


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None and value != ""}

"""One model call (a chat completion or a response): its span, what the request and the answer
(or the stream's chunks) say about it, and its error. Key names: raven-core's ``PROTOCOL.md``,
"AI monitoring"."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from raven.ai import current_pipeline
from raven.guard import capture_internal_errors

__all__ = ["ModelCall"]

ORIGIN = "auto.ai.openai"

# The request's parameters, as span data (only numbers: openai's "not given" sentinels and
# anything else are left out).
_PARAMS = (
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_completion_tokens", "gen_ai.request.max_tokens"),
    ("max_output_tokens", "gen_ai.request.max_tokens"),
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("frequency_penalty", "gen_ai.request.frequency_penalty"),
    ("presence_penalty", "gen_ai.request.presence_penalty"),
    ("seed", "gen_ai.request.seed"),
)
_NUMBERS = (int, float)
_SYSTEM_ROLES = ("system", "developer")
# Responses API stream events that carry the finished response (with its usage).
_FINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")


class ModelCall:
    """The span of one call to the model, from the request to the answer's last chunk."""

    __slots__ = (
        "client",
        "operation",
        "span",
        "streaming",
        "record_content",
        "started",
        "chunks",
        "text",
        "finish_reasons",
    )

    def __init__(self, client: Any, operation: str) -> None:
        self.client = client
        self.operation = operation
        self.span: Any = None
        self.streaming = False
        self.record_content = False
        self.started = time.time()
        self.chunks = 0
        self.text: list[str] = []
        self.finish_reasons: list[str] = []

    @classmethod
    def start(cls, client: Any, operation: str, kwargs: Mapping[str, Any]) -> ModelCall:
        """The call, its span started (when a span of the current transaction records)."""
        call = cls(client, operation)
        with capture_internal_errors("openai", "starting an openai span"):
            call._start(kwargs)
        return call

    def _start(self, kwargs: Mapping[str, Any]) -> None:
        self.streaming = kwargs.get("stream") is True
        model = kwargs.get("model")
        model = model if isinstance(model, str) else None
        operation = self.operation
        span = self.client.start_span(
            op=f"gen_ai.{operation}",
            description=f"{operation} {model}" if model else operation,
            origin=ORIGIN,
        )
        if not span.sampled:
            return
        self.span = span
        self.record_content = bool(self.client.options.send_default_pii)
        data: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": "openai",
            "gen_ai.system": "openai",
            "gen_ai.request.model": model,
            "gen_ai.response.streaming": self.streaming,
            "gen_ai.pipeline.name": current_pipeline(),
        }
        for param, key in _PARAMS:
            value = kwargs.get(param)
            if type(value) in _NUMBERS:
                data[key] = str(value) if param == "seed" else value
        if self.record_content:
            data.update(_prompts(kwargs))
        for key, value in data.items():
            if value is not None:
                span.set_data(key, value)

    # -- how the call ended ---------------------------------------------------------------------
    def failed(self, exc: BaseException) -> None:
        """The call raised: the span says so, the error is captured (tagged with the pipeline
        the call ran in, by the scope), the caller re-raises it."""
        with capture_internal_errors("openai", "reporting an openai error"):
            span = self.span
            if span is not None:
                code = getattr(exc, "status_code", None)
                if isinstance(code, int) and not isinstance(code, bool):
                    span.set_http_status(code)
                else:
                    span.set_status("internal_error")
            self.client.captureException(exc, mechanism={"type": "openai", "handled": False})
        self._finish()

    def returned(self, result: Any) -> Any:
        """What the call returned, given back to the app: a stream keeps the span open until it
        is consumed (or closed), and is watched for an error in its middle even with no span."""
        if self.span is None and not self.streaming:
            return result
        with capture_internal_errors("openai", "reading an openai response"):
            if self.streaming:
                return self._track_stream(result)
            self._response(result)
        self._finish()
        return result

    def _finish(self) -> None:
        span, self.span = self.span, None
        if span is None:
            return
        with capture_internal_errors("openai", "finishing an openai span"):
            if self.finish_reasons:
                span.set_data("gen_ai.response.finish_reasons", json.dumps(self.finish_reasons))
            if self.text:
                output = [{"role": "assistant", "content": "".join(self.text)}]
                span.set_data("gen_ai.output.messages", _json(output))
            span.finish()

    # -- streams --------------------------------------------------------------------------------
    def _track_stream(self, stream: Any) -> Any:
        # openai's Stream / AsyncStream iterate ``_iterator``: wrapping it keeps the object the
        # app gets (its type, ``with``, ``close()``, ``response``) as openai made it.
        iterator: Any = getattr(stream, "_iterator", None)
        if hasattr(iterator, "__anext__"):
            stream._iterator = self._chunks_async(iterator)
        elif hasattr(iterator, "__next__"):
            stream._iterator = self._chunks(iterator)
        else:  # not a stream this version of the integration knows: the call's span only
            self._finish()
        return stream

    def _chunks(self, iterator: Iterator[Any]) -> Iterator[Any]:
        try:
            for chunk in iterator:
                self._chunk(chunk)
                yield chunk
        except Exception as exc:
            self.failed(exc)
            raise
        finally:  # consumed, closed, or dropped by the app
            self._finish()

    async def _chunks_async(self, iterator: AsyncIterator[Any]) -> AsyncIterator[Any]:
        try:
            async for chunk in iterator:
                self._chunk(chunk)
                yield chunk
        except Exception as exc:
            self.failed(exc)
            raise
        finally:
            self._finish()

    def _chunk(self, chunk: Any) -> None:
        span = self.span
        if span is None:
            return
        with capture_internal_errors("openai", "reading an openai stream chunk"):
            self.chunks += 1
            if self.chunks == 1:
                span.set_data("gen_ai.response.time_to_first_token", time.time() - self.started)
            kind = getattr(chunk, "type", None)
            if isinstance(kind, str):  # a Responses API event
                if kind in _FINAL_EVENTS:
                    self._response(getattr(chunk, "response", None))
                elif kind == "response.output_text.delta" and self.record_content:
                    self._add_text(getattr(chunk, "delta", None))
                return
            self._identify(chunk)
            usage = getattr(chunk, "usage", None)
            if usage is not None:  # the last chunk, with stream_options={"include_usage": True}
                self._usage(usage)
            for choice in getattr(chunk, "choices", None) or ():
                reason = getattr(choice, "finish_reason", None)
                if isinstance(reason, str):
                    self.finish_reasons.append(reason)
                if self.record_content:
                    self._add_text(getattr(getattr(choice, "delta", None), "content", None))

    def _add_text(self, text: Any) -> None:
        if isinstance(text, str):
            self.text.append(text)

    # -- answers --------------------------------------------------------------------------------
    def _response(self, response: Any) -> None:
        """A ``ChatCompletion`` or a Responses API ``Response`` (anything else, e.g. a raw
        response, is left alone)."""
        span = self.span
        if span is None or response is None:
            return
        self._identify(response)
        usage = getattr(response, "usage", None)
        if usage is not None:
            self._usage(usage)
        choices = getattr(response, "choices", None)
        if isinstance(choices, list):
            messages = []
            for choice in choices:
                reason = getattr(choice, "finish_reason", None)
                if isinstance(reason, str):
                    self.finish_reasons.append(reason)
                message = getattr(choice, "message", None)
                if message is not None:
                    messages.append(_plain(message))
            if self.record_content and messages:
                span.set_data("gen_ai.output.messages", _json(messages))
        status = getattr(response, "status", None)
        if isinstance(status, str) and self.operation == "responses":
            self.finish_reasons.append(status)
        if self.record_content and self.operation == "responses":
            text = getattr(response, "output_text", None)
            if isinstance(text, str):
                self.text = [text]

    def _identify(self, answer: Any) -> None:
        span = self.span
        for attribute, key in (("model", "gen_ai.response.model"), ("id", "gen_ai.response.id")):
            value = getattr(answer, attribute, None)
            if isinstance(value, str):
                span.set_data(key, value)

    def _usage(self, usage: Any) -> None:
        """Chat completions' ``prompt_tokens``/``completion_tokens`` or the Responses API's
        ``input_tokens``/``output_tokens``, with their details."""
        inputs = _first(usage, "prompt_tokens", "input_tokens")
        outputs = _first(usage, "completion_tokens", "output_tokens")
        in_details = _first(usage, "prompt_tokens_details", "input_tokens_details")
        out_details = _first(usage, "completion_tokens_details", "output_tokens_details")
        self.client.record_token_usage(
            input_tokens=inputs,
            output_tokens=outputs,
            total_tokens=_first(usage, "total_tokens"),
            cached_input_tokens=_first(in_details, "cached_tokens"),
            reasoning_tokens=_first(out_details, "reasoning_tokens"),
            cache_write_input_tokens=_first(in_details, "cache_write_tokens"),
            span=self.span,
        )


def _first(value: Any, *names: str) -> Any:
    """The first of ``value``'s fields ``names`` that is set. A field an older openai does not
    model is kept by its models as a plain dict: read either."""
    for name in names:
        found = value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)
        if found is not None:
            return found
    return None


def _prompts(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``gen_ai.input.messages`` and ``gen_ai.system_instructions`` from a chat completion's
    ``messages`` or a response's ``input`` and ``instructions`` (a list or tuple only: an
    iterator the app passed is never consumed here)."""
    messages = kwargs.get("messages")
    if messages is None:
        messages = kwargs.get("input")
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    data: dict[str, Any] = {}
    system: list[str] = []
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str):
        system.append(instructions)
    if isinstance(messages, (list, tuple)):
        conversation = []
        for message in map(_plain, messages):
            if isinstance(message, Mapping) and message.get("role") in _SYSTEM_ROLES:
                content = message.get("content")
                system.append(content if isinstance(content, str) else _json(content))
            else:
                conversation.append(message)
        if conversation:
            data["gen_ai.input.messages"] = _json(conversation)
    if system:
        data["gen_ai.system_instructions"] = "\n".join(system)
    return data


def _plain(value: Any) -> Any:
    """An openai model object as the dict it stands for (a dict stays as it is)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(exclude_none=True)
        except Exception:
            return repr(value)
    return value


def _json(value: Any) -> str:
    """Span data holds primitives only: lists of messages go as a JSON string."""
    return json.dumps(value, default=repr, ensure_ascii=False)

"""raven-openai: real ``openai`` clients talking to a loopback server that answers like OpenAI's
API; spans, token usage and errors as they arrive at the loopback receiver, every transaction
and error validated by Relay's normalizer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import raven_openai
from openai.resources.chat import AsyncCompletions, Completions

import openai
from tests.core.conftest import Harness
from tests.openai.conftest import ANSWER, MODEL, FakeOpenAI, installed
from tests.readme_example import run_example
from tests.receiver import Receiver
from tests.relay import validate_event

README = Path(__file__).resolve().parents[2] / "packages" / "openai" / "README.md"
QUESTION = [
    {"role": "system", "content": "You answer geography questions."},
    {"role": "user", "content": "What is the capital of France?"},
]


def transactions(sentry: Harness, count: int = 1) -> list[dict[str, Any]]:
    events = sentry.receiver.wait_for_transactions(count)
    assert len(events) == count
    for event in events:
        validate_event(event)
    return events


def spans_by_op(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {span["op"]: span for span in event["spans"]}


def test_a_pipeline_with_two_steps_sends_the_model_call_with_its_usage(
    sentry: Harness, llm: openai.OpenAI
) -> None:
    """A pipeline with a tool step and a chat completion arrives as one transaction: the
    completion is a ``gen_ai.chat`` span with the requested and answering model, the request's
    parameters, the token usage and the pipeline's name, and no prompt or answer (no
    ``send_default_pii``)."""
    client = installed(sentry)

    @client.ai_pipeline("geo-bot")
    def answer() -> str:
        with client.ai_step("lookup_country"):
            pass
        completion = llm.chat.completions.create(
            model="gpt-4o", messages=QUESTION, temperature=0.2, max_tokens=50, seed=7
        )
        return completion.choices[0].message.content or ""

    assert answer() == "".join(ANSWER)
    (event,) = transactions(sentry)
    assert event["transaction"] == "invoke_agent geo-bot"
    assert event["contexts"]["trace"]["op"] == "gen_ai.invoke_agent"
    spans = spans_by_op(event)
    assert sorted(spans) == ["gen_ai.chat", "gen_ai.execute_tool"]
    chat = spans["gen_ai.chat"]
    assert chat["description"] == "chat gpt-4o"
    assert chat["origin"] == "auto.ai.openai"
    assert chat["parent_span_id"] == event["contexts"]["trace"]["span_id"]
    assert chat["data"] == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.seed": "7",
        "gen_ai.response.streaming": False,
        "gen_ai.response.model": MODEL,
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.response.finish_reasons": '["stop"]',
        "gen_ai.pipeline.name": "geo-bot",
        "gen_ai.usage.input_tokens": 20,
        "gen_ai.usage.output_tokens": 6,
        "gen_ai.usage.total_tokens": 26,
        "gen_ai.usage.cache_read.input_tokens": 8,
        "gen_ai.usage.input_tokens.cached": 8,
        "gen_ai.usage.reasoning.output_tokens": 2,
        "gen_ai.usage.output_tokens.reasoning": 2,
    }
    assert "France" not in json.dumps(event)


def test_a_stream_records_the_usage_of_its_last_chunk_and_the_prompts_with_pii(
    sentry: Harness, llm: openai.OpenAI
) -> None:
    """A streamed completion gives the app openai's own ``Stream`` and every chunk; its span ends
    when the stream is read, with the usage of the final chunk, the time to the first chunk
    and, with ``send_default_pii``, the prompt, the system instructions and the whole answer."""
    client = installed(sentry, send_default_pii=True)
    with client.start_transaction(name="ask", op="task"):
        stream = llm.chat.completions.create(
            model="gpt-4o", messages=QUESTION, stream=True, stream_options={"include_usage": True}
        )
        assert isinstance(stream, openai.Stream)
        with stream:
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "".join(ANSWER)
    (event,) = transactions(sentry)
    data = spans_by_op(event)["gen_ai.chat"]["data"]
    assert data["gen_ai.response.streaming"] is True
    assert data["gen_ai.response.model"] == MODEL
    assert data["gen_ai.usage.input_tokens"] == 20
    assert data["gen_ai.usage.output_tokens"] == 6
    assert data["gen_ai.usage.total_tokens"] == 26
    assert data["gen_ai.usage.cache_read.input_tokens"] == 8
    assert data["gen_ai.response.time_to_first_token"] >= 0
    assert json.loads(data["gen_ai.input.messages"]) == [QUESTION[1]]
    assert data["gen_ai.system_instructions"] == QUESTION[0]["content"]
    assert json.loads(data["gen_ai.output.messages"]) == [
        {"role": "assistant", "content": "".join(ANSWER)}
    ]


def test_prompts_and_answers_are_sent_only_with_send_default_pii(
    sentry: Harness, llm: openai.OpenAI
) -> None:
    """The same completion sent without and with ``send_default_pii``: the messages and the
    answer appear only in the second."""
    for pii in (False, True):
        client = installed(sentry, send_default_pii=pii)
        with client.start_transaction(name=f"pii={pii}"):
            llm.chat.completions.create(model="gpt-4o", messages=QUESTION)
    without, with_pii = (spans_by_op(e)["gen_ai.chat"]["data"] for e in transactions(sentry, 2))
    content_keys = {"gen_ai.input.messages", "gen_ai.system_instructions", "gen_ai.output.messages"}
    assert content_keys.isdisjoint(without)
    assert content_keys <= set(with_pii)
    assert "Paris" in with_pii["gen_ai.output.messages"]
    assert "capital of France" in with_pii["gen_ai.input.messages"]


async def test_the_async_client_streamed_and_not(
    sentry: Harness, async_llm: openai.AsyncOpenAI
) -> None:
    """``AsyncOpenAI`` calls, plain and streamed, each make a span with their token usage."""
    client = installed(sentry)
    async with client.ai_pipeline("async-bot"):
        completion = await async_llm.chat.completions.create(model="gpt-4o", messages=QUESTION)
        assert completion.usage is not None and completion.usage.total_tokens == 26
        stream = await async_llm.chat.completions.create(
            model="gpt-4o", messages=QUESTION, stream=True, stream_options={"include_usage": True}
        )
        assert isinstance(stream, openai.AsyncStream)
        chunks = [chunk async for chunk in stream]
        assert len(chunks) == len(ANSWER) + 2
    await async_llm.close()
    (event,) = transactions(sentry)
    plain, streamed = (span for span in event["spans"] if span["op"] == "gen_ai.chat")
    assert plain["data"]["gen_ai.response.streaming"] is False
    assert streamed["data"]["gen_ai.response.streaming"] is True
    for span in (plain, streamed):
        assert span["data"]["gen_ai.usage.total_tokens"] == 26
        assert span["data"]["gen_ai.pipeline.name"] == "async-bot"
        assert span["start_timestamp"] <= span["timestamp"]


def test_an_api_error_is_captured_once_tagged_with_the_pipeline_and_re_raised(
    sentry: Harness, llm: openai.OpenAI
) -> None:
    """A 429 from the API reaches the app as openai's ``RateLimitError``, and Sentry once: tagged
    with the pipeline, mechanism ``openai``; the pipeline does not send it again, and its span
    says ``resource_exhausted``."""
    client = installed(sentry)

    @client.ai_pipeline("geo-bot")
    def answer() -> None:
        llm.chat.completions.create(model="overloaded", messages=QUESTION)

    with pytest.raises(openai.RateLimitError) as raised:
        answer()
    assert raised.value.status_code == 429
    (error,) = sentry.events(1)
    assert error["tags"]["ai.pipeline.name"] == "geo-bot"
    (value,) = error["exception"]["values"]
    assert value["type"] == "RateLimitError"
    assert value["mechanism"]["type"] == "openai" and value["mechanism"]["handled"] is False
    (event,) = transactions(sentry)
    chat = spans_by_op(event)["gen_ai.chat"]
    assert chat["status"] == "resource_exhausted"
    assert event["contexts"]["trace"]["status"] == "internal_error"
    assert error["contexts"]["trace"]["trace_id"] == event["contexts"]["trace"]["trace_id"]
    assert len(sentry.receiver.events) == 1


def test_with_tracing_off_an_error_is_still_captured_and_tagged(
    sentry: Harness, llm: openai.OpenAI
) -> None:
    """Without tracing, a 500 inside a pipeline sends no transaction but the error, tagged with
    the pipeline, and the app still gets openai's exception."""
    client = installed(sentry, traces_sample_rate=None)
    with pytest.raises(openai.InternalServerError):
        with client.ai_pipeline("nightly"):
            llm.chat.completions.create(model="broken", messages=QUESTION)
    (error,) = sentry.events(1)
    assert error["tags"]["ai.pipeline.name"] == "nightly"
    assert error["exception"]["values"][0]["type"] == "InternalServerError"
    client.flush(5)
    assert sentry.receiver.transactions == []


def test_an_error_in_the_middle_of_a_stream_is_captured_and_re_raised(
    sentry: Harness, llm: openai.OpenAI
) -> None:
    """A stream that fails after its first chunk raises openai's ``APIError`` in the app's loop,
    and the error is sent once, tagged with the pipeline, even with tracing off."""
    client = installed(sentry, traces_sample_rate=None)
    received = []
    with pytest.raises(openai.APIError):
        with client.ai_pipeline("streamer"):
            stream = llm.chat.completions.create(model="cut-off", messages=QUESTION, stream=True)
            for chunk in stream:
                received.append(chunk)
    assert len(received) == 1
    (error,) = sentry.events(1)
    assert error["tags"]["ai.pipeline.name"] == "streamer"
    assert error["exception"]["values"][0]["mechanism"]["type"] == "openai"


def test_the_responses_api_is_recorded_with_its_usage(sentry: Harness, llm: openai.OpenAI) -> None:
    """``client.responses.create`` makes a ``gen_ai.responses`` span with the Responses API's
    usage names mapped to the same ``gen_ai.usage.*`` keys."""
    client = installed(sentry, send_default_pii=True)
    with client.start_transaction(name="respond"):
        response = llm.responses.create(model="gpt-4o", input="Capital of France?")
    assert response.output_text == "Paris."
    (event,) = transactions(sentry)
    span = spans_by_op(event)["gen_ai.responses"]
    assert span["description"] == "responses gpt-4o"
    data = span["data"]
    assert (data["gen_ai.usage.input_tokens"], data["gen_ai.usage.output_tokens"]) == (11, 3)
    assert data["gen_ai.usage.cache_read.input_tokens"] == 4
    assert data["gen_ai.usage.reasoning.output_tokens"] == 1
    assert json.loads(data["gen_ai.input.messages"]) == [
        {"role": "user", "content": "Capital of France?"}
    ]
    assert "Paris." in data["gen_ai.output.messages"]


async def test_a_streamed_response_records_the_usage_of_its_completed_event(
    sentry: Harness, async_llm: openai.AsyncOpenAI
) -> None:
    """A streamed Responses API call (async client) keeps its span open until the stream ends and
    takes the usage from the ``response.completed`` event."""
    client = installed(sentry, send_default_pii=True)
    with client.start_transaction(name="respond-streamed"):
        stream = await async_llm.responses.create(model="gpt-4o", input="Capital?", stream=True)
        kinds = [event.type async for event in stream]
    await async_llm.close()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    (event,) = transactions(sentry)
    data = spans_by_op(event)["gen_ai.responses"]["data"]
    assert data["gen_ai.response.streaming"] is True
    assert data["gen_ai.usage.total_tokens"] == 14
    assert data["gen_ai.response.finish_reasons"] == '["completed"]'
    assert "Paris." in data["gen_ai.output.messages"]


def test_install_is_idempotent_and_uninstall_restores_openai(
    sentry: Harness, llm: openai.OpenAI, api: FakeOpenAI
) -> None:
    """Installing twice still makes one span per call and one event per error; after
    ``uninstall`` openai's own methods are back and a call records and sends nothing."""
    originals = (Completions.__dict__["create"], AsyncCompletions.__dict__["create"])
    client = installed(sentry)
    raven_openai.install(client)
    assert raven_openai.installed_client() is client
    assert Completions.__dict__["create"] is not originals[0]
    with client.start_transaction(name="twice"):
        llm.chat.completions.create(model="gpt-4o", messages=QUESTION)
        with pytest.raises(openai.RateLimitError):
            llm.chat.completions.create(model="overloaded", messages=QUESTION)
    (event,) = transactions(sentry)
    assert [span["op"] for span in event["spans"]] == ["gen_ai.chat", "gen_ai.chat"]
    assert len(sentry.events(1)) == 1

    raven_openai.uninstall()
    raven_openai.uninstall()  # a second uninstall does nothing
    assert (Completions.__dict__["create"], AsyncCompletions.__dict__["create"]) == originals
    assert raven_openai.installed_client() is None
    with client.start_transaction(name="after"):
        llm.chat.completions.create(model="gpt-4o", messages=QUESTION)
        with pytest.raises(openai.RateLimitError):
            llm.chat.completions.create(model="overloaded", messages=QUESTION)
    (_, after) = transactions(sentry, 2)
    assert after["transaction"] == "after" and after["spans"] == []
    assert len(sentry.receiver.events) == 1
    assert len(api.requests) == 4


def test_the_readme_example_runs_and_sends_both_pipelines(
    receiver: Receiver, api: FakeOpenAI, tmp_path: Path
) -> None:
    """raven-openai's README example runs as written against the fake API: two pipeline
    transactions, each with a ``gen_ai.chat`` span and its token usage (the streamed one's from
    its last chunk)."""
    env = {"SENTRY_DSN": receiver.dsn, "OPENAI_BASE_URL": api.base_url, "OPENAI_API_KEY": "sk-test"}
    result = run_example(README, tmp_path, env)
    assert result.stdout.splitlines() == ["".join(ANSWER)] * 2
    events = receiver.wait_for_transactions(2)
    assert sorted(e["transaction"] for e in events) == [
        "invoke_agent support-bot",
        "invoke_agent support-bot-streamed",
    ]
    for event in events:
        validate_event(event)
        chat = spans_by_op(event)["gen_ai.chat"]
        assert chat["data"]["gen_ai.usage.total_tokens"] == 26

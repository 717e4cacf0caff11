"""AI monitoring in raven-core (``client.ai_pipeline``, ``client.ai_step``,
``client.record_token_usage``): spans, token usage and pipeline-tagged errors as they arrive at a
real loopback server, every transaction validated by Relay's normalizer."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import raven

from tests.core.conftest import Harness
from tests.readme_example import run_example
from tests.receiver import Receiver
from tests.relay import validate_event

README = Path(__file__).resolve().parents[2] / "packages" / "core" / "README.md"


def traced(sentry: Harness, **options: Any) -> raven.Client:
    return sentry.client(traces_sample_rate=1.0, **options)


def transaction(sentry: Harness) -> dict[str, Any]:
    (event,) = sentry.receiver.wait_for_transactions(1)
    validate_event(event)
    return event


def test_a_pipeline_with_two_steps_arrives_as_a_transaction_with_gen_ai_spans(
    sentry: Harness,
) -> None:
    """A pipeline run outside any transaction is one (op ``gen_ai.invoke_agent``) whose steps
    are ``gen_ai.*`` spans carrying the pipeline's name and the token usage recorded in them."""
    client = traced(sentry)

    @client.ai_pipeline("support-bot")
    def answer(question: str) -> str:
        with client.ai_step("search_docs"):
            pass
        with client.ai_step("answer", op="gen_ai.chat", model="gpt-4o"):
            client.record_token_usage(
                input_tokens=120, output_tokens=30, cached_input_tokens=100, reasoning_tokens=10
            )
        return "42"

    assert answer("why?") == "42"
    event = transaction(sentry)
    assert event["transaction"] == "invoke_agent support-bot"
    trace = event["contexts"]["trace"]
    assert trace["op"] == "gen_ai.invoke_agent" and trace["status"] == "ok"
    assert trace["data"]["gen_ai.agent.name"] == "support-bot"
    assert trace["data"]["gen_ai.operation.name"] == "invoke_agent"
    tool, chat = event["spans"]
    assert (tool["op"], tool["description"]) == ("gen_ai.execute_tool", "execute_tool search_docs")
    assert tool["data"] == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "search_docs",
        "gen_ai.pipeline.name": "support-bot",
    }
    assert (chat["op"], chat["description"]) == ("gen_ai.chat", "chat gpt-4o")
    assert chat["parent_span_id"] == trace["span_id"]
    data = chat["data"]
    assert data["gen_ai.request.model"] == "gpt-4o"
    assert data["gen_ai.usage.input_tokens"] == 120
    assert data["gen_ai.usage.output_tokens"] == 30
    assert data["gen_ai.usage.total_tokens"] == 150
    assert data["gen_ai.usage.cache_read.input_tokens"] == 100
    assert data["gen_ai.usage.input_tokens.cached"] == 100
    assert data["gen_ai.usage.reasoning.output_tokens"] == 10
    assert data["gen_ai.usage.output_tokens.reasoning"] == 10


async def test_async_pipeline_and_steps_time_the_awaited_work(sentry: Harness) -> None:
    """``async with`` and decorated ``async def`` functions make the same spans, each ending
    after the work it awaited."""
    client = traced(sentry)

    @client.ai_step("fetch", op="gen_ai.execute_tool")
    async def fetch() -> str:
        await asyncio.sleep(0.01)
        return "page"

    async with client.ai_pipeline("crawler") as span:
        assert await fetch() == "page"
        async with client.ai_step("summarize", op="gen_ai.chat") as step:
            client.record_token_usage(input_tokens=5, output_tokens=7, total_tokens=12)
            assert client.current_span() is step
        assert client.current_span() is span
    assert client.current_span() is None

    event = transaction(sentry)
    assert event["transaction"] == "invoke_agent crawler"
    fetched, summarized = event["spans"]
    assert fetched["description"] == "execute_tool fetch"
    assert fetched["timestamp"] - fetched["start_timestamp"] >= 0.01
    assert summarized["data"]["gen_ai.usage.total_tokens"] == 12


def test_a_pipeline_inside_a_transaction_is_one_of_its_spans(sentry: Harness) -> None:
    """Within a running transaction (a request, a task) a pipeline is a child span, not a
    transaction of its own."""
    client = traced(sentry)
    with client.start_transaction(name="POST /ask", op="http.server"):
        with client.ai_pipeline("rag"):
            with client.ai_step("retrieve"):
                pass
    event = transaction(sentry)
    assert event["transaction"] == "POST /ask"
    pipeline, step = event["spans"]
    assert (pipeline["op"], pipeline["description"]) == ("gen_ai.invoke_agent", "invoke_agent rag")
    assert step["parent_span_id"] == pipeline["span_id"]
    assert step["data"]["gen_ai.pipeline.name"] == "rag"


def test_an_error_escaping_a_pipeline_is_captured_once_tagged_and_re_raised(
    sentry: Harness,
) -> None:
    """The exception leaving a pipeline reaches the app and is sent once, tagged with the
    pipeline's name and linked to its span; the app capturing it again sends nothing more."""
    client = traced(sentry)
    with pytest.raises(TimeoutError):
        try:
            with client.ai_pipeline("support-bot"):
                with client.ai_step("call_model", op="gen_ai.chat"):
                    raise TimeoutError("model too slow")
        except TimeoutError:
            assert client.captureException() is None  # already sent by the pipeline
            raise
    (error,) = sentry.events(1)
    assert error["tags"]["ai.pipeline.name"] == "support-bot"
    (value,) = error["exception"]["values"]
    assert value["type"] == "TimeoutError"
    assert value["mechanism"]["type"] == "ai_monitoring" and not value["mechanism"]["handled"]
    event = transaction(sentry)
    assert error["contexts"]["trace"]["span_id"] == event["contexts"]["trace"]["span_id"]
    assert event["contexts"]["trace"]["status"] == "internal_error"
    assert event["spans"][0]["status"] == "internal_error"


def test_errors_captured_inside_a_pipeline_carry_its_name_and_later_ones_do_not(
    sentry: Harness,
) -> None:
    """What the app captures inside a pipeline is tagged with the innermost pipeline's name;
    the app's own tags stay, and after the pipeline the tag is gone."""
    client = sentry.client(tags={"team": "ml"})
    client.tags_context({"tenant": "acme"})
    with client.ai_pipeline("outer"):
        with client.ai_pipeline("inner"):
            client.captureMessage("in inner")
        client.captureMessage("in outer")
    client.captureMessage("after")
    inner, outer, after = sentry.events(3)
    assert inner["tags"] == {"team": "ml", "tenant": "acme", "ai.pipeline.name": "inner"}
    assert outer["tags"]["ai.pipeline.name"] == "outer"
    assert after["tags"] == {"team": "ml", "tenant": "acme"}


def test_with_tracing_off_no_transaction_is_sent_but_errors_are_still_tagged(
    sentry: Harness,
) -> None:
    """Without ``traces_sample_rate`` the API runs the code, records nothing, and the pipeline's
    error still arrives tagged with its name."""
    client = sentry.client()

    @client.ai_pipeline("nightly-summaries")
    def run() -> None:
        with client.ai_step("chat", op="gen_ai.chat") as step:
            assert not step.sampled
            client.record_token_usage(input_tokens=1, output_tokens=1)
            raise ValueError("bad completion")

    with pytest.raises(ValueError):
        run()
    client.flush(5)
    (error,) = sentry.events(1)
    assert error["tags"]["ai.pipeline.name"] == "nightly-summaries"
    assert sentry.receiver.transactions == []


def test_capture_errors_false_leaves_the_error_to_the_app(sentry: Harness) -> None:
    """``capture_errors=False``: the pipeline re-raises without sending; the app's own capture
    inside the pipeline's scope is still tagged."""
    client = sentry.client()
    with pytest.raises(KeyError):
        with client.ai_pipeline("etl", capture_errors=False):
            try:
                raise KeyError("doc")
            except KeyError:
                client.captureException()
                raise
    (error,) = sentry.events(1)
    assert error["tags"]["ai.pipeline.name"] == "etl"


def test_the_readme_example_runs_and_sends_the_pipeline(receiver: Receiver, tmp_path: Path) -> None:
    """raven-core's README "AI monitoring" example runs as written: a pipeline transaction per
    run with its steps and token usage, and the failed run's error tagged with its name."""
    run_example(README, tmp_path, {"SENTRY_DSN": receiver.dsn}, section="## AI monitoring")
    # Two transactions, in whichever order the sender threads delivered them: the failed run's
    # is the one that ended in error.
    event, failed = sorted(
        receiver.wait_for_transactions(2),
        key=lambda sent: sent["contexts"]["trace"].get("status") == "internal_error",
    )
    for sent in (event, failed):
        validate_event(sent)
        assert sent["transaction"] == "invoke_agent support-bot"
    assert [span["op"] for span in event["spans"]] == ["gen_ai.execute_tool", "gen_ai.chat"]
    assert event["spans"][1]["data"]["gen_ai.usage.total_tokens"] == 150
    assert failed["contexts"]["trace"]["status"] == "internal_error"
    (error,) = receiver.wait_for(1)
    validate_event(error)
    assert error["tags"]["ai.pipeline.name"] == "support-bot"

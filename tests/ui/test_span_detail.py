"""What the detail pane says about the kinds of span a user inspects most."""

from __future__ import annotations

import io

from rich.console import Console

from lumos_studio.records import SpanEvent
from lumos_studio.ui.widgets.span_detail import render_span
from tests.builders import make_span, weather_trace


def text_of(span) -> str:  # type: ignore[no-untyped-def]
    console = Console(width=100, file=io.StringIO(), record=True)
    console.print(render_span(span))
    return console.export_text()


def test_tool_call_shows_arguments_and_result_not_raw_attributes() -> None:
    shown = text_of(weather_trace()[2])
    assert "execute_tool get_weather" in shown
    assert "Arguments" in shown and '"city": "Paris"' in shown
    assert "Result" in shown and "Sunny, 18 °C in Paris." in shown
    assert "gen_ai.tool.call.arguments" not in shown  # shown as a section, not in the table
    assert "gen_ai.tool.name" in shown


def test_chat_span_shows_the_conversation_as_turns_and_token_usage() -> None:
    shown = text_of(weather_trace()[1])
    assert "user › weather in Paris?" in shown
    assert 'assistant › call get_weather {"city":"Paris"}' in shown
    assert "20 in · 4 out" in shown


def test_error_span_shows_status_and_traceback() -> None:
    span = make_span(
        "execute_tool broken", status="ERROR",
        events=(SpanEvent("exception", 1, {
            "exception.type": "RuntimeError",
            "exception.stacktrace": "Traceback...\nRuntimeError: backend down",
        }),),
    )
    shown = text_of(span)
    assert "ERROR" in shown
    assert "Exception: RuntimeError" in shown and "RuntimeError: backend down" in shown


def test_running_span_says_so() -> None:
    assert "RUNNING" in text_of(make_span(duration_ms=None))


def test_token_cost_is_estimated_for_known_models_only() -> None:
    from lumos_studio.pricing import estimate_cost

    assert estimate_cost("gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000) == 0.75
    assert estimate_cost("openai:gpt-4o", 1000, 0) == 0.0025
    assert estimate_cost("my-local-llama", 10, 10) is None
    span = make_span("chat gpt-4o-mini", attributes={
        "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 2000,
        "gen_ai.usage.output_tokens": 500})
    assert "cost" in text_of(span) and "$0.000600" in text_of(span)


def test_long_attributes_are_folded_and_raw_view_shows_everything() -> None:
    from lumos_studio.ui.widgets.span_detail import render_raw

    long_value = "x" * 5000
    span = make_span(attributes={"app.payload": long_value})
    shown = text_of(span)
    assert "5,000 chars; r shows it all" in shown and long_value not in shown
    console = Console(width=100, file=io.StringIO(), record=True)
    console.print(render_raw(span))
    assert long_value in console.export_text().replace("\n", "")


def test_a_streamed_chat_span_shows_the_assembled_answer_and_time_to_first_chunk(
    tracer_provider, exporter  # type: ignore[no-untyped-def]
) -> None:
    from lumos_core import Agent, ScriptedModel
    from lumos_core.agent import RunCompleted
    from lumos_core.models.base import TextDelta
    from lumos_studio.ingest.convert import span_to_record

    agent = Agent("streamer", model=ScriptedModel(["Three short words here."], chunk_delay=0.001))
    events = list(agent.stream_sync("say something", tracer_provider=tracer_provider))
    assert sum(isinstance(e, TextDelta) for e in events) == 4  # it did stream, word by word
    assert isinstance(events[-1], RunCompleted)
    chat = next(span_to_record(s) for s in exporter.get_finished_spans()
                if s.name.startswith("chat"))
    assert chat.attributes["gen_ai.request.stream"] is True
    first_chunk = chat.attributes["gen_ai.response.time_to_first_chunk"]

    shown = text_of(chat)
    assert "assistant › Three short words here." in shown  # the pieces, as one answer
    assert "streamed" in shown and "first chunk after " in shown
    assert f"{first_chunk * 1000:.1f}ms" in shown or "µs" in shown.split("first chunk after ")[1]


def test_a_span_that_did_not_stream_says_nothing_about_chunks() -> None:
    shown = text_of(weather_trace()[1])
    assert "first chunk" not in shown and "streamed" not in shown

"""What the detail pane says about the kinds of span a user inspects most."""

from __future__ import annotations

import io
import json
import re

from rich.console import Console
from textual.app import App, ComposeResult
from textual.widgets import Static

from lumos_studio.records import SpanEvent, SpanRecord
from lumos_studio.ui.widgets.span_detail import (
    ATTRIBUTES_SHOWN,
    DOCUMENTS_SHOWN,
    MESSAGES_SHOWN,
    SpanDetail,
    render_span,
)
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


def test_a_value_longer_than_the_raw_view_shows_says_where_it_is_whole() -> None:
    from lumos_studio.display import RAW_STRING_LIMIT

    span = make_span(attributes={"app.payload": "x" * 50_000})
    shown = " ".join(text_of(span).split())  # as wrapped in the value column
    assert (f"50,000 chars; r shows {RAW_STRING_LIMIT:,}; lumos-studio export writes it whole"
            in shown)


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


def long_conversation(span_id: str, turns: int) -> SpanRecord:
    """A model call that sends a conversation's whole history, as each call of a long one does."""
    history = [{"role": "user" if n % 2 == 0 else "assistant",
                "parts": [{"type": "text", "content": f"message number {n}"}]}
               for n in range(turns)]
    return make_span("chat model", span_id=span_id, attributes={
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
        "gen_ai.input.messages": json.dumps(history)})


def test_a_long_history_shows_its_newest_messages_under_a_count_of_the_rest() -> None:
    shown = text_of(long_conversation("a" * 16, 30))
    assert "… 18 earlier messages · m (in this pane) shows them" in shown
    assert "message number 29" in shown and "message number 18" in shown
    assert "message number 17\n" not in shown and "message number 0\n" not in shown
    assert "earlier message" not in text_of(long_conversation("a" * 16, MESSAGES_SHOWN))


class DetailHost(App[None]):
    def compose(self) -> ComposeResult:
        yield SpanDetail(id="detail")


async def test_m_shows_every_message_of_the_span_and_the_next_span_opens_folded() -> None:
    app = DetailHost()
    async with app.run_test(size=(100, 40)) as pilot:
        detail = app.query_one(SpanDetail)
        body = app.query_one("#span-body", Static)
        detail.show(long_conversation("a" * 16, 30))
        detail.focus()
        await pilot.pause()
        assert "earlier messages" in plain(body) and "number 0\n" not in plain(body)
        await pilot.press("m")
        assert "earlier messages" not in plain(body) and "number 0\n" in plain(body)
        detail.show(long_conversation("a" * 16, 31))  # the same span, read again: as it was
        assert "number 0\n" in plain(body)
        detail.show(long_conversation("b" * 16, 30))
        assert "earlier messages" in plain(body)
        await pilot.press("m", "m")
        assert "earlier messages" in plain(body)
        assert detail.check_action("toggle_messages", ())
        detail.show(long_conversation("c" * 16, MESSAGES_SHOWN))  # nothing folded: no key
        assert not detail.check_action("toggle_messages", ())
        await pilot.press("m")
        assert not detail.all_messages


def plain(body: Static) -> str:
    console = Console(width=100, file=io.StringIO(), record=True)
    console.print(body.content)
    return console.export_text()


def test_a_span_of_thousands_of_attributes_lists_the_first_and_counts_the_rest() -> None:
    span = make_span("op", attributes={
        **{f"app.key.{n:04d}": f"value {n}" for n in range(ATTRIBUTES_SHOWN + 50)},
        "gen_ai.input.messages": "[]"})  # content, shown above the table: not counted in it
    shown = text_of(span)
    assert f"app.key.{ATTRIBUTES_SHOWN - 1:04d} value {ATTRIBUTES_SHOWN - 1}" in shown
    assert f"app.key.{ATTRIBUTES_SHOWN:04d}" not in shown
    more = 50 + len(span.resource)  # its resource's attributes are listed too (they sort after)
    assert f"… {more} more attributes (r shows them all)" in shown
    assert "1 attribute of conversation content shown above" in shown
    assert "more attribute" not in text_of(make_span("op", attributes={"a": 1}))


def test_a_retrieval_of_many_documents_shows_the_first_found_and_counts_the_rest() -> None:
    found = [{"id": f"doc{n}", "score": 1 - n / 100, "content": f"passage number {n}"}
             for n in range(DOCUMENTS_SHOWN + 5)]
    shown = text_of(make_span("retrieval docs", attributes={
        "gen_ai.operation.name": "retrieval", "gen_ai.retrieval.query.text": "paris",
        "gen_ai.retrieval.documents": json.dumps(found)}))
    assert f"passage number {DOCUMENTS_SHOWN - 1}" in shown
    assert f"passage number {DOCUMENTS_SHOWN}\n" not in shown
    assert "… 5 more documents (r shows them all)" in shown


def screen_lines(app: App[None]) -> list[str]:
    """Every line the app would write to the terminal now."""
    strips = app.screen._compositor.render_strips()
    return ["".join(segment.text for segment in strip).rstrip() for strip in strips]


LONG_KEY = "app." + "k" * 60


async def test_narrow_attribute_keys_break_after_a_dot_or_end_in_an_ellipsis() -> None:
    span = make_span("step itinerary", attributes={
        "lumos.workflow.loop.iterations": 3,
        "gen_ai.agent.description": "Plans a trip: weather and sights",
        LONG_KEY: 1,
    })
    app = DetailHost()
    async with app.run_test(size=(36, 40)) as pilot:  # the span pane at 120x40
        detail = app.query_one(SpanDetail)
        detail.show(span)
        await pilot.pause()
        lines = screen_lines(app)
        at = next(i for i, line in enumerate(lines) if line.startswith("lumos.workflow."))
        assert lines[at].split()[0] == "lumos.workflow." and lines[at + 1] == "loop.iterations"
        at = next(i for i, line in enumerate(lines) if line.startswith("gen_ai.agent."))
        assert lines[at].split()[0] == "gen_ai.agent." and lines[at + 1].startswith(
            "description ")
        # A word wider than the column: cut with ….
        at = next(i for i, line in enumerate(lines) if line.split() == ["app.", "1"])
        assert lines[at + 1].startswith("kkkk") and lines[at + 1].endswith("…")
        await pilot.press("r")  # the raw view: every key whole
        assert LONG_KEY in plain(app.query_one("#span-body", Static))


def workflow_span(status: str, *, step: bool = False) -> SpanRecord:
    if step:
        attributes = {"lumos.workflow.step.name": "approve", "lumos.workflow.step.status": status}
    else:
        attributes = {"gen_ai.operation.name": "invoke_workflow",
                      "lumos.workflow.name": "trip_planner", "lumos.workflow.status": status}
    return make_span("step approve" if step else "invoke_workflow trip_planner",
                     attributes=attributes)


async def test_a_suspended_workflow_run_says_so_beside_its_otel_status() -> None:
    app = DetailHost()
    async with app.run_test(size=(60, 30)) as pilot:
        detail = app.query_one(SpanDetail)

        async def status_line(span: SpanRecord) -> str:
            detail.show(span)
            await pilot.pause()
            line = next(line for line in screen_lines(app) if line.startswith("status"))
            return line.split(None, 1)[1]

        assert await status_line(workflow_span("suspended")) == "SUSPENDED (OTel: UNSET)"
        assert await status_line(workflow_span("suspended", step=True)) == (
            "SUSPENDED (OTel: UNSET)")
        assert await status_line(workflow_span("success")) == "OK (UNSET)"


def test_a_model_calls_settings_are_in_its_facts() -> None:
    span = make_span("chat gpt-4o", attributes={
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
        "gen_ai.request.temperature": 0.2, "gen_ai.request.max_tokens": 500,
        "gen_ai.request.stop_sequences": ["END"],
    })
    shown = text_of(span)
    assert re.search(r'settings +temperature 0.2 · max_tokens 500 · stop \["END"\]', shown)
    assert "settings" not in text_of(weather_trace()[1])  # none said: no row

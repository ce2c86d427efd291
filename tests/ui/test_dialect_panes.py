"""Traces captured from real instrumentation libraries, opened in the studio: the span detail of a
model call reads as a conversation in every dialect (tests/fixtures/dialects)."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import orjson
import pytest
from rich.console import Console
from textual.pilot import Pilot

from lumos_core import Agent, ScriptedModel
from lumos_studio.app import StudioApp
from lumos_studio.otlp import read_records
from lumos_studio.records import SpanEvent, SpanRecord
from lumos_studio.semantics import OperationKind, ToolResultPart, read_trace
from lumos_studio.sessions.discovery import AgentCatalog
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.span_detail import SpanDetail, render_span
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import MS, T0, make_span
from tests.ui.helpers import wait_for
from tests.ui.test_hostile_panes import screen_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dialects"
SIZE = (400, 70)  # wide enough for the detail pane to hold each message on one line


def _load(store: Store, name: str) -> tuple[SpanRecord, SpanRecord | None]:
    """Store a fixture file; its first model call that was sent a tool's result, and the tool
    span of the same trace (None when the library made none)."""
    records = read_records(FIXTURES / f"{name}.jsonl")
    spans, logs = list(records.spans), list(records.logs)
    store.writer.submit_many([*spans, *logs])
    store.writer.flush()
    views = read_trace(spans, logs)
    chat = next(s for s in spans if views[s.span_id].kind is OperationKind.LLM and any(
        isinstance(p, ToolResultPart) for m in views[s.span_id].input_messages for p in m.parts))
    tool = next((s for s in spans if s.trace_id == chat.trace_id
                 and views[s.span_id].kind is OperationKind.TOOL), None)
    return chat, tool


def _session(store: Store) -> InProcessSession:
    agent = Agent("idle", model=ScriptedModel(["ok"]))
    return InProcessSession.recording(AgentCatalog("dialects", {agent.name: agent}), store.writer)


async def _detail_of(pilot: Pilot[None], app: StudioApp, span: SpanRecord) -> str:
    """Open ``span``'s trace, choose the span in the tree, and read its whole detail pane (what
    the screen shows inside the pane, page by page)."""
    app.show_trace(span.trace_id)
    tree = app.main.query_one(TraceWaterfall)
    await wait_for(pilot, lambda: span.span_id in tree.spans)
    tree.select_span(span.span_id)
    detail = app.main.query_one(SpanDetail)
    await wait_for(pilot, lambda: detail.span is not None and detail.span.span_id == span.span_id)
    detail.scroll_home(animate=False, immediate=True)
    await pilot.pause()
    pages = []
    while True:
        region = detail.region
        lines = screen_text(app).splitlines()[region.y : region.y + region.height]
        pages.append("\n".join(line[region.x : region.x + region.width] for line in lines))
        if detail.scroll_y >= detail.max_scroll_y:
            return "\n".join(pages)
        detail.scroll_page_down(animate=False)
        await pilot.pause()


@pytest.mark.parametrize(
    ("fixture", "read_as"),
    [
        ("openinference-openai", "openinference"),
        ("pydantic-ai-v5", "otel-genai, pydantic-ai"),
        ("pydantic-ai-v6", "otel-genai, pydantic-ai"),
        ("openllmetry-events", "otel-genai, otel-genai-events"),
    ],
)
async def test_a_model_call_of_every_dialect_reads_as_a_conversation(
    store: Store, fixture: str, read_as: str
) -> None:
    chat, tool = _load(store, fixture)
    app = StudioApp(store, _session(store))
    async with app.run_test(size=SIZE) as pilot:
        seen = await _detail_of(pilot, app, chat)
        assert re.search(rf"read as +{read_as} ", seen)
        assert "user › What's the weather like in Paris today?" in seen
        assert 'assistant › call get_weather {"city":"Paris"}' in seen
        assert '\\"city\\"' not in seen  # the arguments once, never re-encoded
        assert "result" in seen and '"temperature_c": 18, "conditions": "partly cloudy"' in seen
        assert "assistant › It is 18 °C and partly cloudy in Paris right now." in seen
        assert re.search(r"tokens +118 in · 14 out", seen)
        assert re.search(r"model +gpt-4o-mini ", seen) or re.search(
            r"answered by +gpt-4o-mini-2024-07-18 ", seen)
        if tool is not None:  # the tool's own span: its call, arguments as pretty JSON
            seen = await _detail_of(pilot, app, tool)
            assert re.search(r"tool +get_weather", seen)
            assert '"city": "Paris"' in seen and '\\"city\\"' not in seen
            assert "partly cloudy" in seen


def text_of(span: SpanRecord) -> str:
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(render_span(span))
    return console.export_text()


def test_convention_keys_no_reader_understood_are_listed() -> None:
    span = make_span("chat mystery", attributes={
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "m1",
        "gen_ai.usage.input_tokens": 3, "gen_ai.mystery.feature": "on",
        "llm.brand_new_thing": 7, "app.own.key": "mine"})
    shown = text_of(span)
    section = shown.split("Not understood", 1)[1].split("Attributes", 1)[0]
    assert "gen_ai.mystery.feature" in section and "llm.brand_new_thing" in section
    assert "app.own.key" not in section  # not a convention: just an attribute
    assert re.search(r"read as +lumos, otel-genai", shown)  # (the builder's scope is ours)


def test_a_span_of_no_known_convention_says_so() -> None:
    span = make_span("GET /health", attributes={"http.route": "/health"})
    shown = text_of(dataclasses.replace(span, scope_name="opentelemetry.instrumentation.flask"))
    assert re.search(r"read as +no known convention", shown) and "Not understood" not in shown


def test_the_detail_shows_every_part_of_the_current_conventions_as_written() -> None:
    """Plain-string instructions are one text; reasoning, uri and blob parts, streaming, span
    events and evaluations each read as themselves, not as raw JSON."""
    output = orjson.dumps([{"role": "assistant", "parts": [
        {"type": "reasoning", "content": "The user wants Paris."},
        {"type": "uri", "uri": "https://example.com/paris.png", "mime_type": "image/png",
         "modality": "image"},
        {"type": "blob", "content": "aGVsbG8=", "mime_type": "audio/wav", "modality": "audio"},
        {"type": "text", "content": "Here it is."}]}]).decode()
    span = make_span("chat gpt-x", attributes={
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-x",
        "gen_ai.system_instructions": "Be brief.", "gen_ai.output.messages": output,
        "gen_ai.is_streaming": True, "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 7, "gen_ai.usage.cache_read.input_tokens": 3,
        "gen_ai.usage.reasoning_tokens": 2,
        "gen_ai.tool.definitions": '[{"type":"function","name":"get_weather",'
                                   '"description":"Weather now.","parameters":{"properties":'
                                   '{"city":{"type":"string"}}}}]'},
        events=(SpanEvent("gen_ai.evaluation.result", T0 + 1, {
            "gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.9,
            "gen_ai.evaluation.score.label": "relevant"}),
            SpanEvent("cache.miss", T0 + 2 * MS, {"cache.key": "k1"})))
    shown = text_of(span)
    assert "system › Be brief." in shown and "system › B\n" not in shown
    assert "assistant › thinking The user wants Paris." in shown
    assert "assistant › [image] https://example.com/paris.png  image/png" in shown
    assert "assistant › [audio] inline data, 8 characters  audio/wav" in shown
    assert '"type": "uri"' not in shown and '"type":"uri"' not in shown
    assert re.search(r"streamed +yes", shown)
    assert re.search(r"tokens +5 in · 7 out · 3 cache read · 2 reasoning", shown)
    assert "get_weather  Weather now." in shown and "(city)" in shown
    assert "relevance  0.9  relevant" in shown
    assert re.search(r"\+2\.0ms +cache\.miss +\{\"cache\.key\":\"k1\"\}", shown)


def test_the_waterfall_colours_every_dialect_by_what_its_spans_do() -> None:
    from lumos_studio.ui.waterfall_layout import SpanIndex

    records = read_records(FIXTURES / "openinference-openai.jsonl")
    spans = list(records.spans)
    index = SpanIndex()
    index.update(spans, read_trace(spans))
    kinds = {index.kind(s.span_id) for s in spans if s.name == "ChatCompletion"}
    assert kinds == {"model"}
    assert {index.kind(s.span_id) for s in spans if s.name == "get_weather"} == {"tool"}
    assert {index.kind(s.span_id) for s in spans if s.parent_span_id is None} == {"agent"}

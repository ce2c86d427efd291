"""The search index's reader (``semantics.search``) gives exactly the text of the full reader.

``span_search_text`` reads spans in the current GenAI attributes alone with only the readers the
text needs; every other span goes through ``read_span``. These tests hold the two equal over
every dialect fixture, the hostile corpus, a real ``lumos_core`` run and generated odd values.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, tool
from lumos_studio.ingest.convert import span_to_record
from lumos_studio.otlp.files import read_records
from lumos_studio.records import LogRecord, SpanEvent, SpanRecord
from lumos_studio.semantics import read_span, searchable_text
from lumos_studio.semantics.search import (
    PLAIN_TEXT_KEYS,
    _plain_genai,
    _text_part_lines,
    plain_text_of,
    span_search_text,
)
from tests.hostile import hostile_spans

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dialects"


def full_reader_text(span: SpanRecord, logs: list[LogRecord]) -> str:
    """What the index stored before ``semantics.search``: the whole view, inputs trimmed."""
    view = read_span(span, logs)
    inputs = view.input_messages
    last = max((i for i, m in enumerate(inputs) if m.role == "assistant"), default=-1)
    if last >= 0:
        view = replace(view, input_messages=inputs[last + 1 :])
    return searchable_text(view)


def own_logs(span: SpanRecord, logs: list[LogRecord]) -> list[LogRecord]:
    ids = {span.span_id, span.parent_span_id}
    return [log for log in logs if log.trace_id == span.trace_id and log.span_id in ids]


def assert_same_text(spans: list[SpanRecord], logs: list[LogRecord] | None = None) -> None:
    for span in spans:
        mine = own_logs(span, logs or [])
        assert span_search_text(span, mine) == full_reader_text(span, mine), span.name
        assert_same_from_the_text_keys(span)


def assert_same_from_the_text_keys(span: SpanRecord) -> None:
    """``plain_text_of`` given the span as the idle indexer reads it from a stored span (its
    keys, only the ``PLAIN_TEXT_KEYS`` decoded, its events' names) makes the full reader's
    text, or says it cannot (None) exactly when the short way is not taken."""
    attrs, events = span.attributes, span.events
    if not isinstance(attrs, dict) or not isinstance(events, tuple | list) or not all(
            isinstance(e, SpanEvent) and isinstance(e.name, str) for e in events):
        return  # not a span protobuf can carry
    names = [e.name for e in events]
    scope = span.scope_name if isinstance(span.scope_name, str) else ""
    only = {key: value for key, value in attrs.items() if key in PLAIN_TEXT_KEYS}
    short = plain_text_of(list(attrs), only, names, scope)
    if short is not None:
        assert short == full_reader_text(span, []), span.name
    elif _plain_genai(span):  # the short way failed on an odd value: so it must with all
        assert plain_text_of(list(attrs), attrs, names, scope) is None, span.name


def test_every_dialect_fixture_gives_the_full_readers_text() -> None:
    fixtures = sorted(FIXTURES.glob("*.jsonl"))
    assert len(fixtures) >= 10
    for fixture in fixtures:
        records = read_records(fixture)
        assert records.spans, fixture
        assert_same_text(records.spans, records.logs)


def test_hostile_spans_give_the_full_readers_text() -> None:
    spans = hostile_spans()
    assert any(_plain_genai(span) for span in spans)  # some take the short way
    assert_same_text(spans)


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}."


def test_a_lumos_run_takes_the_short_way_and_gives_the_same_text() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    agent = Agent(name="weather", instructions="Answer about weather.", model="scripted",
                  tools=[get_weather])
    asyncio.run(agent.run("Weather in Paris?", tracer_provider=provider))
    spans = [span_to_record(span) for span in exporter.get_finished_spans()]
    assert len(spans) == 4
    assert all(_plain_genai(span) for span in spans)
    assert_same_text(spans)
    texts = " ".join(span_search_text(span) for span in spans)
    assert "Paris" in texts and "Sunny in Paris." in texts and "get_weather" in texts


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=12,
)
_part = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "reasoning", "tool_call", "tool_call_response", "uri",
                              "blob", "odd", 3])},
    optional={"content": _json_values, "name": _json_values, "arguments": _json_values,
              "response": _json_values, "result": _json_values, "id": _json_values},
)
_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "tool", "system", 1])},
    optional={"parts": st.lists(_part, max_size=3) | _json_values, "content": _json_values},
)


def _as_attribute(value: Any, encode: bool) -> Any:
    return orjson.dumps(value).decode() if encode else value


@settings(max_examples=200, deadline=None)
@given(
    inputs=st.lists(_message, max_size=4) | _json_values,
    outputs=st.lists(_message, max_size=3) | _json_values,
    system=st.lists(_part, max_size=2) | _json_values,
    tool_args=_json_values,
    encode=st.booleans(),
    operation=st.sampled_from(["chat", "execute_tool", "invoke_agent", None]),
    names=st.lists(st.sampled_from([
        "gen_ai.request.model", "gen_ai.response.model", "gen_ai.agent.name",
        "gen_ai.tool.name", "gen_ai.tool.call.id", "gen_ai.tool.call.result",
    ]), max_size=6),
    name_value=_json_values,
)
def test_generated_genai_spans_give_the_full_readers_text(
    inputs: Any, outputs: Any, system: Any, tool_args: Any, encode: bool,
    operation: str | None, names: list[str], name_value: Any,
) -> None:
    attributes: dict[str, Any] = {
        "gen_ai.input.messages": _as_attribute(inputs, encode),
        "gen_ai.output.messages": _as_attribute(outputs, encode),
        "gen_ai.system_instructions": _as_attribute(system, encode),
        "gen_ai.tool.call.arguments": _as_attribute(tool_args, encode),
        **{name: name_value for name in names},
    }
    if operation:
        attributes["gen_ai.operation.name"] = operation
    span = SpanRecord("a" * 32, "b" * 16, None, "span", 1, 2, attributes=attributes)
    assert _plain_genai(span)
    assert span_search_text(span) == full_reader_text(span, [])


_EVENT_NAMES = ["gen_ai.step.1", "exception", "gen_ai.evaluation.result", "gen_ai.user.message",
                "gen_ai.choice", "gen_ai.content.prompt", "gen_ai.content.completion"]


@settings(max_examples=200, deadline=None)
@given(
    events=st.lists(st.tuples(st.sampled_from(_EVENT_NAMES), st.dictionaries(st.sampled_from([
        "content", "gen_ai.prompt", "gen_ai.completion", "gen_ai.event.content", "index",
        "gen_ai.evaluation.name", "gen_ai.evaluation.score.value"]), _json_values, max_size=3)),
        max_size=3),
    inputs=st.lists(_message, max_size=2),
)
def test_spans_with_events_give_the_full_readers_text(
    events: list[tuple[str, dict[str, Any]]], inputs: Any
) -> None:
    span = SpanRecord(
        "a" * 32, "b" * 16, None, "chat", 1, 2,
        attributes={"gen_ai.operation.name": "chat",
                    "gen_ai.input.messages": orjson.dumps(inputs).decode()},
        events=tuple(SpanEvent(name, 1, attributes) for name, attributes in events),
    )
    assert span_search_text(span) == full_reader_text(span, [])
    plain_events = all(name not in _EVENT_NAMES[3:] for name, _ in events)
    assert _plain_genai(span) == plain_events  # events that give no words keep the short way


_text_part = st.fixed_dictionaries(
    {"type": st.just("text"), "content": st.text(max_size=12)},
    optional={"extra": _json_values},
)
_text_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "tool", "system", ""]),
     "parts": st.lists(_text_part, max_size=3)},
    optional={"finish_reason": _json_values, "name": _json_values},
)


@settings(max_examples=200, deadline=None)
@given(inputs=st.lists(_text_message, max_size=4), outputs=st.lists(_text_message, max_size=3))
def test_text_only_messages_read_the_short_way_give_the_full_readers_text(
    inputs: list[Any], outputs: list[Any]
) -> None:
    """The messages reader's shortcut for all-text parts (``_text_part_lines``) is taken and
    reads as the typed messages do: roles, empty parts left out, the last answer's trim."""
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.input.messages": orjson.dumps(inputs).decode(),
        "gen_ai.output.messages": orjson.dumps(outputs).decode(),
    }
    span = SpanRecord("a" * 32, "b" * 16, None, "chat", 1, 2, attributes=attributes)
    assert _text_part_lines(attributes["gen_ai.input.messages"]) is not None
    assert span_search_text(span) == full_reader_text(span, [])
    assert_same_from_the_text_keys(span)


def test_messages_in_another_shape_are_left_to_the_typed_reader() -> None:
    for value in ('[{"role": "user", "content": "hi"}]', '[{"role": "user", "parts": '
                  '[{"type": "tool_call", "name": "f"}]}]', '{"role": "user"}', "not json",
                  '[{"role": 1, "parts": []}]', '[{"role": "user", "parts": [{"type": "text", '
                  '"text": "hi"}]}]'):
        assert _text_part_lines(value) is None, value

"""The playground's request, read from a recorded model call of every dialect the studio reads
(tests/fixtures/dialects, captured from the real instrumentation packages), and the edited JSON
back as a call, or what is wrong with it in words."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from lumos_core import ModelSettings
from lumos_core.messages import Message, TextPart, ToolCallPart, ToolResultPart
from lumos_core.playground import ModelCall
from lumos_studio.display import editor_json
from lumos_studio.otlp import read_records
from lumos_studio.semantics import OperationKind, read_span, read_trace
from lumos_studio.ui.playground_request import (
    PlaygroundPoint,
    model_call,
    model_calls,
    playground_point,
    request_summary,
)
from tests.builders import make_span
from tests.hostile import CLEAR_SCREEN, CORPUS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dialects"
DIALECTS = sorted(p.stem for p in FIXTURES.glob("*.jsonl"))


@pytest.mark.parametrize("name", DIALECTS)
def test_every_recorded_model_call_of_every_dialect_goes_back_as_a_call(name: str) -> None:
    records = read_records(FIXTURES / f"{name}.jsonl")
    views = read_trace(list(records.spans), list(records.logs))
    calls = [s for s in records.spans if views[s.span_id].kind is OperationKind.LLM
             and views[s.span_id].input_messages]
    assert calls, f"{name} has no model call with its messages"
    for span in calls:
        point = playground_point(span, views[span.span_id])
        assert isinstance(point, PlaygroundPoint)
        call = model_call(point.model or "scripted", editor_json(point.request))
        assert isinstance(call, ModelCall), call
        assert len(call.messages) == len(point.request["messages"])
        assert [t["name"] for t in call.tools] == [t.name for t in
                                                   views[span.span_id].tool_definitions]


def test_a_conversation_with_a_tool_round_trip_keeps_its_ids_and_settings() -> None:
    messages = [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "weather in Rome?"}]},
        {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "get_weather",
                                         "arguments": {"city": "Rome"}}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1",
                                    "name": "get_weather", "response": "22 °C"}]},
    ]
    span = make_span("chat gpt-4o", attributes={
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o", "gen_ai.request.temperature": 0.5,
        "gen_ai.input.messages": orjson.dumps(messages).decode(),
        "gen_ai.system_instructions": '[{"type": "text", "content": "Answer weather."}]',
    })
    point = playground_point(span, read_span(span))
    assert isinstance(point, PlaygroundPoint)
    assert point.model == "openai:gpt-4o"
    assert request_summary(point.request) == "3 messages · temperature 0.5"

    call = model_call(point.model, editor_json(point.request))

    assert call == ModelCall("openai:gpt-4o", (
        Message("user", (TextPart("weather in Rome?"),)),
        Message("assistant", (ToolCallPart("c1", "get_weather", {"city": "Rome"}),)),
        Message("tool", (ToolResultPart("c1", "get_weather", "22 °C"),)),
    ), "Answer weather.\n\nBe brief.", (), ModelSettings(temperature=0.5))


def test_a_provider_no_preset_reaches_leaves_the_model_to_type() -> None:
    span = make_span("chat", attributes={
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "aws.bedrock",
        "gen_ai.request.model": "claude", "gen_ai.input.messages":
            '[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]'})
    point = playground_point(span, read_span(span))
    assert isinstance(point, PlaygroundPoint)
    assert (point.model, point.recorded_model) == ("", "claude (aws.bedrock)")


@pytest.mark.parametrize("attributes, said", [
    ({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "x"}, "Select a model call"),
    ({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}, "not recorded"),
])
def test_no_playground_without_a_recorded_model_call(
    attributes: dict[str, object], said: str,
) -> None:
    span = make_span("span", attributes=attributes)
    point = playground_point(span, read_span(span))
    assert isinstance(point, str)
    assert said in point


@pytest.mark.parametrize("model, text, said", [
    ("", '{"messages": []}', "Type the model"),
    ("scripted", "{not json", "not JSON"),
    ("scripted", "[1]", "is a JSON object"),
    ("scripted", '{"messages": [{"role": "user", "parts": []}], "prompt": 1}', "no prompt"),
    ("scripted", '{"messages": []}', "non-empty list"),
    ("scripted", '{"messages": ["hi"]}', "message 1 is not a message"),
    ("scripted", '{"messages": [{"role": "user", "parts": [{"type": "tool_call"}]}]}',
     "message 1 is not a message: KeyError"),
    ("scripted", '{"instructions": 3, "messages": [{"role": "user", "parts": []}]}',
     "instructions are text"),
    ("scripted", '{"messages": [{"role": "user", "parts": []}], "tools": [{"x": 1}]}',
     "each with a name"),
    ("scripted", '{"messages": [{"role": "user", "parts": []}], "settings": {"heat": 1}}',
     "settings:"),
    ("scripted", '{"messages": [{"role": "user", "parts": []}], '
                 '"settings": {"temperature": -1}}', "temperature must be 0 or more"),
])
def test_what_is_wrong_with_an_edited_request_is_said(model: str, text: str, said: str) -> None:
    answer = model_call(model, text)
    assert isinstance(answer, str)
    assert said in answer


# Messages JSON holding a lone surrogate is no JSON the reader takes (orjson refuses it): such a
# span's messages read as not recorded, tested with the semantics.
READABLE = sorted(name for name in CORPUS if "surrogate" not in name)


@pytest.mark.parametrize("name", READABLE)
def test_hostile_text_in_the_request_reaches_the_editor_escaped_and_comes_back_whole(
    name: str,
) -> None:
    text = CORPUS[name]
    span = make_span("chat", attributes={
        "gen_ai.operation.name": "chat", "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": text}]}])})
    point = playground_point(span, read_span(span))
    assert isinstance(point, PlaygroundPoint)
    shown = editor_json(point.request)
    assert "\x1b" not in shown and "\x9b" not in shown and "\u202e" not in shown
    call = model_call("scripted", shown)
    assert isinstance(call, ModelCall)
    assert call.messages[0].text == point.request["messages"][0]["parts"][0]["content"]
    if name == "clear_screen":
        assert call.messages[0].text == CLEAR_SCREEN


def test_several_models_get_the_same_request_and_too_many_are_refused() -> None:
    text = '{"messages": [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]}'
    calls = model_calls(" openai:gpt-4o-mini, scripted  anthropic:claude-sonnet-4-5 ", text)
    assert not isinstance(calls, str)
    assert [c.model for c in calls] == ["openai:gpt-4o-mini", "scripted",
                                        "anthropic:claude-sonnet-4-5"]
    assert len({c.messages for c in calls}) == 1
    too_many = model_calls(",".join(["scripted"] * 5), text)
    assert isinstance(too_many, str) and "4 at once at most" in too_many
    assert isinstance(model_calls(" , ", text), str)  # none typed: "Type the model"

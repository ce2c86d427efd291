"""Odd and hostile shapes: ``read_span`` never raises, bounds what it keeps, and lists what it
could not read in ``unread_keys``."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lumos_studio.otlp import read_records
from lumos_studio.records import LogRecord, SpanEvent, SpanRecord
from lumos_studio.semantics import OperationKind, SpanView, TextPart, read_span
from lumos_studio.semantics._draft import MAX_MESSAGES
from lumos_studio.semantics.reader import _read

TRACE = "0" * 31 + "1"

#: Every key some reader looks at (a sample of each family).
KEYS = [
    "gen_ai.operation.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.provider.name",
    "gen_ai.system",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
    "gen_ai.tool.name",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.conversation.id",
    "gen_ai.is_streaming",
    "gen_ai.response.finish_reasons",
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.prompt.0.role",
    "gen_ai.prompt.0.content",
    "gen_ai.completion.0.tool_calls.0.arguments",
    "gen_ai.usage.raw",
    "gen_ai.aggregated_usage.input_tokens",
    "pydantic_ai.all_messages",
    "events",
    "all_messages_events",
    "final_result",
    "tool_arguments",
    "tool_response",
    "operation.cost",
    "request_data",
    "response_data",
    "logfire.span_type",
    "logfire.msg_template",
    "openinference.span.kind",
    "llm.model_name",
    "llm.invocation_parameters",
    "llm.input_messages.0.message.role",
    "llm.input_messages.0.message.content",
    "llm.input_messages.0.message.contents.0.message_content.text",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
    "llm.tools.0.tool.json_schema",
    "llm.token_count.prompt",
    "llm.request.functions.0.name",
    "llm.request.type",
    "llm.is_streaming",
    "input.value",
    "input.mime_type",
    "output.value",
    "tool.name",
    "session.id",
    "traceloop.span.kind",
    "traceloop.entity.input",
    "ai.operationId",
    "ai.prompt",
    "ai.prompt.messages",
    "ai.prompt.tools",
    "ai.response.text",
    "ai.response.toolCalls",
    "ai.usage.inputTokens",
    "ai.model.provider",
    "ai.toolCall.args",
    "lumos.agent.steps",
    "lumos.tool.error",
]
ODD_VALUES: list[Any] = [
    None,
    True,
    -1,
    1e308,
    float("nan"),
    "",
    "x",
    "[",
    "{",
    "[1, 2, 3]",
    '{"a": [}',
    "null",
    '"str"',
    "[" * 5000 + "]" * 5000,
    [],
    [None, 1, "x", [], {}],
    {"role": 5},
    [{"role": 5, "parts": "zz"}, {"parts": [{"type": 5}, {"type": "tool_call", "arguments": []}]}],
    json.dumps([{"role": "user", "content": {"weird": True}}]),
    "\x00\x1b[31m",
]


def make_span(attributes: Any, events: Any = (), scope: str = "test") -> SpanRecord:
    return SpanRecord(
        TRACE,
        "00000000000000aa",
        "00000000000000bb",
        "s",
        1,
        2,
        attributes=attributes,
        events=events,
        scope_name=scope,
    )


@pytest.mark.parametrize("value", ODD_VALUES, ids=range(len(ODD_VALUES)))
def test_no_odd_value_raises(value: Any) -> None:
    for scope in ("test", "pydantic-ai", "logfire.openai", "lumos_core"):
        view = read_span(make_span(dict.fromkeys(KEYS, value), scope=scope))
        assert isinstance(view, SpanView)
    event = SpanEvent("gen_ai.choice", 1, {"gen_ai.event.content": value, "message": value})
    logs = [
        LogRecord(1, value, trace_id=TRACE, span_id="00000000000000aa", event_name=name)
        for name in ("gen_ai.choice", "gen_ai.user.message")
    ]
    assert isinstance(
        read_span(make_span({"gen_ai.operation.name": "chat"}, (event,)), logs), SpanView
    )


def test_unparseable_values_are_listed_as_unread() -> None:
    view = read_span(
        make_span(
            {
                "gen_ai.input.messages": "not json",
                "gen_ai.output.messages": 5,
                "gen_ai.usage.input_tokens": "many",
                "gen_ai.usage.output_tokens": 7,
                "gen_ai.tool.definitions": '{"a": [}',
                "llm.input_messages.99999999.message.role": "user",
                "ai.prompt.messages": 5,
                "lumos.made.up": 1,
                "http.method": "GET",  # not a convention this module reads: not listed
            }
        )
    )
    assert view.unread_keys == (
        "ai.prompt.messages",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.tool.definitions",
        "gen_ai.usage.input_tokens",
        "llm.input_messages.99999999.message.role",
        "lumos.made.up",
    )
    assert view.usage.output_tokens == 7 and view.usage.input_tokens is None


def test_huge_lists_are_bounded() -> None:
    messages = [{"role": "user", "parts": [{"type": "text", "content": "x"}]}] * 20_000
    view = read_span(make_span({"gen_ai.input.messages": json.dumps(messages)}))
    assert len(view.input_messages) == MAX_MESSAGES


def test_odd_containers_do_not_raise() -> None:
    attributes: Any = {1: 2, "gen_ai.operation.name": "chat", "input.value": "x"}
    events: Any = (None, SpanEvent("exception", 1, None))  # type: ignore[arg-type]
    span = SpanRecord(
        TRACE,
        "a",
        None,
        "s",
        1,
        None,
        attributes=attributes,
        events=events,
        scope_name="pydantic-ai",
    )
    view = read_span(span, [None, "x", LogRecord(1, None)])  # type: ignore[list-item]
    assert view.kind is OperationKind.LLM
    assert read_span(make_span(None)).kind is OperationKind.UNKNOWN


def test_token_counts_must_be_counts() -> None:
    for bad in (-3, True, 1.5, "12a", [1], float("inf")):
        view = read_span(make_span({"gen_ai.usage.input_tokens": bad}))
        assert view.usage.input_tokens is None
        assert view.unread_keys == ("gen_ai.usage.input_tokens",)
    assert read_span(make_span({"gen_ai.usage.input_tokens": "12"})).usage.input_tokens == 12


def test_hostile_text_is_kept_as_data() -> None:
    text = "[bold]x[/bold] \x1b[2J \u202e"
    view = read_span(make_span({"gen_ai.system_instructions": text}))
    assert view.system_instructions == (TextPart(text),)


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(9 if depth < 3 else 5)
    if choice == 0:
        return rng.choice([None, True, False])
    if choice == 1:
        return rng.choice([0, -1, 2**70, 3.5, float("inf")])
    if choice == 2:
        return rng.choice(["", "x", "{", "[{", "null", "\x00", "tool_call", "gen_ai.choice"])
    if choice == 3:
        return json.dumps(_random_value(rng, depth + 1))
    if choice == 4:
        return "x" * rng.randrange(100)
    if choice in (5, 6):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = [
        "role",
        "parts",
        "type",
        "content",
        "message",
        "tool_calls",
        "function",
        "arguments",
        "id",
        "name",
        "result",
        "response",
        "text",
        "input",
        "output",
        "value",
        "toolCallId",
    ]
    return {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def test_fixture_spans_with_values_swapped_for_random_ones_never_trip_a_reader() -> None:
    """Every attribute of real spans (one file per dialect) replaced in turn by random JSON-ish
    values, the message events' and records' bodies too: no reader raises (the readers are
    called without ``read_span``'s safety net, so a slip shows here)."""
    rng = random.Random(14)
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "dialects"
    for name in (
        "openinference-openai",
        "openllmetry-events",
        "openllmetry-flattened",
        "pydantic-ai-v1-attributes",
        "pydantic-ai-v6",
        "logfire",
        "azure-ai-inference",
        "vercel-ai-sdk",
    ):
        records = read_records(fixtures / f"{name}.jsonl")
        for span in records.spans[:6]:
            for key in span.attributes:
                for _ in range(3):
                    attributes = {**span.attributes, key: _random_value(rng)}
                    _read(replace(span, attributes=attributes), records.logs)
            for index, event in enumerate(span.events[:5]):
                odd = SpanEvent(
                    event.name,
                    event.time_ns,
                    {
                        "gen_ai.event.content": _random_value(rng),
                        "message": _random_value(rng),
                        "content": _random_value(rng),
                        "tool_calls": _random_value(rng),
                    },
                )
                events = (*span.events[:index], odd, *span.events[index + 1 :])
                _read(replace(span, events=events), records.logs)
        for log in records.logs[:8]:
            odd_log = replace(log, body=_random_value(rng))
            for span in records.spans:
                _read(span, [odd_log])


def test_the_safety_net_lists_every_convention_key_when_a_reader_slips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import lumos_studio.semantics.reader as reader

    def slip(*_: Any) -> None:
        raise RuntimeError("a reader bug")

    monkeypatch.setattr(reader, "read_genai", slip)
    view = read_span(make_span({"gen_ai.operation.name": "chat", "http.method": "GET"}))
    assert view.unread_keys == ("gen_ai.operation.name",)

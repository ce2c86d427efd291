"""Issue #14's table, all Y, over every captured dialect fixture, read through ``read_span``.

Each file holds one weather-agent turn run plainly and one streamed (tests/fixtures/dialects/
README.md). For every trace: the model-call spans give a model, usage, the user's question, the
final answer, the ``get_weather`` call with its arguments as a dict, and the tool's result; where
the dialect has tool spans, the tool span gives the call; and no attribute of a convention
namespace is left unread.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from lumos_studio.otlp import read_records
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.semantics import (
    Dialect,
    Document,
    ErrorInfo,
    Message,
    OperationKind,
    SpanView,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    message_text,
    read_span,
    read_trace,
    transcript_text,
    value_text,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dialects"
FILES = sorted(path.name for path in FIXTURES.glob("*.jsonl"))

QUESTION = "What's the weather like in Paris today?"
ANSWER = "It is 18 °C and partly cloudy in Paris right now."
SYSTEM = "You are a weather assistant. Use the get_weather tool, then answer in one sentence."

#: The dialect each file's model-call spans must be read as.
DIALECT = {
    "azure-ai-inference.jsonl": Dialect.GENAI_EVENTS,
    "logfire.jsonl": Dialect.LOGFIRE,
    "openinference-openai.jsonl": Dialect.OPENINFERENCE,
    "openinference-pydantic-ai.jsonl": Dialect.OPENINFERENCE,
    "openllmetry-attributes.jsonl": Dialect.GENAI,
    "openllmetry-events.jsonl": Dialect.GENAI_EVENTS,
    "openllmetry-flattened.jsonl": Dialect.GENAI_EVENTS,
    "otel-genai-openai-v2-latest.jsonl": Dialect.GENAI,
    "otel-genai-openai-v2.jsonl": Dialect.GENAI_EVENTS,
    "pydantic-ai-v1-attributes.jsonl": Dialect.PYDANTIC_AI,
    "pydantic-ai-v1-logs.jsonl": Dialect.PYDANTIC_AI,
    "pydantic-ai-v2.jsonl": Dialect.PYDANTIC_AI,
    "pydantic-ai-v5.jsonl": Dialect.PYDANTIC_AI,
    "pydantic-ai-v6.jsonl": Dialect.PYDANTIC_AI,
    "vercel-ai-sdk.jsonl": Dialect.VERCEL_AI,
}
#: Files whose dialect records the tool run as a span with its arguments and result.
TOOL_SPANS = {
    "openinference-openai.jsonl",
    "openinference-pydantic-ai.jsonl",
    "pydantic-ai-v1-attributes.jsonl",
    "pydantic-ai-v1-logs.jsonl",
    "pydantic-ai-v2.jsonl",
    "pydantic-ai-v5.jsonl",
    "pydantic-ai-v6.jsonl",
    "vercel-ai-sdk.jsonl",
}
#: Azure's client does not ask for usage on streamed calls, so that trace has none to give.
NO_USAGE_ROOTS = {("azure-ai-inference.jsonl", "weather agent turn (streamed)")}


def _traces(name: str) -> list[tuple[SpanRecord, list[tuple[SpanRecord, SpanView]]]]:
    records = read_records(FIXTURES / name)
    logs_by_trace: dict[str, list[LogRecord]] = defaultdict(list)
    for log in records.logs:
        logs_by_trace[log.trace_id or ""].append(log)
    by_trace: dict[str, list[SpanRecord]] = defaultdict(list)
    for span in records.spans:
        by_trace[span.trace_id].append(span)
    out = []
    for trace_id, spans in by_trace.items():
        root = next(span for span in spans if span.parent_span_id is None)
        logs = logs_by_trace[trace_id]
        out.append((root, [(span, read_span(span, logs)) for span in spans]))
    return out


def _llm_views(views: list[tuple[SpanRecord, SpanView]]) -> list[SpanView]:
    return [view for _, view in views if view.kind is OperationKind.LLM]


def _parts(views: list[SpanView], where: str) -> list[object]:
    return [part for view in views for message in getattr(view, where) for part in message.parts]


def test_every_fixture_file_is_covered() -> None:
    assert set(FILES) == set(DIALECT)


@pytest.mark.parametrize("name", FILES)
def test_model_calls_give_the_whole_turn(name: str) -> None:
    traces = _traces(name)
    assert len(traces) == 2
    for root, views in traces:
        llm = _llm_views(views)
        assert len(llm) >= 2, f"{name} {root.name}: model calls {len(llm)}"
        # model
        assert all(view.model for view in llm)
        assert all(view.model.startswith("gpt-4o-mini") for view in llm)
        assert all(DIALECT[name] in view.dialects for view in llm), [v.dialects for v in llm]
        # tokens
        if (name, root.name) not in NO_USAGE_ROOTS:
            assert sum(view.usage.input_tokens or 0 for view in llm) >= 218
            assert sum(view.usage.output_tokens or 0 for view in llm) >= 31
        # messages: the question in, the answer out, the instructions somewhere
        inputs = [message_text(m) for view in llm for m in view.input_messages]
        outputs = [message_text(m) for view in llm for m in view.output_messages]
        assert QUESTION in inputs
        assert ANSWER in outputs
        systems = [p.text for v in llm for p in v.system_instructions if isinstance(p, TextPart)]
        systems += [message_text(m) for v in llm for m in v.input_messages if m.role == "system"]
        assert SYSTEM in systems
        # the tool call, arguments a dict (never a JSON string), and the tool's result
        calls = [
            part
            for part in _parts(llm, "output_messages") + _parts(llm, "input_messages")
            if isinstance(part, ToolCallPart)
        ]
        assert calls, f"{name} {root.name}: no tool call"
        assert {(c.name, c.id) for c in calls} == {("get_weather", "call_Xq3vWeatherParis01")}
        assert all(c.arguments == {"city": "Paris"} for c in calls)
        results = [p for p in _parts(llm, "input_messages") if isinstance(p, ToolResultPart)]
        assert results, f"{name} {root.name}: no tool result"
        assert all("partly cloudy" in value_text(r.result) for r in results)
        assert {r.id for r in results} <= {"call_Xq3vWeatherParis01", ""}


@pytest.mark.parametrize("name", sorted(TOOL_SPANS))
def test_tool_spans_give_the_call(name: str) -> None:
    for root, views in _traces(name):
        tools = [view for _, view in views if view.kind is OperationKind.TOOL]
        assert len(tools) == 1, f"{name} {root.name}"
        call = tools[0].tool_call
        assert call is not None
        assert call.name == "get_weather"
        assert call.arguments == {"city": "Paris"}
        assert "partly cloudy" in value_text(call.result)
        arguments, _, result = transcript_text(tools[0]).partition("\n\n## result\n")
        assert arguments == '## get_weather arguments\n{\n  "city": "Paris"\n}'
        assert "partly cloudy" in result


@pytest.mark.parametrize("name", FILES)
def test_every_convention_key_is_understood(name: str) -> None:
    for _, views in _traces(name):
        for span, view in views:
            assert view.unread_keys == (), f"{name} {span.name}: {view.unread_keys}"


def test_openinference_spans_read_as_a_conversation() -> None:
    """The issue's worst row: OpenInference gave no messages, tools, tokens or model at all."""
    (_, views), _ = _traces("openinference-openai.jsonl")
    first, second = _llm_views(views)
    assert (first.request_model, first.response_model) == ("gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert first.provider == "openai"
    usage = first.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total) == (100, 17, 117)
    assert [m.role for m in second.input_messages] == ["system", "user", "assistant", "tool"]
    assert [t.name for t in first.tool_definitions] == ["get_weather"]
    assert first.finish_reasons == ("tool_calls",)
    agent = next(view for _, view in views if view.kind is OperationKind.AGENT)
    assert message_text(agent.output_messages[0]) == ANSWER


def test_pydantic_ai_tool_results_and_arguments_are_values() -> None:
    """pydantic-ai's ``result`` (not ``response``) is read; its JSON-string arguments decoded."""
    (_, views), _ = _traces("pydantic-ai-v6.jsonl")
    llm = _llm_views(views)
    tool_message = llm[1].input_messages[-1]
    assert tool_message.role == "tool"
    (result,) = tool_message.parts
    assert isinstance(result, ToolResultPart)
    assert result.name == "get_weather"
    assert result.result == '{"city": "Paris", "temperature_c": 18, "conditions": "partly cloudy"}'
    assert llm[0].system_instructions == (TextPart(SYSTEM),)
    assert llm[0].cost == pytest.approx(2.52e-05)
    agent = next(view for _, view in views if view.kind is OperationKind.AGENT)
    assert agent.agent_name == "weather_agent"
    assert (agent.usage.input_tokens, agent.usage.output_tokens) == (218, 31)
    assert agent.conversation_id


def test_openllmetry_event_form_streamed_choice_on_the_parent_goes_to_the_model_call() -> None:
    _, (root, views) = _traces("openllmetry-events.jsonl")
    assert root.name == "weather agent turn (streamed)"
    by_id = {span.span_id: view for span, view in views}
    assert by_id[root.span_id].output_messages == ()  # the choices are not the parent's
    first, second = _llm_views(views)
    assert first.streaming is True
    (call,) = first.output_messages[0].parts
    assert isinstance(call, ToolCallPart) and call.arguments == {"city": "Paris"}
    assert message_text(second.output_messages[0]) == ANSWER
    assert second.finish_reasons == ("stop",)


def test_logfire_streamed_output_sits_on_the_streaming_sibling() -> None:
    _, (_, views) = _traces("logfire.jsonl")
    streamed = [view for span, view in views if span.name.startswith("streaming response")]
    assert len(streamed) == 2 and all(v.streaming is True for v in streamed)
    assert streamed[0].usage.cache_read_tokens == 0  # from gen_ai.usage.raw
    assert streamed[0].finish_reasons == ("tool_calls",)  # a JSON string in Logfire


def test_vercel_outer_call_reads_as_an_agent_with_its_prompt() -> None:
    (_, views), _ = _traces("vercel-ai-sdk.jsonl")
    agent = next(view for _, view in views if view.kind is OperationKind.AGENT)
    assert agent.system_instructions == (TextPart(SYSTEM),)
    assert message_text(agent.input_messages[0]) == QUESTION
    assert agent.agent_name == "weather-agent"
    assert agent.provider == "openai"
    assert agent.streaming is False


@pytest.mark.parametrize("name", FILES)
def test_read_trace_gives_what_read_span_with_every_log_gives(name: str) -> None:
    records = read_records(FIXTURES / name)
    views = read_trace(records.spans, records.logs)
    assert views == {span.span_id: read_span(span, records.logs) for span in records.spans}


@pytest.mark.parametrize("name", FILES)
def test_a_model_calls_transcript_reads_as_the_conversation_in_any_dialect(name: str) -> None:
    """What ``y`` copies from the span detail: each message under its role, in order."""
    for root, views in _traces(name):
        transcripts = [transcript_text(view) for view in _llm_views(views)]
        assert any(
            f"## user\n{QUESTION}" in text and '→ get_weather({"city":"Paris"})' in text
            and text.index(QUESTION) < text.index("→ get_weather")
            for text in transcripts
        ), f"{name} {root.name}: {transcripts}"
        assert any(f"## assistant\n{ANSWER}" in text for text in transcripts)
        assert any(SYSTEM in text.partition("## user")[0] for text in transcripts)


def test_a_transcript_names_a_search_a_failure_and_who_spoke() -> None:
    view = SpanView(
        input_messages=(Message("tool", (TextPart("18 °C"),), name="get_weather"),),
        query="paris weather",
        documents=(Document("doc-1", "Paris is mild in May.", 0.82), Document(content="x")),
        error=ErrorInfo(type="TimeoutError", message="no answer in 30 s", stacktrace="at line 3"),
    )
    assert transcript_text(view) == (
        "## tool (get_weather)\n18 °C\n\n## query\nparis weather\n\n"
        "## document 1 (doc-1 score 0.82)\nParis is mild in May.\n\n## document 2\nx\n\n"
        "## error\nTimeoutError: no answer in 30 s\nat line 3"
    )
    assert transcript_text(SpanView()) == ""

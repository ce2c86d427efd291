"""Our own spans: a real lumos_core Agent run with the scripted model, read back through
``read_span`` (current GenAI attributes plus ``lumos.*``)."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, ScriptedModel, tool
from lumos_studio.ingest.convert import span_to_record
from lumos_studio.semantics import (
    Dialect,
    OperationKind,
    SpanView,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    message_text,
    read_span,
)


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


async def test_a_lumos_agent_run_reads_as_one_conversation(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent = Agent("weather", "Answer about weather.", "scripted", [get_weather])
    result = await agent.run("what's the weather in Paris?", tracer_provider=tracer_provider)
    views: dict[str, list[SpanView]] = {span.name: [] for span in exporter.get_finished_spans()}
    for span in exporter.get_finished_spans():
        views[span.name].append(read_span(span_to_record(span)))

    (root,) = views["invoke_agent weather"]
    assert root.kind is OperationKind.AGENT and root.agent_name == "weather"
    assert root.usage.input_tokens == result.usage.input_tokens > 0
    first, second = views["chat scripted"]
    for chat in (first, second):
        assert chat.kind is OperationKind.LLM
        assert chat.model == "scripted"
        assert Dialect.LUMOS in chat.dialects and Dialect.GENAI in chat.dialects
        assert chat.system_instructions == (TextPart("Answer about weather."),)
        assert (chat.usage.input_tokens or 0) + (chat.usage.output_tokens or 0) > 0
        assert chat.unread_keys == ()
    assert message_text(first.input_messages[0]) == "what's the weather in Paris?"
    (call,) = first.output_messages[0].parts
    assert isinstance(call, ToolCallPart)
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
    results = [p for m in second.input_messages for p in m.parts if isinstance(p, ToolResultPart)]
    assert [(r.id, r.result) for r in results] == [(call.id, "Sunny in Paris")]
    assert message_text(second.output_messages[0]) == "Sunny in Paris"
    (tool_view,) = views["execute_tool get_weather"]
    assert tool_view.kind is OperationKind.TOOL and tool_view.tool_call is not None
    assert tool_view.tool_call.arguments == {"city": "Paris"}
    assert tool_view.tool_call.result == "Sunny in Paris"
    assert all(v.unread_keys == () for group in views.values() for v in group)


async def test_a_failing_tool_span_gives_its_error(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    model = ScriptedModel(
        [
            ScriptedModel.call("get_weather", "c1", town="Paris"),
            "sorry",
        ]
    )
    await Agent("weather", model=model, tools=[get_weather]).run(
        "weather?", tracer_provider=tracer_provider
    )
    (tool_span,) = [s for s in exporter.get_finished_spans() if s.name.startswith("execute_tool")]
    view = read_span(span_to_record(tool_span))
    assert view.error is not None
    assert view.error.type == "ValidationError"

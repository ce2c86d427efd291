"""Agents in agents: a sub-agent as a tool, and hand-off to another agent, with nested spans."""

from __future__ import annotations

import json

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, RunCompleted, ScriptedModel, TextDelta, tool
from lumos_core.telemetry import semconv as sc


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


@tool
def get_invoice(order: str) -> str:
    """The invoice of an order."""
    return f"invoice {order}: 12 EUR"


def one(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = [s for s in exporter.get_finished_spans() if s.name == name]
    assert len(found) == 1, [s.name for s in exporter.get_finished_spans()]
    return found[0]


def chat_usage(exporter: InMemorySpanExporter) -> tuple[int, int]:
    chats = [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]
    return (sum(s.attributes[sc.USAGE_INPUT_TOKENS] for s in chats),
            sum(s.attributes[sc.USAGE_OUTPUT_TOKENS] for s in chats))


def weather_agent(**options: str) -> Agent:
    return Agent("weather", "Answer weather questions.\nUse get_weather.", "scripted",
                 [get_weather], **options)


def test_an_agent_in_tools_is_a_tool_with_one_input_and_its_first_instruction_line() -> None:
    supervisor = Agent("supervisor", "Delegate.", "scripted", [weather_agent()])
    assert supervisor.tools["weather"].definition() == {
        "type": "function",
        "name": "weather",
        "description": "Answer weather questions.",
        "parameters": {
            "type": "object",
            "properties": {"input": {"type": "string"}},
            "required": ["input"],
            "additionalProperties": False,
        },
    }
    described = Agent("s", "Delegate.", "scripted", [weather_agent(description="Weather expert.")])
    assert described.tools["weather"].description == "Weather expert."


async def test_a_sub_agent_runs_under_the_tool_span_and_its_usage_rolls_up(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    supervisor = Agent("supervisor", "Delegate weather questions.", ScriptedModel([
        ScriptedModel.call("weather", "c1", input="what's the weather in Paris?"),
        "The weather agent says it is sunny in Paris.",
    ]), [weather_agent()])

    result = await supervisor.run("Paris weather please", tracer_provider=tracer_provider)

    assert result.output == "The weather agent says it is sunny in Paris."
    assert result.agent == "supervisor"
    assert result.messages[2].parts[0].result == "Sunny in Paris"  # the sub-agent's answer
    root = one(exporter, "invoke_agent supervisor")
    tool_span = one(exporter, "execute_tool weather")
    sub = one(exporter, "invoke_agent weather")
    assert tool_span.parent.span_id == root.context.span_id
    assert sub.parent.span_id == tool_span.context.span_id
    assert one(exporter, "execute_tool get_weather").parent.span_id == sub.context.span_id
    assert json.loads(sub.attributes[sc.INPUT_MESSAGES])[-1]["parts"][0]["content"] == (
        "what's the weather in Paris?"
    )
    # Four chat calls in all: two of the supervisor, two of the weather agent.
    assert (result.usage.input_tokens, result.usage.output_tokens) == chat_usage(exporter)
    assert result.usage.input_tokens > sub.attributes[sc.USAGE_INPUT_TOKENS] > 0
    assert root.attributes[sc.USAGE_INPUT_TOKENS] == result.usage.input_tokens
    assert root.attributes[sc.USAGE_OUTPUT_TOKENS] == result.usage.output_tokens


async def test_a_hand_off_gives_the_rest_of_the_run_to_the_other_agent(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    billing = Agent("billing", "You handle billing.", ScriptedModel([
        ScriptedModel.call("get_invoice", "c2", order="A1"), "Invoice A1 is 12 EUR.",
    ]), [get_invoice])
    # One scripted reply only: a second call to triage's model would fail the run.
    triage = Agent("triage", "Route the user.",
                   ScriptedModel([ScriptedModel.call("transfer_to_billing", "c1")]),
                   handoffs=[billing])
    assert "transfer_to_billing" in triage.tools
    assert "get_invoice" not in triage.tools

    result = await triage.run("where is my invoice for A1?", tracer_provider=tracer_provider)

    assert result.output == "Invoice A1 is 12 EUR."
    assert result.agent == "billing"
    assert [m.role for m in result.messages] == [
        "user", "assistant", "tool", "assistant", "tool", "assistant",
    ]
    assert result.messages[2].parts[0].result == "Transferred to billing."
    assert result.messages[4].parts[0].result == "invoice A1: 12 EUR"
    assert result.steps == 3
    root = one(exporter, "invoke_agent triage")
    other = one(exporter, "invoke_agent billing")
    assert root.parent is None
    assert other.parent.span_id == root.context.span_id
    assert one(exporter, "execute_tool transfer_to_billing").parent.span_id == (
        root.context.span_id
    )
    assert root.attributes["lumos.agent.handed_off_to"] == "billing"
    billing_chats = [s for s in exporter.get_finished_spans()
                     if s.name.startswith("chat ") and s.parent.span_id == other.context.span_id]
    assert len(billing_chats) == 2
    assert "You handle billing." in billing_chats[0].attributes[sc.SYSTEM_INSTRUCTIONS]
    assert (result.usage.input_tokens, result.usage.output_tokens) == chat_usage(exporter)
    assert root.attributes[sc.USAGE_INPUT_TOKENS] == result.usage.input_tokens
    assert json.loads(root.attributes[sc.OUTPUT_MESSAGES])[0]["parts"][0]["content"] == (
        "Invoice A1 is 12 EUR."
    )


async def test_a_streamed_run_streams_the_agent_it_was_handed_to() -> None:
    billing = Agent("billing", "You handle billing.", ScriptedModel(["Invoice sent."]))
    triage = Agent("triage", "Route the user.",
                   ScriptedModel([ScriptedModel.call("transfer_to_billing", "c1")]),
                   handoffs=[billing])

    events = [event async for event in triage.stream("invoice?")]

    text = "".join(e.content for e in events if isinstance(e, TextDelta))
    assert text == "Invoice sent."
    assert isinstance(events[-1], RunCompleted)
    assert events[-1].result.agent == "billing"
    assert events[-1].result.output == "Invoice sent."

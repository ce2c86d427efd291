"""Forking an agent's run from a model call: the messages that call was sent (edited or not) are
sent again and the loop goes on; the new run's span links to the call it re-runs; memory is left
alone; with nothing edited a scripted run comes out the same."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, ScriptedModel, tool
from lumos_core.agent_fork import AgentFork
from lumos_core.memory import Memory
from lumos_core.messages import Message, ToolResultPart, message_from_dict
from lumos_core.telemetry import semconv as sc


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


def script() -> list:  # type: ignore[type-arg]
    return [ScriptedModel.call("get_weather", "c1", city="Rome"), "Rome is sunny."]


async def test_a_fork_from_the_second_model_call_with_an_edited_result(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent = Agent("weather", model=ScriptedModel(script()), tools=[get_weather])
    await agent.run("weather in Rome?", tracer_provider=tracer_provider)
    second_chat = [s for s in exporter.get_finished_spans() if s.name == "chat scripted"][1]
    sent = [message_from_dict(m) for m in json.loads(second_chat.attributes[sc.INPUT_MESSAGES])]
    assert [m.role for m in sent] == ["user", "assistant", "tool"]
    exporter.clear()

    edited = [*sent[:-1], Message("tool", (ToolResultPart("c1", "get_weather", "Hail in Rome"),))]
    origin = second_chat.context
    fork = AgentFork(tuple(edited), format(origin.trace_id, "032x"), format(origin.span_id, "016x"))
    seen: list[list[Message]] = []

    def answer(messages: object, _tools: object) -> str:
        seen.append(list(messages))  # type: ignore[call-overload]
        return "Take an umbrella."

    forked = Agent("weather", model=ScriptedModel(answer), tools=[get_weather])
    result = await forked.run("", fork=fork, tracer_provider=tracer_provider)

    assert result.output == "Take an umbrella."
    assert [m.role for m in seen[0]] == ["user", "assistant", "tool"]
    assert seen[0][-1].parts[0].result == "Hail in Rome"  # type: ignore[union-attr]
    root = next(s for s in exporter.get_finished_spans() if s.name == "invoke_agent weather")
    assert root.attributes[sc.LUMOS_AGENT_FORK_OF] == format(origin.span_id, "016x")
    assert [(link.context.trace_id, link.context.span_id) for link in root.links] == [
        (origin.trace_id, origin.span_id)]
    assert result.steps == 1  # no tool ran again: the model answered the results it was given


async def test_a_fork_with_nothing_edited_comes_out_the_same() -> None:
    first = await Agent("w", model=ScriptedModel(script()), tools=[get_weather]).run("Rome?")
    again = await Agent("w", model=ScriptedModel(script()), tools=[get_weather]).run(
        "", fork=AgentFork(first.messages[:1]))
    assert again.messages == first.messages and again.output == first.output


async def test_a_fork_leaves_the_agents_memory_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    memory = Memory(tmp_path / "memory.db")
    agent = Agent("w", model=ScriptedModel(["first", "forked"]), memory=memory)
    run = await agent.run("hello", thread_id="t1")
    await agent.run("", thread_id="t1", fork=AgentFork(run.messages[:1]))
    assert [m.message.text for m in memory.messages("t1")] == ["hello", "first"]


def test_a_fork_must_end_where_the_model_answers_next() -> None:
    with pytest.raises(ValueError, match="not with a 'assistant' message"):
        AgentFork((Message.user("hi"), Message.assistant("hello")))
    with pytest.raises(ValueError, match="at least one message"):
        AgentFork(())

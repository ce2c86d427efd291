from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lumos_core import Agent, ScriptedModel, StepLimitExceeded, tool
from lumos_core.telemetry import semconv as sc


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


def spans_by_name(exporter: InMemorySpanExporter) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for span in exporter.get_finished_spans():
        grouped.setdefault(span.name, []).append(span)
    return grouped


async def test_default_scripted_model_calls_the_matching_tool_and_answers(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent = Agent("weather", "Answer about weather.", "scripted", [get_weather])
    result = await agent.run("what's the weather in Paris?", tracer_provider=tracer_provider)

    assert result.output == "Sunny in Paris"
    assert result.steps == 2
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == [
        "chat scripted", "execute_tool get_weather", "chat scripted", "invoke_agent weather",
    ]
    root = spans[-1]
    assert root.parent is None
    assert all(s.parent.span_id == root.context.span_id for s in spans[:-1])
    assert root.attributes[sc.AGENT_NAME] == "weather"
    assert root.attributes[sc.USAGE_INPUT_TOKENS] == result.usage.input_tokens > 0
    tool_span = spans[1]
    assert json.loads(tool_span.attributes[sc.TOOL_CALL_ARGUMENTS]) == {"city": "Paris"}
    assert tool_span.attributes[sc.TOOL_CALL_RESULT] == "Sunny in Paris"
    first_chat = json.loads(spans[0].attributes[sc.OUTPUT_MESSAGES])
    assert first_chat[0]["parts"][0]["type"] == "tool_call"
    assert result.trace_id == format(root.context.trace_id, "032x")


async def test_bad_tool_argument_goes_back_to_the_model_which_retries(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    model = ScriptedModel([
        ScriptedModel.call("get_weather", "c1", town="Paris"),
        ScriptedModel.call("get_weather", "c2", city="Paris"),
        "It is sunny in Paris.",
    ])
    agent = Agent("weather", model=model, tools=[get_weather])
    result = await agent.run("weather?", tracer_provider=tracer_provider)

    assert result.output == "It is sunny in Paris."
    first_result = result.messages[2].parts[0]
    assert first_result.is_error
    assert "city: Field required" in first_result.result
    tools = spans_by_name(exporter)["execute_tool get_weather"]
    assert tools[0].status.status_code is StatusCode.ERROR
    assert tools[0].attributes[sc.ERROR_TYPE] == "ValidationError"
    assert tools[1].status.status_code is StatusCode.UNSET
    root = spans_by_name(exporter)["invoke_agent weather"][0]
    assert root.status.status_code is StatusCode.UNSET


async def test_unknown_tool_is_reported_to_the_model() -> None:
    model = ScriptedModel([ScriptedModel.call("teleport", "c1"), "sorry"])
    result = await Agent("a", model=model, tools=[get_weather]).run("go")
    message = result.messages[2].parts[0]
    assert message.is_error and "Available tools: get_weather" in message.result


async def test_step_limit_stops_a_model_that_never_stops_calling_tools(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    model = ScriptedModel(lambda messages, tools: ScriptedModel.call("get_weather", city="x"))
    agent = Agent("loop", model=model, tools=[get_weather], max_steps=3)
    with pytest.raises(StepLimitExceeded, match="after 3 model calls"):
        await agent.run("go", tracer_provider=tracer_provider)
    root = spans_by_name(exporter)["invoke_agent loop"][0]
    assert root.status.status_code is StatusCode.ERROR
    assert len(spans_by_name(exporter)["chat scripted"]) == 3


async def test_exception_in_a_tool_fails_the_run_and_marks_the_spans(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    @tool
    def broken(city: str) -> str:
        """Broken weather."""
        raise RuntimeError("backend down")

    agent = Agent("w", model="scripted", tools=[broken])
    with pytest.raises(RuntimeError, match="backend down"):
        await agent.run("broken weather in Rome")
    with pytest.raises(RuntimeError):
        await agent.run("broken weather in Rome", tracer_provider=tracer_provider)
    spans = spans_by_name(exporter)
    tool_span = spans["execute_tool broken"][0]
    assert tool_span.status.status_code is StatusCode.ERROR
    assert tool_span.events[0].name == "exception"
    assert spans["invoke_agent w"][0].status.status_code is StatusCode.ERROR


def test_message_history_continues_a_conversation() -> None:
    agent = Agent("echo", model="scripted")
    first = agent.run_sync("hello")
    second = agent.run_sync("again", message_history=first.messages)
    assert [m.text for m in second.messages] == ["hello", "You said: hello", "again",
                                                 "You said: again"]
    assert len(second.new_messages) == 2


def test_agent_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError, match="non-empty name"):
        Agent(" ")
    with pytest.raises(ValueError, match="unknown model"):
        Agent("a", model="gpt-4")


def test_a_runs_message_json_is_the_same_string_each_message_encoded_once() -> None:
    from lumos_core.messages import (
        Message,
        MessagesJson,
        ToolCallPart,
        ToolResultPart,
        messages_json,
    )

    user = Message.user("Weather in Paris? «é» \u2028")
    call = Message("assistant", (ToolCallPart("c1", "get_weather", {"city": "Paris"}),),
                   finish_reason="tool_calls")
    result = Message("tool", (ToolResultPart("c1", "get_weather", "Sunny", False),))
    as_json = MessagesJson()
    for messages in ([user], [user, call], [user, call, result], [result], [], [user, user]):
        assert as_json(messages) == messages_json(messages)
    # An equal but distinct message is encoded as itself, not taken for the one seen before.
    other = Message.user("Weather in Paris? «é» \u2028")
    assert as_json([other]) == messages_json([other])


def test_what_an_agent_is_given_between_runs_reaches_the_next_runs_spans(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A run's request and span attributes are reused from the run before while nothing they are
    made of changed; a change to any of them shows in the next run."""
    from lumos_core import ModelSettings

    agent = Agent(name="weather", instructions="Be brief.", model="scripted")
    agent.run_sync("hello", tracer_provider=tracer_provider)
    agent.instructions = "Be kind."
    agent.settings = ModelSettings(temperature=0.3)
    agent.description = "Says hello."
    agent.model.model_name = "scripted-2"
    agent.run_sync("hello", tracer_provider=tracer_provider)

    first, second = (
        [s for s in exporter.get_finished_spans() if s.name.startswith("chat")][i] for i in (0, 1)
    )
    assert "Be brief." in str(first.attributes[sc.SYSTEM_INSTRUCTIONS])
    assert sc.REQUEST_TEMPERATURE not in (first.attributes or {})
    assert "Be kind." in str(second.attributes[sc.SYSTEM_INSTRUCTIONS])
    assert second.attributes[sc.REQUEST_TEMPERATURE] == 0.3
    assert second.name == "chat scripted-2"
    assert second.attributes[sc.REQUEST_MODEL] == "scripted-2"
    invoke = [s for s in exporter.get_finished_spans() if s.name.startswith("invoke_agent")][-1]
    assert invoke.attributes[sc.AGENT_DESCRIPTION] == "Says hello."


def test_the_same_messages_asked_again_give_the_same_string_object() -> None:
    """A run's input messages are its first call's, its output its last call's: encoded once."""
    from lumos_core.messages import Message, MessagesJson, messages_json

    user, answer = Message.user("hi"), Message.assistant("hello")
    as_json = MessagesJson()
    first = as_json([user])
    assert as_json((user,)) is first
    conversation = [user, answer]
    both = as_json(conversation)
    assert both == messages_json(conversation)
    assert as_json([user]) == first  # not the last call's any more: made again, equal
    assert as_json([Message.user("hi")]) == first
    assert as_json([answer, user]) == messages_json([answer, user])

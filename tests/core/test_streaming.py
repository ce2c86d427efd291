"""Streaming: models yield pieces ending with the whole reply; Agent.stream yields a run's events
and emits the same spans as Agent.run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lumos_core import (
    Agent,
    Memory,
    ModelError,
    ResponseCompleted,
    RunCompleted,
    ScriptedModel,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    tool,
)
from lumos_core.agent import AgentStreamEvent
from lumos_core.messages import Message, ModelResponse, ToolCallPart, Usage
from lumos_core.models import Model, ModelStreamEvent
from lumos_core.models.openai import OpenAIChatModel
from lumos_core.telemetry import semconv as sc
from tests.core.provider_server import ProviderServer, running_server, sse

STREAM_ONLY = {sc.REQUEST_STREAM, sc.RESPONSE_TIME_TO_FIRST_CHUNK}


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny and 21 degrees in {city} with a light breeze"


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with running_server() as state:
        yield state


def weather_agent(model: Model | None = None) -> Agent:
    return Agent("weather", "Answer about weather.", model or ScriptedModel(), [get_weather])


async def collect(agent: Agent, message: str, **options: Any) -> list[AgentStreamEvent]:
    return [event async for event in agent.stream(message, **options)]


def span_shape(spans: Sequence[ReadableSpan]) -> list[tuple[Any, ...]]:
    """What a span says, minus ids, times and the two attributes only streamed calls carry."""
    names = {s.context.span_id: s.name for s in spans}
    return [
        (
            s.name,
            s.kind,
            names.get(s.parent.span_id) if s.parent else None,
            s.status.status_code,
            {k: v for k, v in (s.attributes or {}).items() if k not in STREAM_ONLY},
        )
        for s in spans
    ]


def provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracer_provider, exporter


async def test_scripted_model_streams_word_by_word() -> None:
    text = "  It is sunny\nin Paris,  mostly. "
    model = ScriptedModel([text])

    events = [e async for e in model.stream(None, [Message.user("hi")], [])]

    deltas = [e.content for e in events if isinstance(e, TextDelta)]
    assert deltas == ["  ", "It ", "is ", "sunny\n", "in ", "Paris,  ", "mostly. "]
    assert "".join(deltas) == text
    assert isinstance(events[-1], ResponseCompleted)
    assert events[-1].response.message.text == text


async def test_streaming_uses_a_subclass_request() -> None:
    class Fixed(ScriptedModel):
        async def request(
            self, instructions: str | None, messages: Sequence[Message],
            tools: Sequence[dict[str, Any]],
        ) -> ModelResponse:
            return ModelResponse(Message.assistant("from the subclass"), Usage(2, 3))

    events = [e async for e in Fixed().stream(None, [Message.user("hi")], [])]

    assert [e.content for e in events if isinstance(e, TextDelta)] == ["from ", "the ", "subclass"]
    assert events[-1] == ResponseCompleted(
        ModelResponse(Message.assistant("from the subclass"), Usage(2, 3))
    )


async def test_a_model_without_stream_streams_its_reply_in_one_piece() -> None:
    reply = Message(
        "assistant",
        (ToolCallPart("c1", "get_weather", {"city": "Oslo"}),),
        finish_reason="tool_calls",
    )

    class RequestOnly(Model):
        async def request(
            self, instructions: str | None, messages: Sequence[Message],
            tools: Sequence[dict[str, Any]],
        ) -> ModelResponse:
            return ModelResponse(reply)

    events = [e async for e in RequestOnly("m").stream(None, [Message.user("hi")], [])]

    assert len(events) == 2
    call, done = events
    assert isinstance(call, ToolCallDelta)
    assert (call.index, call.id, call.name) == (0, "c1", "get_weather")
    assert json.loads(call.arguments) == {"city": "Oslo"}
    assert done == ResponseCompleted(ModelResponse(reply))


async def test_agent_stream_yields_the_run_as_it_happens() -> None:
    agent = weather_agent()

    events = await collect(agent, "what's the weather in Paris?")

    kinds = [type(e).__name__ for e in events]
    first_answer = kinds.index("TextDelta")
    assert kinds[:first_answer] == [
        "ToolCallDelta", "ResponseCompleted", "ToolCallStarted", "ToolCallFinished",
    ]
    assert kinds[-2:] == ["ResponseCompleted", "RunCompleted"]
    assert set(kinds[first_answer:-2]) == {"TextDelta"}
    started, finished = events[2], events[3]
    assert isinstance(started, ToolCallStarted) and isinstance(finished, ToolCallFinished)
    assert started.call.arguments == {"city": "Paris"}
    assert finished.result.id == started.call.id
    assert finished.result.result == "Sunny and 21 degrees in Paris with a light breeze"
    result = events[-1].result  # type: ignore[union-attr]
    text = "".join(e.content for e in events if isinstance(e, TextDelta))
    assert text == result.output == finished.result.result
    assert first_answer < len(events) - 4  # the answer came in several pieces

    ran = await weather_agent().run("what's the weather in Paris?")
    assert (result.output, result.messages, result.usage, result.steps) == (
        ran.output, ran.messages, ran.usage, ran.steps,
    )


async def test_stream_and_run_emit_the_same_spans() -> None:
    run_provider, run_spans = provider()
    stream_provider, stream_spans = provider()
    bad_then_good = [
        ScriptedModel.call("get_weather", "c1", town="Paris"),
        ScriptedModel.call("get_weather", "c2", city="Paris"),
        "It is sunny in Paris.",
    ]

    ran = await weather_agent(ScriptedModel(bad_then_good)).run(
        "weather?", thread_id="t-1", tracer_provider=run_provider
    )
    events = await collect(
        weather_agent(ScriptedModel(bad_then_good)), "weather?", thread_id="t-1",
        tracer_provider=stream_provider,
    )

    ran_spans, streamed = run_spans.get_finished_spans(), stream_spans.get_finished_spans()
    assert [s.name for s in streamed] == [
        "chat scripted", "execute_tool get_weather", "chat scripted", "execute_tool get_weather",
        "chat scripted", "invoke_agent weather",
    ]
    assert span_shape(streamed) == span_shape(ran_spans)
    chats = [s for s in streamed if s.name == "chat scripted"]
    for chat in chats:
        assert chat.attributes is not None
        assert chat.attributes[sc.REQUEST_STREAM] is True
        assert chat.attributes[sc.RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
    assert all(sc.REQUEST_STREAM not in (s.attributes or {}) for s in ran_spans)
    final = json.loads(chats[-1].attributes[sc.OUTPUT_MESSAGES])  # type: ignore[index]
    streamed_text = "".join(e.content for e in events if isinstance(e, TextDelta))
    assert final[0]["parts"] == [{"type": "text", "content": streamed_text}]
    assert streamed_text == ran.output
    result = events[-1].result  # type: ignore[union-attr]
    assert result.trace_id == format(streamed[-1].context.trace_id, "032x")


async def test_time_to_first_chunk_measures_the_wait() -> None:
    tracer_provider, exporter = provider()
    agent = Agent("slow", model=ScriptedModel(["a b c"], latency=0.12))

    await collect(agent, "hi", tracer_provider=tracer_provider)

    chat = exporter.get_finished_spans()[0]
    assert chat.attributes is not None
    assert 0.12 <= chat.attributes[sc.RESPONSE_TIME_TO_FIRST_CHUNK] < 2


async def test_the_run_span_does_not_leak_into_the_caller_between_events() -> None:
    tracer_provider, exporter = provider()
    tracer = tracer_provider.get_tracer("test")
    agent = Agent("a", model=ScriptedModel(["one two three"]))

    with tracer.start_as_current_span("caller") as caller:
        async for _ in agent.stream("hi", tracer_provider=tracer_provider):
            assert trace.get_current_span() is caller

    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["invoke_agent a"].parent.span_id == spans["caller"].context.span_id  # type: ignore[union-attr]


async def test_errors_reach_the_consumer_and_the_spans() -> None:
    tracer_provider, exporter = provider()
    agent = Agent("a", model=ScriptedModel([]))

    with pytest.raises(ModelError, match="ran out of replies"):
        await collect(agent, "hi", tracer_provider=tracer_provider)

    root = exporter.get_finished_spans()[-1]
    assert root.name == "invoke_agent a"
    assert root.status.status_code is StatusCode.ERROR


async def test_leaving_the_loop_early_cancels_the_run() -> None:
    tracer_provider, exporter = provider()
    agent = Agent("a", model=ScriptedModel(["one two three four five six"], chunk_delay=0.05))
    seen: list[str] = []

    events = agent.stream("hi", tracer_provider=tracer_provider)
    async for event in events:
        if isinstance(event, TextDelta):
            seen.append(event.content)
            break
    await events.aclose()  # type: ignore[attr-defined]

    assert seen == ["one "]
    assert len(asyncio.all_tasks()) == 1  # the run's task is gone; only this test's is left
    spans = exporter.get_finished_spans()  # ended, though the run never finished
    assert [s.name for s in spans] == ["chat scripted", "invoke_agent a"]
    assert sc.OUTPUT_MESSAGES not in (spans[-1].attributes or {})


async def test_a_stream_without_the_whole_reply_is_a_model_error() -> None:
    class Broken(ScriptedModel):
        async def stream(
            self, instructions: str | None, messages: Sequence[Message],
            tools: Sequence[dict[str, Any]],
        ) -> AsyncIterator[ModelStreamEvent]:
            yield TextDelta("half")

    with pytest.raises(ModelError, match="must end with ResponseCompleted"):
        await collect(Agent("a", model=Broken()), "hi")


def test_stream_sync_yields_events_outside_async_code() -> None:
    events = list(weather_agent().stream_sync("weather in Rome?"))

    assert isinstance(events[-1], RunCompleted)
    assert events[-1].result.output == "Sunny and 21 degrees in Rome with a light breeze"
    assert "".join(e.content for e in events if isinstance(e, TextDelta)) == (
        events[-1].result.output
    )


def test_stream_sync_can_stop_early() -> None:
    events = weather_agent().stream_sync("weather in Rome?")
    first = next(events)
    events.close()  # type: ignore[attr-defined]

    assert isinstance(first, ToolCallDelta)


def test_stream_and_run_continue_one_memory_thread() -> None:
    seen: list[list[str]] = []

    def script(messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> str:
        seen.append([m.text for m in messages])
        return f"reply {len(seen)}"

    memory = Memory(":memory:", working_memory=False, semantic_recall=False)
    agent = Agent("echo", model=ScriptedModel(script), memory=memory)

    agent.run_sync("one", thread_id="t1", resource_id="u1")
    events = list(agent.stream_sync("two", thread_id="t1", resource_id="u1"))
    agent.run_sync("three", thread_id="t1", resource_id="u1")

    assert isinstance(events[-1], RunCompleted)
    assert (events[-1].result.thread_id, events[-1].result.resource_id) == ("t1", "u1")
    assert seen[-1] == ["one", "reply 1", "two", "reply 2", "three"]
    assert [m.message.text for m in memory.messages("t1")] == [
        "one", "reply 1", "two", "reply 2", "three", "reply 3",
    ]


async def test_agent_stream_over_openai_sse(server: ProviderServer) -> None:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return sse({"id": "c", "model": "m", "choices": [
            {"index": 0, "delta": delta, "finish_reason": finish}]})

    call = {"index": 0, "id": "call_1", "function": {"name": "get_weather", "arguments": ""}}
    server.stream(
        chunk({"tool_calls": [call]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Lyon"}'}}]},
              "tool_calls"),
        sse({"id": "c", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}),
        sse("[DONE]"),
    )
    server.stream(
        chunk({"content": "Sunny "}), chunk({"content": "in Lyon."}, "stop"),
        sse({"id": "c", "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 3}}),
        sse("[DONE]"),
    )
    tracer_provider, exporter = provider()
    model = OpenAIChatModel("gpt-4o-mini", api_key="sk-test", base_url=f"{server.origin}/v1")

    events = await collect(weather_agent(model), "Lyon?", tracer_provider=tracer_provider)

    result = events[-1].result  # type: ignore[union-attr]
    assert result.output == "Sunny in Lyon."
    assert result.usage == Usage(29, 7)
    assert result.messages[2].parts[0].result.endswith("in Lyon with a light breeze")
    assert server.requests[1].body["messages"][-1]["tool_call_id"] == "call_1"
    chats = [s for s in exporter.get_finished_spans() if s.name == "chat gpt-4o-mini"]
    answer = json.loads(chats[1].attributes[sc.OUTPUT_MESSAGES])  # type: ignore[index]
    assert answer[0]["parts"] == [{"type": "text", "content": "Sunny in Lyon."}]
    assert chats[1].attributes[sc.USAGE_OUTPUT_TOKENS] == 3  # type: ignore[index]

"""AnthropicModel against a real HTTP server on 127.0.0.1 speaking the Messages API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, ModelError, ModelHTTPError, RunCompleted, tool
from lumos_core.messages import Message, TextPart, ToolCallPart, ToolResultPart, Usage
from lumos_core.models import (
    NO_RETRY,
    ModelStreamEvent,
    ResponseCompleted,
    TextDelta,
    ToolCallDelta,
    resolve_model,
)
from lumos_core.models.anthropic import AnthropicModel
from lumos_core.telemetry import semconv as sc
from tests.core.provider_server import ProviderServer, running_server, sse

API_KEY = "sk-ant-test-0123456789-SECRET"


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with running_server() as state:
        yield state


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


def claude(server: ProviderServer, **options: Any) -> AnthropicModel:
    return AnthropicModel("claude-test", api_key=API_KEY, base_url=server.origin, **options)


def message(
    *blocks: dict[str, Any], stop_reason: str = "end_turn", usage: tuple[int, int] = (10, 5)
) -> dict[str, Any]:
    """A Messages API reply body."""
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test-20250101",
        "content": list(blocks),
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
    }


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def event(data: dict[str, Any]) -> str:
    return sse(data, event=data["type"])


def message_start(input_tokens: int = 25) -> str:
    return event({"type": "message_start", "message": {
        "id": "msg_s", "type": "message", "role": "assistant", "model": "claude-test-20250101",
        "content": [], "stop_reason": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }})


def block_start(index: int, block: dict[str, Any]) -> str:
    return event({"type": "content_block_start", "index": index, "content_block": block})


def text_delta(index: int, value: str) -> str:
    return event({"type": "content_block_delta", "index": index,
                  "delta": {"type": "text_delta", "text": value}})


def json_delta(index: int, partial: str) -> str:
    return event({"type": "content_block_delta", "index": index,
                  "delta": {"type": "input_json_delta", "partial_json": partial}})


def block_stop(index: int) -> str:
    return event({"type": "content_block_stop", "index": index})


def message_end(stop_reason: str, output_tokens: int) -> tuple[str, str]:
    return (
        event({"type": "message_delta", "delta": {"stop_reason": stop_reason,
               "stop_sequence": None}, "usage": {"output_tokens": output_tokens}}),
        event({"type": "message_stop"}),
    )


async def collect(model: AnthropicModel) -> list[ModelStreamEvent]:
    return [e async for e in model.stream("Be brief.", [Message.user("hi")], [])]


async def test_tool_call_round_trip_through_agent(server: ProviderServer) -> None:
    server.reply(message(text("Let me check."), tool_use("toolu_1", "get_weather",
                                                         {"city": "Paris"}),
                         stop_reason="tool_use", usage=(50, 7)))
    server.reply(message(text("It is sunny in Paris."), usage=(80, 9)))
    agent = Agent("weather", "You report the weather.", claude(server), [get_weather])

    result = await agent.run("Weather in Paris?")

    assert result.output == "It is sunny in Paris."
    assert result.usage == Usage(130, 16)
    first, second = server.requests
    for request in (first, second):
        assert request.path == "/v1/messages"
        assert request.headers["x-api-key"] == API_KEY
        assert request.headers["anthropic-version"] == "2023-06-01"
        assert request.body["model"] == "claude-test"
        assert request.body["max_tokens"] == 4096
        assert request.body["system"] == "You report the weather."
        assert "stream" not in request.body
    assert first.body["tools"] == [{
        "name": "get_weather",
        "description": "Current weather for a city.",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    }]
    assert first.body["messages"] == [
        {"role": "user", "content": [text("Weather in Paris?")]},
    ]
    assert second.body["messages"][1:] == [
        {"role": "assistant", "content": [
            text("Let me check."), tool_use("toolu_1", "get_weather", {"city": "Paris"}),
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny in Paris"},
        ]},
    ]
    assistant = result.messages[1]
    assert assistant.parts == (
        TextPart("Let me check."), ToolCallPart("toolu_1", "get_weather", {"city": "Paris"}),
    )
    assert assistant.finish_reason == "tool_calls"


async def test_history_maps_to_alternating_turns(server: ProviderServer) -> None:
    server.reply(message(text("ok"), stop_reason="max_tokens"))
    history = [
        Message("system", (TextPart("Answer in French."),)),
        Message.user("first"),
        Message.user("second"),
        Message("assistant", (ToolCallPart("t1", "get_weather", {"city": "X"}),)),
        Message("tool", (ToolResultPart("t1", "get_weather", "no such city", is_error=True),)),
        Message.user("and now?"),
    ]

    response = await claude(server, max_tokens=64).request("Be brief.", history, [])

    body = server.requests[0].body
    assert body["system"] == "Be brief.\n\nAnswer in French."
    assert body["max_tokens"] == 64
    assert body["messages"] == [
        {"role": "user", "content": [text("first"), text("second")]},
        {"role": "assistant", "content": [tool_use("t1", "get_weather", {"city": "X"})]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "no such city",
             "is_error": True},
            text("and now?"),
        ]},
    ]
    assert response.message.finish_reason == "length"
    assert response.model_name == "claude-test-20250101"
    assert response.response_id == "msg_1"


async def test_stream_assembles_text_and_tool_input(server: ProviderServer) -> None:
    server.stream(
        message_start(input_tokens=25),
        block_start(0, {"type": "text", "text": ""}),
        event({"type": "ping"}),
        text_delta(0, "Checking "),
        text_delta(0, "both."),
        block_stop(0),
        block_start(1, tool_use("toolu_a", "get_weather", {})),
        json_delta(1, ""),
        json_delta(1, '{"city": "Os'),
        json_delta(1, 'lo"}'),
        block_stop(1),
        block_start(2, tool_use("toolu_b", "get_weather", {})),
        json_delta(2, '{"city": "Rome"}'),
        block_stop(2),
        *message_end("tool_use", 42),
    )

    events = await collect(claude(server))

    deltas = [e.content for e in events if isinstance(e, TextDelta)]
    assert deltas == ["Checking ", "both."]
    pieces = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(p.index, p.id, p.name) for p in pieces if p.id] == [
        (1, "toolu_a", "get_weather"), (2, "toolu_b", "get_weather"),
    ]
    assert json.loads("".join(p.arguments for p in pieces if p.index == 1)) == {"city": "Oslo"}
    done = events[-1]
    assert isinstance(done, ResponseCompleted)
    reply = done.response
    assert reply.message.parts == (
        TextPart("Checking both."),
        ToolCallPart("toolu_a", "get_weather", {"city": "Oslo"}),
        ToolCallPart("toolu_b", "get_weather", {"city": "Rome"}),
    )
    assert reply.message.finish_reason == "tool_calls"
    assert reply.usage == Usage(25, 42)
    assert (reply.model_name, reply.response_id) == ("claude-test-20250101", "msg_s")
    assert server.requests[0].body["stream"] is True


async def test_agent_stream_spans_carry_anthropic_attributes(server: ProviderServer) -> None:
    server.stream(
        message_start(), block_start(0, tool_use("toolu_1", "get_weather", {})),
        json_delta(0, '{"city":'), json_delta(0, ' "Nice"}'), block_stop(0),
        *message_end("tool_use", 12),
    )
    server.stream(
        message_start(40), block_start(0, text("")), text_delta(0, "Sunny "),
        text_delta(0, "in Nice."), block_stop(0), *message_end("end_turn", 4),
    )
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    agent = Agent("weather", model=claude(server), tools=[get_weather])

    events = [e async for e in agent.stream("Nice?", tracer_provider=provider)]

    final = events[-1]
    assert isinstance(final, RunCompleted)
    assert final.result.output == "Sunny in Nice."
    assert final.result.usage == Usage(65, 16)
    assert final.result.messages[2].parts[0] == ToolResultPart(
        "toolu_1", "get_weather", "Sunny in Nice"
    )
    chats = [s for s in exporter.get_finished_spans() if s.name == "chat claude-test"]
    assert len(chats) == 2
    attributes = chats[1].attributes
    assert attributes is not None
    assert attributes[sc.PROVIDER_NAME] == "anthropic"
    assert attributes[sc.SERVER_ADDRESS] == "127.0.0.1"
    assert attributes[sc.SERVER_PORT] == server.port
    assert attributes[sc.RESPONSE_FINISH_REASONS] == ("stop",)
    assert json.loads(attributes[sc.OUTPUT_MESSAGES])[0]["parts"] == [  # type: ignore[arg-type]
        {"type": "text", "content": "Sunny in Nice."}
    ]


@pytest.mark.parametrize("streaming", [False, True], ids=["request", "stream"])
async def test_401_names_the_key_variable_and_never_the_key(
    server: ProviderServer, streaming: bool
) -> None:
    server.reply(
        {"type": "error", "error": {"type": "authentication_error",
                                    "message": f"invalid x-api-key {API_KEY}"}},
        status=401,
    )
    model = claude(server)

    with pytest.raises(ModelHTTPError) as caught:
        if streaming:
            await collect(model)
        else:
            await model.request(None, [Message.user("hi")], [])

    assert caught.value.status_code == 401
    assert "authentication_error: invalid x-api-key" in str(caught.value)
    assert "ANTHROPIC_API_KEY" in str(caught.value)
    assert API_KEY not in str(caught.value)


async def test_overloaded_is_a_retryable_provider_error(server: ProviderServer) -> None:
    server.reply({"type": "error", "error": {"type": "overloaded_error",
                                             "message": "Overloaded"}}, status=529)

    with pytest.raises(ModelHTTPError, match=r"Overloaded.*try again") as caught:
        await claude(server, retry=NO_RETRY).request(None, [Message.user("hi")], [])

    assert caught.value.status_code == 529


async def test_a_body_that_is_not_a_message_is_a_model_error(server: ProviderServer) -> None:
    server.reply("<html>proxy error</html>", content_type="text/html")

    with pytest.raises(ModelError, match=r"not a message.*proxy error") as caught:
        await claude(server).request(None, [Message.user("hi")], [])

    assert "Anthropic Messages API" in str(caught.value)


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ((message_start(), "data: {oops\n\n"), "not a JSON object"),
        ((message_start(), block_start(0, text("")), text_delta(0, "cut")),
         "ended before message_stop"),
        ((message_start(), event({"type": "error", "error": {
            "type": "overloaded_error", "message": "Overloaded"}})),
         "overloaded_error: Overloaded"),
        ((message_start(), block_start(0, text("")), json_delta(0, "{}")),
         "not a tool_use block"),
        ((event({"type": "content_block_delta", "index": 0}),), "without the fields"),
    ],
    ids=["not-json", "truncated", "error-event", "json-into-text", "missing-fields"],
)
async def test_malformed_streams_are_clear_model_errors(
    server: ProviderServer, chunks: tuple[str, ...], expected: str
) -> None:
    server.stream(*chunks)

    with pytest.raises(ModelError, match=expected) as caught:
        await collect(claude(server))

    assert not isinstance(caught.value, ModelHTTPError)
    assert server.origin in str(caught.value)


async def test_missing_key_fails_at_request_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    agent = Agent("keyless", model="anthropic:claude-test")

    with pytest.raises(ModelError, match=r"ANTHROPIC_API_KEY.*api_key= to AnthropicModel"):
        await agent.run("hi")


async def test_environment_variables_are_honoured(
    server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.origin)
    server.reply(message(text("hello")))

    model = resolve_model("anthropic:claude-test")
    response = await model.request(None, [Message.user("hi")], [])

    assert isinstance(model, AnthropicModel)
    assert model.provider_name == "anthropic"
    assert response.message.text == "hello"
    assert server.requests[0].headers["x-api-key"] == API_KEY


def test_default_base_url_points_at_anthropic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    model = AnthropicModel("claude-test")
    assert model.base_url == "https://api.anthropic.com"
    assert model.server_attributes() == {"server.address": "api.anthropic.com", "server.port": 443}

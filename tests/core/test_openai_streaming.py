"""OpenAIChatModel.stream against a real local server speaking Chat Completions SSE."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lumos_core import ModelError, ModelHTTPError
from lumos_core.messages import Message, ToolCallPart, Usage
from lumos_core.models import ModelStreamEvent, ResponseCompleted, TextDelta, ToolCallDelta
from lumos_core.models.openai import OpenAIChatModel
from tests.core.provider_server import ProviderServer, running_server, sse

API_KEY = "sk-test-stream-0123456789-SECRET"


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with running_server() as state:
        yield state


def model(server: ProviderServer) -> OpenAIChatModel:
    return OpenAIChatModel("gpt-4o-mini", api_key=API_KEY, base_url=f"{server.origin}/v1")


def chunk(
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    usage: dict[str, int] | None = None,
) -> str:
    """One ``chat.completion.chunk`` event; without a delta it is the usage-only last chunk."""
    body: dict[str, Any] = {
        "id": "chatcmpl-s1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [] if delta is None else [
            {"index": 0, "delta": delta, "finish_reason": finish_reason}
        ],
        "usage": usage,
    }
    return sse(body)


def call_delta(index: int, arguments: str, call_id: str = "", name: str = "") -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        call.update(id=call_id, type="function")
        call["function"]["name"] = name
    return {"tool_calls": [call]}


async def collect(openai: OpenAIChatModel, text: str = "hi") -> list[ModelStreamEvent]:
    return [e async for e in openai.stream("Be brief.", [Message.user(text)], [])]


async def test_text_deltas_concatenate_to_the_reply(server: ProviderServer) -> None:
    server.stream(
        ": keep-alive comment\n\n",
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo, "}),
        chunk({"content": "world."}, finish_reason="stop"),
        chunk(usage={"prompt_tokens": 12, "completion_tokens": 3}),
        sse("[DONE]"),
    )

    events = await collect(model(server))

    deltas = [e.content for e in events if isinstance(e, TextDelta)]
    assert deltas == ["Hel", "lo, ", "world."]
    done = events[-1]
    assert isinstance(done, ResponseCompleted)
    response = done.response
    assert response.message.text == "".join(deltas) == "Hello, world."
    assert response.message.finish_reason == "stop"
    assert response.usage == Usage(12, 3)
    assert response.model_name == "gpt-4o-mini-2024-07-18"
    assert response.response_id == "chatcmpl-s1"
    request = server.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


async def test_tool_call_pieces_assemble_into_calls(server: ProviderServer) -> None:
    server.stream(
        chunk(call_delta(0, "", "call_a", "get_weather")),
        chunk(call_delta(0, '{"ci')),
        chunk(call_delta(1, '{"city":', "call_b", "get_weather")),
        chunk(call_delta(0, 'ty": "Oslo"}')),
        chunk(call_delta(1, ' "Rome"}'), finish_reason="tool_calls"),
        chunk(usage={"prompt_tokens": 30, "completion_tokens": 20}),
        sse("[DONE]"),
    )

    events = await collect(model(server))

    pieces = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(p.index, p.id, p.name) for p in pieces if p.id] == [
        (0, "call_a", "get_weather"), (1, "call_b", "get_weather"),
    ]
    for index in (0, 1):
        text = "".join(p.arguments for p in pieces if p.index == index)
        assert json.loads(text)["city"] in ("Oslo", "Rome")
    done = events[-1]
    assert isinstance(done, ResponseCompleted)
    assert done.response.message.tool_calls == [
        ToolCallPart("call_a", "get_weather", {"city": "Oslo"}),
        ToolCallPart("call_b", "get_weather", {"city": "Rome"}),
    ]
    assert done.response.message.finish_reason == "tool_calls"
    assert done.response.usage == Usage(30, 20)


async def test_pieces_arrive_while_the_server_is_still_writing(server: ProviderServer) -> None:
    server.stream(
        chunk({"content": "one "}),
        chunk({"content": "two "}),
        chunk({"content": "three"}, finish_reason="stop"),
        sse("[DONE]"),
        pause=0.15,
    )
    arrivals: list[tuple[float, ModelStreamEvent]] = []

    async for event in model(server).stream(None, [Message.user("count")], []):
        arrivals.append((time.perf_counter(), event))

    first_text = next(t for t, e in arrivals if isinstance(e, TextDelta))
    completed = next(t for t, e in arrivals if isinstance(e, ResponseCompleted))
    assert completed - first_text >= 0.3  # not buffered until the end


async def test_a_json_answer_to_a_stream_request_still_works(server: ProviderServer) -> None:
    server.reply(
        {
            "id": "chatcmpl-j",
            "model": "local",
            "choices": [{"message": {"content": "plain"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1},
        }
    )

    events = await collect(model(server))

    assert events[0] == TextDelta("plain")
    assert isinstance(events[-1], ResponseCompleted)
    assert events[-1].response.usage == Usage(1, 1)


async def test_http_error_before_the_stream(server: ProviderServer) -> None:
    server.reply({"error": {"message": f"Incorrect API key provided: {API_KEY}"}}, status=401)

    with pytest.raises(ModelHTTPError) as caught:
        await collect(model(server))

    assert caught.value.status_code == 401
    assert "OPENAI_API_KEY" in str(caught.value)
    assert "Incorrect API key provided" in str(caught.value)
    assert API_KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ((sse("{not json"),), "not a JSON object"),
        ((sse({"choices": "nope"}),), "not a chat completion chunk"),
        ((chunk({"content": "cut "}),), "ended before the reply was complete"),
        ((chunk({"content": "a"}), sse({"error": {"message": "Overloaded, retry"}})),
         "Overloaded, retry"),
        ((chunk(call_delta(0, "{}")),), "without a function name"),
    ],
    ids=["not-json", "not-a-chunk", "truncated", "error-event", "nameless-call"],
)
async def test_malformed_streams_are_clear_model_errors(
    server: ProviderServer, chunks: tuple[str, ...], expected: str
) -> None:
    server.stream(*chunks)

    with pytest.raises(ModelError, match=expected) as caught:
        await collect(model(server))

    assert not isinstance(caught.value, ModelHTTPError)
    assert server.origin in str(caught.value)

"""OpenAIChatModel against a real HTTP server on 127.0.0.1 that speaks Chat Completions.

The server (``provider_server``) records every request and answers from a queue of canned
replies, so the tests see the exact bytes the provider sends and can script tool calls, errors and
slow answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, ModelError, ModelHTTPError, tool
from lumos_core.messages import Message, ToolCallPart, ToolResultPart, Usage
from lumos_core.models import NO_RETRY, resolve_model
from lumos_core.models.openai import INVALID_ARGUMENTS_KEY, OpenAIChatModel
from lumos_core.telemetry import semconv as sc
from tests.core.provider_server import ProviderServer, running_server
from tests.ports import free_port

API_KEY = "sk-test-0123456789abcdef-SECRET"


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with running_server() as state:
        yield state


def v1(server: ProviderServer) -> str:
    """The server as an OpenAI-style base URL: ``{origin}/v1``."""
    return f"{server.origin}/v1"


def completion(
    content: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    *,
    finish_reason: str | None = None,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    model: str = "gpt-4o-mini-2024-07-18",
    id: str = "chatcmpl-1",
) -> dict[str, Any]:
    """A Chat Completions response body."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": id,
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny and 21°C in {city}"


def weather_agent(model: OpenAIChatModel) -> Agent:
    return Agent("weather", "You report the weather.", model, [get_weather])


def all_span_text(spans: tuple[ReadableSpan, ...]) -> str:
    """Everything a span carries that could leak a secret, as one string."""
    chunks: list[str] = []
    for span in spans:
        chunks.append(span.name)
        chunks.extend(f"{k}={v}" for k, v in (span.attributes or {}).items())
        chunks.append(span.status.description or "")
        for event in span.events:
            chunks.append(event.name)
            chunks.extend(f"{k}={v}" for k, v in (event.attributes or {}).items())
    return "\n".join(chunks)


async def test_tool_call_round_trip_through_agent(server: ProviderServer) -> None:
    server.reply(
        completion(
            None,
            [call("call_1", "get_weather", '{"city": "Paris"}')],
            prompt_tokens=50,
            completion_tokens=7,
            id="chatcmpl-a",
        )
    )
    server.reply(
        completion("It is sunny in Paris.", prompt_tokens=80, completion_tokens=9, id="chatcmpl-b")
    )
    agent = weather_agent(OpenAIChatModel("gpt-4o-mini", api_key=API_KEY, base_url=v1(server)))

    result = await agent.run("What's the weather in Paris?")

    assert result.output == "It is sunny in Paris."
    assert result.usage == Usage(130, 16)
    assert result.steps == 2
    first, second = server.requests
    for request in (first, second):
        assert request.path == "/v1/chat/completions"
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
        assert request.body["model"] == "gpt-4o-mini"
    assert first.body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                    "additionalProperties": False,
                },
            },
        }
    ]
    assert first.body["messages"] == [
        {"role": "system", "content": "You report the weather."},
        {"role": "user", "content": "What's the weather in Paris?"},
    ]
    assert second.body["messages"][2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [call("call_1", "get_weather", '{"city":"Paris"}')],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny and 21°C in Paris"},
    ]
    assistant = result.messages[1]
    assert assistant.tool_calls == [ToolCallPart("call_1", "get_weather", {"city": "Paris"})]
    assert assistant.finish_reason == "tool_calls"


async def test_response_fields_are_parsed(server: ProviderServer) -> None:
    server.reply(
        completion(
            "Checking both.",
            [call("c1", "get_weather", '{"city":"Oslo"}'), call("c2", "get_weather", "")],
            finish_reason="tool_calls",
            prompt_tokens=3,
            completion_tokens=4,
            model="gpt-4o-mini-2024-07-18",
            id="chatcmpl-xyz",
        )
    )
    model = OpenAIChatModel("gpt-4o-mini", api_key=API_KEY, base_url=v1(server))

    response = await model.request(None, [Message.user("hi")], [])

    assert response.message.text == "Checking both."
    assert response.message.tool_calls == [
        ToolCallPart("c1", "get_weather", {"city": "Oslo"}),
        ToolCallPart("c2", "get_weather", {}),
    ]
    assert response.message.finish_reason == "tool_calls"
    assert response.usage == Usage(3, 4)
    assert response.model_name == "gpt-4o-mini-2024-07-18"
    assert response.response_id == "chatcmpl-xyz"
    assert "tools" not in server.requests[0].body
    assert server.requests[0].body["messages"] == [{"role": "user", "content": "hi"}]


async def test_invalid_tool_arguments_reach_the_model_as_a_tool_error(
    server: ProviderServer,
) -> None:
    server.reply(completion(None, [call("call_1", "get_weather", '{"city": "Par')]))
    server.reply(completion("Sorry, let me retry."))
    agent = weather_agent(OpenAIChatModel("gpt-4o-mini", api_key=API_KEY, base_url=v1(server)))

    result = await agent.run("Weather in Paris?")

    assert result.output == "Sorry, let me retry."
    bad_call = result.messages[1].tool_calls[0]
    assert bad_call.arguments == {INVALID_ARGUMENTS_KEY: '{"city": "Par'}
    tool_result = result.messages[2].parts[0]
    assert isinstance(tool_result, ToolResultPart) and tool_result.is_error
    assistant, tool_message = server.requests[1].body["messages"][2:]
    assert assistant["tool_calls"][0]["function"]["arguments"] == '{"city": "Par'
    assert tool_message["tool_call_id"] == "call_1"
    assert "Invalid arguments for tool 'get_weather'" in tool_message["content"]


async def test_401_names_the_key_variable_and_never_the_key(server: ProviderServer) -> None:
    server.reply(
        {"error": {"message": f"Incorrect API key provided: {API_KEY}.", "type": "auth"}},
        status=401,
    )
    model = OpenAIChatModel("gpt-4o-mini", api_key=API_KEY, base_url=v1(server))

    with pytest.raises(ModelHTTPError) as caught:
        await model.request(None, [Message.user("hi")], [])

    error = caught.value
    assert error.status_code == 401
    assert "OPENAI_API_KEY" in str(error)
    assert "Incorrect API key provided" in str(error)
    assert v1(server) in str(error)
    assert API_KEY not in str(error)
    assert API_KEY not in repr(error)
    assert API_KEY not in repr(model)


async def test_500_is_a_provider_error(server: ProviderServer) -> None:
    server.reply({"error": {"message": "The server had an error processing your request."}}, 500)
    model = OpenAIChatModel("gpt-4o-mini", api_key=API_KEY, base_url=v1(server), retry=NO_RETRY)

    with pytest.raises(ModelHTTPError) as caught:
        await model.request(None, [Message.user("hi")], [])

    assert caught.value.status_code == 500
    assert "The server had an error processing your request." in str(caught.value)
    assert "try again" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "hint"),
    [
        (403, {"error": {"message": "forbidden"}}, "OPENAI_API_KEY"),
        (404, {"error": {"message": "The model `nope` does not exist"}}, "model name"),
        (429, {"error": {"message": "Rate limit reached"}}, "rate limited"),
        (503, "<html>Service Unavailable</html>", "try again"),
    ],
)
async def test_error_statuses_carry_a_hint(
    server: ProviderServer, status: int, body: dict[str, Any] | str, hint: str
) -> None:
    server.reply(body, status)
    model = OpenAIChatModel("gpt-4o-mini", api_key=API_KEY, base_url=v1(server), retry=NO_RETRY)

    with pytest.raises(ModelHTTPError) as caught:
        await model.request(None, [Message.user("hi")], [])

    assert caught.value.status_code == status
    assert hint in str(caught.value)
    detail = body if isinstance(body, str) else body["error"]["message"]
    assert detail in str(caught.value)


async def test_environment_variables_are_honoured(
    server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", v1(server))
    server.reply(completion("hello"))

    model = resolve_model("openai:gpt-4o-mini")
    response = await model.request(None, [Message.user("hi")], [])

    assert isinstance(model, OpenAIChatModel)
    assert model.model_name == "gpt-4o-mini"
    assert model.provider_name == "openai"
    assert model.server_attributes() == {"server.address": "127.0.0.1", "server.port": server.port}
    assert response.message.text == "hello"
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_default_base_url_points_at_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    model = OpenAIChatModel("gpt-4o-mini")
    assert model.base_url == "https://api.openai.com/v1"
    assert model.server_attributes() == {"server.address": "api.openai.com", "server.port": 443}


async def test_spans_carry_provider_attributes_and_never_the_key(server: ProviderServer) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    server.reply(completion(None, [call("call_1", "get_weather", '{"city":"Rome"}')]))
    server.reply(completion("Sunny in Rome.", prompt_tokens=21, completion_tokens=4))
    server.reply({"error": {"message": f"Incorrect API key provided: {API_KEY}"}}, 401)
    agent = weather_agent(OpenAIChatModel("gpt-4o-mini", api_key=API_KEY, base_url=v1(server)))

    await agent.run("Weather in Rome?", tracer_provider=provider)
    with pytest.raises(ModelHTTPError):
        await agent.run("And in Milan?", tracer_provider=provider)

    spans = exporter.get_finished_spans()
    assert API_KEY not in all_span_text(spans)
    chats = [s for s in spans if s.attributes and s.attributes[sc.OPERATION_NAME] == sc.OP_CHAT]
    assert len(chats) == 3
    answer = chats[1].attributes
    assert answer is not None
    assert answer[sc.PROVIDER_NAME] == "openai"
    assert answer[sc.SERVER_ADDRESS] == "127.0.0.1"
    assert answer[sc.SERVER_PORT] == server.port
    assert answer[sc.USAGE_INPUT_TOKENS] == 21
    assert answer[sc.USAGE_OUTPUT_TOKENS] == 4
    assert answer[sc.RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert answer[sc.RESPONSE_ID] == "chatcmpl-1"
    failed = chats[2]
    assert not failed.status.is_ok
    assert any(event.name == "exception" for event in failed.events)


async def test_missing_key_fails_at_request_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    agent = Agent("keyless", model="openai:gpt-4o-mini")

    with pytest.raises(ModelError) as caught:
        await agent.run("hi")

    assert "OPENAI_API_KEY" in str(caught.value)
    assert "api_key" in str(caught.value)


async def test_connection_refused_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    model = OpenAIChatModel("gpt-4o-mini", api_key=API_KEY, base_url=url, retry=NO_RETRY)

    with pytest.raises(ModelError) as caught:
        await model.request(None, [Message.user("hi")], [])

    assert not isinstance(caught.value, ModelHTTPError)
    assert url in str(caught.value)
    assert API_KEY not in str(caught.value)


async def test_timeout_is_a_model_error(server: ProviderServer) -> None:
    server.reply(completion("too late"), delay=1.0)
    model = OpenAIChatModel(
        "gpt-4o-mini", api_key=API_KEY, base_url=v1(server), timeout=0.2, retry=NO_RETRY
    )

    with pytest.raises(ModelError, match="timed out") as caught:
        await model.request(None, [Message.user("hi")], [])

    assert v1(server) in str(caught.value)


async def test_a_reply_that_is_not_a_completion_is_a_model_error(server: ProviderServer) -> None:
    server.reply("not json at all")
    model = OpenAIChatModel("gpt-4o-mini", api_key=API_KEY, base_url=v1(server))

    with pytest.raises(ModelError, match="not a chat completion"):
        await model.request(None, [Message.user("hi")], [])


async def test_injected_client_is_used_and_left_open(server: ProviderServer) -> None:
    server.reply(completion("one"))
    server.reply(completion("two"))
    async with httpx.AsyncClient(headers={"X-Lumos-Test": "yes"}) as client:
        model = OpenAIChatModel(
            "gpt-4o-mini", api_key=API_KEY, base_url=v1(server), http_client=client
        )
        first = await model.request(None, [Message.user("1")], [])
        second = await model.request(None, [Message.user("2")], [])
        assert not client.is_closed

    assert (first.message.text, second.message.text) == ("one", "two")
    assert [r.headers["x-lumos-test"] for r in server.requests] == ["yes", "yes"]


def test_run_sync_twice_uses_a_fresh_client_per_loop(server: ProviderServer) -> None:
    server.reply(completion("first"))
    server.reply(completion("second"))
    agent = weather_agent(OpenAIChatModel("gpt-4o-mini", api_key=API_KEY, base_url=v1(server)))

    assert agent.run_sync("hi").output == "first"
    assert agent.run_sync("again").output == "second"

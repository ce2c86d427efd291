"""A model call sent again outside any agent (``lumos_core.playground``): against a real HTTP
server on 127.0.0.1 speaking Chat Completions, and the scripted model; the tools it asks for
are returned, not run; the call is traced as a chat span linked to the one it repeats."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import ModelError, ModelSettings, tool
from lumos_core.messages import Message, ToolCallPart
from lumos_core.playground import ModelCall, model_for, try_model_call
from lumos_core.telemetry import semconv as sc
from tests.core.provider_server import ProviderServer, openai_server, sse
from tests.core.test_openai_model import call, completion
from tests.core.test_openai_streaming import chunk

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    raise AssertionError("the playground never runs a tool")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderServer]:
    with openai_server(monkeypatch) as state:
        yield state


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


async def test_the_request_reaches_the_provider_and_its_tool_call_comes_back_unrun(
    server: ProviderServer, provider: TracerProvider, exporter: InMemorySpanExporter,
) -> None:
    server.reply(completion(None, [call("call_9", "get_weather", '{"city":"Oslo"}')],
                            prompt_tokens=31, completion_tokens=7))
    request = ModelCall(
        "openai:gpt-4o-mini",
        (Message.user("weather in Oslo?"),),
        instructions="Answer weather questions.",
        tools=(get_weather.definition(),),
        settings=ModelSettings(temperature=0.3, max_tokens=200),
    )

    answer = await try_model_call(request, repeats=(TRACE, SPAN), tracer_provider=provider)

    assert answer.response.message.tool_calls == [ToolCallPart("call_9", "get_weather",
                                                               {"city": "Oslo"})]
    assert answer.response.usage.input_tokens == 31
    assert answer.seconds > 0
    sent = server.requests[0].body
    assert sent["model"] == "gpt-4o-mini"
    assert sent["messages"][0] == {"role": "system", "content": "Answer weather questions."}
    assert sent["messages"][1]["content"] == "weather in Oslo?"
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather"]
    assert (sent["temperature"], sent["max_tokens"]) == (0.3, 200)
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat gpt-4o-mini"
    assert answer.trace_id == format(span.context.trace_id, "032x") != TRACE
    attributes = span.attributes or {}
    assert attributes[sc.LUMOS_CHAT_FORK_OF] == SPAN
    assert attributes[sc.REQUEST_TEMPERATURE] == 0.3
    assert attributes[sc.USAGE_OUTPUT_TOKENS] == 7
    assert orjson.loads(str(attributes[sc.OUTPUT_MESSAGES]))[0]["parts"][0]["name"] == (
        "get_weather")
    assert orjson.loads(str(attributes[sc.TOOL_DEFINITIONS]))[0]["name"] == "get_weather"
    (link,) = span.links
    assert format(link.context.span_id, "016x") == SPAN


async def test_the_scripted_model_answers_offline(
    provider: TracerProvider, exporter: InMemorySpanExporter,
) -> None:
    answer = await try_model_call(ModelCall("scripted", (Message.user("hello there"),)),
                                  tracer_provider=provider)

    assert "hello there" in answer.response.message.text
    (span,) = exporter.get_finished_spans()
    assert sc.LUMOS_CHAT_FORK_OF not in (span.attributes or {})
    assert not span.links


async def test_a_missing_key_is_a_model_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)

    with pytest.raises(ModelError, match="ANTHROPIC_API_KEY"):
        await try_model_call(ModelCall("anthropic:claude-sonnet-4-5", (Message.user("hi"),)),
                             tracer_provider=provider)
    (span,) = exporter.get_finished_spans()
    assert not span.status.is_ok


async def test_an_unknown_provider_says_which_exist() -> None:
    with pytest.raises(ValueError, match=r"unknown provider 'nope'.*openai"):
        await try_model_call(ModelCall("nope:model", (Message.user("hi"),)))


@pytest.mark.parametrize("provider, model, expected", [
    ("openai", "gpt-4o", "openai:gpt-4o"),
    ("anthropic", "claude-sonnet-4-5", "anthropic:claude-sonnet-4-5"),
    ("gcp.gemini", "gemini-2.0-flash", "gemini:gemini-2.0-flash"),
    ("azure.ai.openai", "prod-gpt", "azure-openai:prod-gpt"),
    ("mistral_ai", "mistral-large", "mistral:mistral-large"),
    ("MistralAI", "mistral-large", "mistral:mistral-large"),
    ("x_ai", "grok-2", "xai:grok-2"),
    ("google", "gemini-1.5-pro", "gemini:gemini-1.5-pro"),
    ("ollama", "llama3.2", "ollama:llama3.2"),
    ("scripted", "scripted", "scripted"),
    ("aws.bedrock", "claude", None),
    ("openai", "", None),
    ("", "gpt-4o", None),
])
def test_model_for_reaches_the_provider_a_span_names(
    provider: str, model: str, expected: str | None,
) -> None:
    assert model_for(provider, model) == expected


async def test_a_streamed_answer_comes_piece_by_piece(
    server: ProviderServer, provider: TracerProvider, exporter: InMemorySpanExporter,
) -> None:
    server.stream(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Rain "}),
        chunk({"content": "in Oslo."}, finish_reason="stop"),
        chunk(usage={"prompt_tokens": 12, "completion_tokens": 3}),
        sse("[DONE]"),
    )
    pieces: list[str] = []

    answer = await try_model_call(
        ModelCall("openai:gpt-4o-mini", (Message.user("weather in Oslo?"),)),
        tracer_provider=provider, on_text=pieces.append)

    assert pieces == ["Rain ", "in Oslo."]
    assert answer.response.message.text == "Rain in Oslo."
    assert server.requests[0].body["stream"] is True
    (span,) = exporter.get_finished_spans()
    assert (span.attributes or {})[sc.REQUEST_STREAM] is True
    assert (span.attributes or {})[sc.USAGE_OUTPUT_TOKENS] == 3

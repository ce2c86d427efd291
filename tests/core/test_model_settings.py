"""Model settings: merged model → agent → run, sent in each provider's words, recorded on spans.

Both providers run against the real local server (``provider_server``); the assertions read the
JSON body it received.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, ScriptedModel, tool
from lumos_core.models.anthropic import AnthropicModel
from lumos_core.models.openai import OpenAIChatModel
from lumos_core.settings import ModelSettings, merge_settings
from lumos_core.telemetry import semconv as sc
from tests.core.provider_server import ProviderServer, running_server
from tests.core.test_anthropic_model import message, text
from tests.core.test_openai_model import completion

KEY = "sk-test-settings"


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with running_server() as state:
        yield state


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


def test_later_levels_win_and_none_leaves_a_field_unset() -> None:
    model = ModelSettings(temperature=0.9, max_tokens=100, extra={"a": 1, "b": 1})
    agent = ModelSettings(temperature=0.2, stop="END", extra={"b": 2})
    run = ModelSettings(max_tokens=50, temperature=None)

    merged = merge_settings(model, agent, run)

    assert merged == ModelSettings(
        temperature=0.2, max_tokens=50, stop=("END",), extra={"a": 1, "b": 2}
    )
    assert merge_settings(None, ModelSettings(), None) is None


def test_settings_reject_values_no_provider_accepts() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        ModelSettings(max_tokens=0)
    with pytest.raises(ValueError, match="top_p"):
        ModelSettings(top_p=1.5)


async def test_openai_body_carries_the_merged_settings_and_the_chat_span_records_them(
    server: ProviderServer, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    server.reply(completion("Fine."))
    model = OpenAIChatModel(
        "gpt-test", api_key=KEY, base_url=f"{server.origin}/v1",
        settings=ModelSettings(temperature=1.0, top_p=0.5, seed=7),
    )
    agent = Agent(
        "w", "Be brief.", model, [get_weather],
        settings=ModelSettings(temperature=0.3, max_tokens=200, stop=["\n\n"]),
    )

    await agent.run(
        "weather?", tracer_provider=tracer_provider,
        settings=ModelSettings(
            max_tokens=64, tool_choice="get_weather", parallel_tool_calls=False,
            extra={"logprobs": True},
        ),
    )

    body = server.requests[0].body
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 64
    assert body["top_p"] == 0.5
    assert body["seed"] == 7
    assert body["stop"] == ["\n\n"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["parallel_tool_calls"] is False
    assert body["logprobs"] is True
    chat = next(s for s in exporter.get_finished_spans() if s.name.startswith("chat"))
    assert chat.attributes[sc.REQUEST_TEMPERATURE] == 0.3
    assert chat.attributes[sc.REQUEST_MAX_TOKENS] == 64
    assert chat.attributes[sc.REQUEST_TOP_P] == 0.5
    assert tuple(chat.attributes[sc.REQUEST_STOP_SEQUENCES]) == ("\n\n",)
    assert chat.attributes[sc.REQUEST_SEED] == 7


async def test_openai_sends_no_settings_and_no_tool_options_when_none_apply(
    server: ProviderServer,
) -> None:
    server.reply(completion("Hi."))
    server.reply(completion("Hi."))
    model = OpenAIChatModel("gpt-test", api_key=KEY, base_url=f"{server.origin}/v1")

    await Agent("plain", "", model).run("hi")
    await Agent("notools", "", model, settings=ModelSettings(tool_choice="required")).run("hi")

    plain, notools = (r.body for r in server.requests)
    assert set(plain) == {"model", "messages"}
    assert "tool_choice" not in notools  # the API rejects tool_choice without tools


async def test_anthropic_maps_settings_to_its_own_names_and_always_sends_max_tokens(
    server: ProviderServer, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    server.reply(message(text("Fine.")))
    server.reply(message(text("Fine.")))
    model = AnthropicModel("claude-test", api_key=KEY, base_url=server.origin, max_tokens=333)
    agent = Agent(
        "w", "", model, [get_weather],
        settings=ModelSettings(temperature=0.1, top_p=0.9, stop=["STOP"], tool_choice="required",
                               parallel_tool_calls=False, extra={"top_k": 5}),
    )

    await agent.run("weather?", tracer_provider=tracer_provider)
    await agent.run("weather?", settings=ModelSettings(max_tokens=20, tool_choice="get_weather"))

    first, second = (r.body for r in server.requests)
    assert first["max_tokens"] == 333
    assert first["temperature"] == 0.1
    assert first["top_p"] == 0.9
    assert first["stop_sequences"] == ["STOP"]
    assert first["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert first["top_k"] == 5
    assert "stop" not in first and "seed" not in first
    assert second["max_tokens"] == 20
    assert second["tool_choice"] == {
        "type": "tool", "name": "get_weather", "disable_parallel_tool_use": True,
    }
    chat = next(s for s in exporter.get_finished_spans() if s.name.startswith("chat"))
    assert chat.attributes[sc.REQUEST_MAX_TOKENS] == 333
    assert chat.attributes[sc.REQUEST_TEMPERATURE] == 0.1


async def test_streamed_requests_carry_the_settings_too(server: ProviderServer) -> None:
    server.reply(completion("Fine."))  # a server may answer a stream request with plain JSON
    model = OpenAIChatModel("gpt-test", api_key=KEY, base_url=f"{server.origin}/v1")
    agent = Agent("w", "", model, settings=ModelSettings(temperature=0.0, seed=1))

    events = [e async for e in agent.stream("hi")]

    body = server.requests[0].body
    assert body["stream"] is True
    assert body["temperature"] == 0.0 and body["seed"] == 1
    assert events


async def test_the_scripted_model_accepts_settings_and_ignores_them() -> None:
    agent = Agent(
        "s", "", ScriptedModel(["ok"], settings=ModelSettings(seed=3)),
        settings=ModelSettings(temperature=0.5),
    )

    result = await agent.run("hi", settings=ModelSettings(max_tokens=5))

    assert result.output == "ok"


async def test_a_model_written_before_settings_existed_still_runs_with_them() -> None:
    from collections.abc import Sequence
    from typing import Any

    from lumos_core.messages import Message, ModelResponse
    from lumos_core.models import Model

    class OldModel(Model):
        async def request(
            self, instructions: str | None, messages: Sequence[Message],
            tools: Sequence[dict[str, Any]],
        ) -> ModelResponse:
            return ModelResponse(Message.assistant('{"response": 3}'))

    agent = Agent("old", "", OldModel("old"), settings=ModelSettings(temperature=0.1),
                  output_type=int)

    assert (await agent.run("n?")).output == 3
    assert [e async for e in agent.stream("n?")][-1].result.output == 3

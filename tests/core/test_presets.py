"""Every provider preset against a real local server speaking its wire format, plain and streamed.

Each preset's base URL is pointed at 127.0.0.1 (by its ``<PRESET>_BASE_URL`` variable or by
``base_url=``), keeping the path of the vendor's real endpoint, so the test sees the exact path,
auth header and model a vendor would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lumos_core import Agent
from lumos_core.messages import Message, ToolCallPart, Usage
from lumos_core.models import (
    NO_RETRY,
    PRESETS,
    ModelError,
    ModelHTTPError,
    Preset,
    ResponseCompleted,
    ToolCallDelta,
    resolve_model,
)
from lumos_core.models._http import HTTPModel
from lumos_core.models.anthropic import AnthropicModel
from lumos_core.models.openai import OpenAIChatModel
from lumos_core.models.presets import AZURE_API_VERSION
from tests.core.provider_server import ProviderServer, running_server, sse

REQUIRED = {
    "openai", "azure-openai", "anthropic", "gemini", "deepseek", "qwen", "zhipu", "moonshot",
    "mistral", "groq", "openrouter", "together", "xai", "ollama", "vllm", "lmstudio",
}
TOOL = {"name": "get_weather", "description": "Weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with running_server() as state:
        yield state


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key or URL from the developer's shell may leak in (or send a test to the internet)."""
    for preset in PRESETS.values():
        monkeypatch.delenv(preset.base_url_env, raising=False)
        if preset.api_key_env:
            monkeypatch.delenv(preset.api_key_env, raising=False)
        for variable in preset.query_env.values():
            monkeypatch.delenv(variable, raising=False)


def key_for(preset: Preset) -> str:
    return f"sk-{preset.name}-test-0123456789-SECRET"


def local_base(preset: Preset, server: ProviderServer) -> str:
    """The local server, with the path the vendor's real base URL has."""
    return server.origin + urlsplit(preset.base_url).path


def expected_path(preset: Preset, model_name: str) -> str:
    base_path = urlsplit(preset.base_url).path
    if preset.name == "azure-openai":
        return (f"/openai/deployments/{model_name}/chat/completions"
                f"?api-version={AZURE_API_VERSION}")
    if preset.wire == "anthropic":
        return base_path + "/v1/messages"
    return base_path + "/chat/completions"


def assert_auth(preset: Preset, headers: dict[str, str], key: str | None) -> None:
    if key is None:
        assert "authorization" not in headers
        assert "x-api-key" not in headers
    elif preset.name == "azure-openai":
        assert headers["api-key"] == key
        assert "authorization" not in headers
    elif preset.wire == "anthropic":
        assert headers["x-api-key"] == key
    else:
        assert headers["authorization"] == f"Bearer {key}"


def openai_completion(model_name: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "model": model_name,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Sunny."}}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 2},
    }


def anthropic_message(model_name: str) -> dict[str, Any]:
    return {
        "id": "msg_1", "type": "message", "role": "assistant", "model": model_name,
        "content": [{"type": "text", "text": "Sunny."}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 11, "output_tokens": 2},
    }


def openai_tool_stream(model_name: str) -> tuple[str, ...]:
    """A streamed reply that calls a tool in two argument pieces, then reports usage."""

    def chunk(delta: dict[str, Any] | None, finish: str | None = None,
              usage: dict[str, int] | None = None) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        return sse({"id": "chatcmpl-s", "object": "chat.completion.chunk", "model": model_name,
                    "choices": choices, "usage": usage})

    return (
        chunk({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
               "function": {"name": "get_weather", "arguments": '{"city":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Rome"}'}}]}),
        chunk({}, finish="tool_calls"),
        chunk(None, usage={"prompt_tokens": 30, "completion_tokens": 7}),
        sse("[DONE]"),
    )


def anthropic_tool_stream(model_name: str) -> tuple[str, ...]:
    def event(data: dict[str, Any]) -> str:
        return sse(data, event=data["type"])

    return (
        event({"type": "message_start", "message": {
            "id": "msg_s", "type": "message", "role": "assistant", "model": model_name,
            "content": [], "stop_reason": None,
            "usage": {"input_tokens": 30, "output_tokens": 1}}}),
        event({"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}}}),
        event({"type": "content_block_delta", "index": 0,
               "delta": {"type": "input_json_delta", "partial_json": '{"city":'}}),
        event({"type": "content_block_delta", "index": 0,
               "delta": {"type": "input_json_delta", "partial_json": '"Rome"}'}}),
        event({"type": "content_block_stop", "index": 0}),
        event({"type": "message_delta", "delta": {"stop_reason": "tool_use"},
               "usage": {"output_tokens": 7}}),
        event({"type": "message_stop"}),
    )


def test_every_required_preset_is_known() -> None:
    assert set(PRESETS) >= REQUIRED
    for preset in PRESETS.values():
        assert preset.wire in ("openai", "anthropic")
        assert preset.base_url_env
        assert preset.api_key_env or not preset.key_required


@pytest.mark.parametrize("name", sorted(PRESETS))
async def test_preset_request_reaches_the_right_path_with_its_key(
    name: str, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    preset = PRESETS[name]
    key = key_for(preset) if preset.api_key_env else None
    if key is not None and preset.api_key_env:
        monkeypatch.setenv(preset.api_key_env, key)
    monkeypatch.setenv(preset.base_url_env, local_base(preset, server))
    model_name = f"{name}-model-1"
    server.reply(anthropic_message(model_name) if preset.wire == "anthropic"
                 else openai_completion(model_name))

    model = resolve_model(f"{name}:{model_name}")
    response = await model.request("Be brief.", [Message.user("Weather in Rome?")], [TOOL])

    expected_class = AnthropicModel if preset.wire == "anthropic" else OpenAIChatModel
    assert isinstance(model, expected_class)
    assert model.provider_name == preset.provider_name
    assert response.message.text == "Sunny."
    assert response.usage == Usage(11, 2)
    [seen] = server.requests
    assert seen.path == expected_path(preset, model_name)
    assert seen.body["model"] == model_name
    assert_auth(preset, seen.headers, key)


@pytest.mark.parametrize("name", sorted(PRESETS))
async def test_preset_streams_a_tool_call_and_usage(name: str, server: ProviderServer) -> None:
    preset = PRESETS[name]
    key = key_for(preset) if preset.api_key_env else None
    model_name = f"{name}-model-2"
    server.stream(*(anthropic_tool_stream(model_name) if preset.wire == "anthropic"
                    else openai_tool_stream(model_name)))

    model = resolve_model(f"{name}:{model_name}", api_key=key,
                          base_url=local_base(preset, server))
    events = [e async for e in model.stream(None, [Message.user("Weather in Rome?")], [TOOL])]

    pieces = "".join(e.arguments for e in events if isinstance(e, ToolCallDelta))
    assert json.loads(pieces) == {"city": "Rome"}
    done = events[-1]
    assert isinstance(done, ResponseCompleted)
    assert list(done.response.message.tool_calls) == [
        ToolCallPart("call_1", "get_weather", {"city": "Rome"})
    ]
    assert done.response.usage == Usage(30, 7)
    [seen] = server.requests
    assert seen.path == expected_path(preset, model_name)
    assert seen.body["model"] == model_name
    assert seen.body["stream"] is True
    assert_auth(preset, seen.headers, key)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_default_base_urls_and_no_request_at_definition(name: str) -> None:
    """Defining an agent needs neither a key nor a reachable server."""
    preset = PRESETS[name]
    agent = Agent("a", model=f"{name}:some-model")
    model = agent.model
    assert isinstance(model, HTTPModel)
    assert model.base_url == preset.base_url.rstrip("/")


def test_local_presets_point_at_localhost() -> None:
    ports = {name: PRESETS[name].base_url for name in ("ollama", "vllm", "lmstudio")}
    assert ports == {
        "ollama": "http://localhost:11434/v1",
        "vllm": "http://localhost:8000/v1",
        "lmstudio": "http://localhost:1234/v1",
    }


async def test_optional_key_is_sent_when_set(
    server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VLLM_API_KEY", "vllm-secret")
    server.reply(openai_completion("m"))

    model = resolve_model("vllm:m", base_url=f"{server.origin}/v1")
    await model.request(None, [Message.user("hi")], [])

    assert server.requests[0].headers["authorization"] == "Bearer vllm-secret"


async def test_constructor_base_url_beats_the_environment(
    server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPSEEK_BASE_URL", "http://127.0.0.1:9/never")
    server.reply(openai_completion("deepseek-chat"))

    model = resolve_model("deepseek:deepseek-chat", api_key="k", base_url=f"{server.origin}/x/v1")
    await model.request(None, [Message.user("hi")], [])

    assert server.requests[0].path == "/x/v1/chat/completions"


async def test_azure_api_version_comes_from_the_environment(
    server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-secret")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.origin + "/")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-01-01-preview")
    server.reply(openai_completion("prod gpt"))

    model = resolve_model("azure-openai:prod gpt")
    await model.request(None, [Message.user("hi")], [])

    assert server.requests[0].path == (
        "/openai/deployments/prod%20gpt/chat/completions?api-version=2025-01-01-preview"
    )


async def test_azure_without_an_endpoint_says_which_variable_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-secret")
    model = resolve_model("azure-openai:my-deployment")

    with pytest.raises(ModelError, match="AZURE_OPENAI_ENDPOINT"):
        await model.request(None, [Message.user("hi")], [])


@pytest.mark.parametrize("name", sorted(n for n, p in PRESETS.items() if p.key_required))
async def test_a_missing_key_names_the_preset_and_its_variable(name: str) -> None:
    preset = PRESETS[name]
    agent = Agent("keyless", model=f"{name}:some-model")

    with pytest.raises(ModelError) as caught:
        await agent.run("hi")

    assert f"{name!r} provider" in str(caught.value)
    assert f"set {preset.api_key_env}" in str(caught.value)


def test_an_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown provider 'bedrock'") as caught:
        resolve_model("bedrock:claude")

    for name in REQUIRED:
        assert name in str(caught.value)


def test_a_preset_without_a_model_name_says_how_to_write_it() -> None:
    with pytest.raises(ValueError, match="'groq:<model name>'"):
        resolve_model("groq:")


async def test_an_error_status_names_preset_variable_status_and_message(
    server: ProviderServer,
) -> None:
    key = "sk-deepseek-SECRET-0123456789"
    server.reply({"error": {"message": f"Authentication Fails, your api key: {key} is invalid",
                            "type": "authentication_error"}}, 401)
    model = resolve_model("deepseek:deepseek-chat", api_key=key,
                          base_url=f"{server.origin}/v1", retry=NO_RETRY)

    with pytest.raises(ModelHTTPError) as caught:
        await model.request(None, [Message.user("hi")], [])

    message = str(caught.value)
    assert caught.value.status_code == 401
    assert message.startswith(f"deepseek ({server.origin}/v1) answered HTTP 401")
    assert "Authentication Fails" in message
    assert "DEEPSEEK_API_KEY" in message
    assert key not in message


def test_the_readme_lists_every_preset_and_its_key_variable() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for preset in PRESETS.values():
        assert f"`{preset.name}`" in readme
        if preset.api_key_env:
            assert f"`{preset.api_key_env}`" in readme

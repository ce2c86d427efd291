"""OpenAI-compatible Chat Completions over httpx: OpenAI itself or any server speaking its protocol.

``request`` sends one completion; ``stream`` asks for server-sent events (``"stream": true`` with
usage in the last chunk), yields text and tool-call pieces as they arrive and assembles the reply.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lumos_core.messages import (
    Message,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
)
from lumos_core.models._http import (
    INVALID_ARGUMENTS_KEY,
    HTTPModel,
    ToolCallBuffer,
    error_message,
    loads_object,
    parse_arguments,
    server_sent_events,
)
from lumos_core.models.base import (
    ModelError,
    ModelStreamEvent,
    ResponseCompleted,
    TextDelta,
    ToolCallDelta,
    response_events,
)
from lumos_core.settings import ModelSettings

if TYPE_CHECKING:
    from lumos_core.output import OutputSchema

__all__ = ["API_KEY_ENV", "BASE_URL_ENV", "INVALID_ARGUMENTS_KEY", "OpenAIChatModel"]

DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
API_KEY_ENV: Final = "OPENAI_API_KEY"
BASE_URL_ENV: Final = "OPENAI_BASE_URL"
_PATH: Final = "/chat/completions"
_SCHEMA_NAME: Final = re.compile(r"[^a-zA-Z0-9_-]")
#: Tool choices sent as they are; anything else names the one tool to call.
_TOOL_CHOICES: Final = frozenset({"auto", "none", "required"})


class OpenAIChatModel(HTTPModel):
    """A model behind ``POST {base_url}/chat/completions``.

    ``api_key`` falls back to ``$OPENAI_API_KEY`` when a request is made (so agents can be defined
    without a key), ``base_url`` to ``$OPENAI_BASE_URL`` or OpenAI's own endpoint. ``timeout`` is
    in seconds per request. ``settings`` apply to every request (agent and run settings win).
    Structured output uses ``response_format`` with a JSON schema.
    """

    provider_name = "openai"
    api_key_env = API_KEY_ENV
    base_url_env = BASE_URL_ENV
    default_base_url = DEFAULT_BASE_URL
    protocol = "OpenAI Chat Completions"
    native_output = True

    def __init__(
        self, model_name: str, *, settings: ModelSettings | None = None, **options: Any
    ) -> None:
        super().__init__(model_name, **options)
        self.settings = settings

    async def request(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        settings: ModelSettings | None = None,
        output: OutputSchema | None = None,
    ) -> ModelResponse:
        """Send one Chat Completions request and translate the reply (or the failure)."""
        api_key = self._require_key()
        body = self._body(
            instructions, messages, tools, self.effective_settings(settings), output, stream=False
        )
        content = await self._post(_PATH, body, _headers(api_key), api_key)
        return self._parse(content, api_key)

    async def stream(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        settings: ModelSettings | None = None,
        output: OutputSchema | None = None,
    ) -> AsyncIterator[ModelStreamEvent]:
        """Stream one completion; a server that ignores ``stream`` and answers JSON still works."""
        api_key = self._require_key()
        body = self._body(
            instructions, messages, tools, self.effective_settings(settings), output, stream=True
        )
        state = _StreamState(self._display_url())
        async with self._open_stream(_PATH, body, _headers(api_key), api_key) as response:
            if response.headers.get("content-type", "").startswith("application/json"):
                for event in response_events(self._parse(await response.aread(), api_key)):
                    yield event
                return
            async for sse in server_sent_events(response):
                if sse.data.strip() == "[DONE]":
                    state.done = True
                    break
                for event in state.feed(self._chunk(sse.data, api_key)):
                    yield event
        if not state.done and state.finish_reason is None:
            raise ModelError(
                f"the stream from {self._display_url()} ended before the reply was complete "
                "(no finish_reason and no [DONE]); try again"
            )
        yield ResponseCompleted(state.response(self.model_name))

    def _body(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        settings: ModelSettings | None,
        output: OutputSchema | None,
        *,
        stream: bool,
    ) -> bytes:
        payload: dict[str, Any] = {
            "model": self.model_name,
            "messages": _openai_messages(instructions, messages),
        }
        if tools:
            payload["tools"] = [_openai_tool(definition) for definition in tools]
        if settings is not None:
            _apply_settings(payload, settings, bool(tools))
        if output is not None:
            payload["response_format"] = _response_format(output)
        if stream:
            payload["stream"] = True
            payload["stream_options"] = {"include_usage": True}
        return orjson.dumps(payload)

    def _parse(self, content: bytes, api_key: str) -> ModelResponse:
        try:
            completion = _Completion.model_validate_json(content)
        except ValidationError as exc:
            raise self._malformed(
                f"a reply that is not a chat completion ({exc.error_count()} problems); "
                "body starts",
                content.decode(errors="replace"),
                api_key,
            ) from None
        if not completion.choices:
            raise ModelError(f"{self._display_url()} sent a chat completion with no choices")
        choice = completion.choices[0]
        parts: list[TextPart | ToolCallPart] = []
        text = _content_text(choice.message.content) or choice.message.refusal
        if text:
            parts.append(TextPart(text))
        for call in choice.message.tool_calls or ():
            parts.append(
                ToolCallPart(call.id, call.function.name, parse_arguments(call.function.arguments))
            )
        usage = completion.usage
        return _reply(
            parts,
            choice.finish_reason,
            Usage(
                (usage.prompt_tokens or 0) if usage else 0,
                (usage.completion_tokens or 0) if usage else 0,
            ),
            completion.model or self.model_name,
            completion.id,
        )

    def _chunk(self, data: str, api_key: str) -> _Chunk:
        parsed = loads_object(data)
        if parsed is None:
            raise self._malformed("a stream event that is not a JSON object", data, api_key)
        if "error" in parsed:
            raise ModelError(
                f"{self._display_url()} reported an error mid-stream: "
                f"{error_message(parsed) or data[:300]}; try again"
            )
        try:
            return _Chunk.model_validate(parsed)
        except ValidationError as exc:
            raise self._malformed(
                f"a stream event that is not a chat completion chunk ({exc.error_count()} "
                "problems)", data, api_key,
            ) from None


@dataclass(slots=True)
class _StreamState:
    """A completion being assembled from its chunks."""

    source: str
    text: list[str] = field(default_factory=list)
    calls: ToolCallBuffer = field(default_factory=ToolCallBuffer)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    id: str | None = None
    done: bool = False

    def feed(self, chunk: _Chunk) -> Iterator[ModelStreamEvent]:
        self.id = self.id or chunk.id
        self.model = self.model or chunk.model
        if chunk.usage is not None:
            self.usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            text = choice.delta.content or choice.delta.refusal
            if text:
                self.text.append(text)
                yield TextDelta(text)
            for call in choice.delta.tool_calls or ():
                yield from self._feed_call(call)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason

    def _feed_call(self, call: _DeltaToolCall) -> Iterator[ToolCallDelta]:
        index = call.index
        if index is None:  # some compatible servers send whole calls without an index
            index = len(self.calls.calls) if call.id else max(self.calls.calls, default=0)
        name = call.function.name if call.function else None
        arguments = (call.function.arguments if call.function else None) or ""
        if index not in self.calls:
            if not name:
                raise ModelError(
                    f"{self.source} streamed a tool call (index {index}) without a function "
                    "name; check that the server supports tool calls when streaming"
                )
            call_id = call.id or f"call_{index}"
            self.calls.start(index, call_id, name)
            self.calls.add(index, arguments)
            yield ToolCallDelta(index, call_id, name, arguments)
        elif arguments:
            self.calls.add(index, arguments)
            yield ToolCallDelta(index, arguments=arguments)

    def response(self, default_model: str) -> ModelResponse:
        parts: list[TextPart | ToolCallPart] = []
        if self.text:
            parts.append(TextPart("".join(self.text)))
        parts.extend(self.calls.parts().values())
        return _reply(parts, self.finish_reason, self.usage, self.model or default_model, self.id)


class _Function(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    arguments: str | None = None


class _ToolCall(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    function: _Function


class _ChoiceMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    content: str | list[dict[str, Any]] | None = None
    refusal: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(BaseModel):
    model_config = ConfigDict(extra="ignore")
    message: _ChoiceMessage
    finish_reason: str | None = None


class _Usage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class _Completion(BaseModel):
    """The part of a Chat Completions reply we use; providers add fields freely."""

    model_config = ConfigDict(extra="ignore")
    id: str | None = None
    model: str | None = None
    choices: list[_Choice]
    usage: _Usage | None = None


class _DeltaFunction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    arguments: str | None = None


class _DeltaToolCall(BaseModel):
    model_config = ConfigDict(extra="ignore")
    index: int | None = None
    id: str | None = None
    function: _DeltaFunction | None = None


class _Delta(BaseModel):
    model_config = ConfigDict(extra="ignore")
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[_DeltaToolCall] | None = None


class _ChunkChoice(BaseModel):
    model_config = ConfigDict(extra="ignore")
    index: int = 0
    delta: _Delta = Field(default_factory=_Delta)
    finish_reason: str | None = None


class _Chunk(BaseModel):
    """One ``chat.completion.chunk``; the last carries usage and no choices."""

    model_config = ConfigDict(extra="ignore")
    id: str | None = None
    model: str | None = None
    choices: list[_ChunkChoice] = Field(default_factory=list)
    usage: _Usage | None = None


def _reply(
    parts: list[TextPart | ToolCallPart],
    finish_reason: str | None,
    usage: Usage,
    model_name: str,
    response_id: str | None,
) -> ModelResponse:
    """A whole reply or an assembled stream; without a finish reason it is ``tool_calls`` when the
    reply calls tools, else ``stop``."""
    if not finish_reason:
        finish_reason = "tool_calls" if any(isinstance(p, ToolCallPart) for p in parts) else "stop"
    return ModelResponse(
        message=Message("assistant", tuple(parts), finish_reason=finish_reason),
        usage=usage,
        model_name=model_name,
        response_id=response_id,
    )


def _apply_settings(payload: dict[str, Any], settings: ModelSettings, has_tools: bool) -> None:
    """Settings in Chat Completions' words; tool options only when tools are on offer (the API
    rejects them otherwise); ``extra`` last, so it can set anything."""
    for key, value in (
        ("temperature", settings.temperature),
        ("max_tokens", settings.max_tokens),
        ("top_p", settings.top_p),
        ("seed", settings.seed),
    ):
        if value is not None:
            payload[key] = value
    if settings.stop:
        payload["stop"] = list(settings.stop)
    if has_tools and settings.tool_choice is not None:
        choice = settings.tool_choice
        payload["tool_choice"] = (
            choice if choice in _TOOL_CHOICES
            else {"type": "function", "function": {"name": choice}}
        )
    if has_tools and settings.parallel_tool_calls is not None:
        payload["parallel_tool_calls"] = settings.parallel_tool_calls
    if settings.extra:
        payload.update(settings.extra)


def _response_format(output: OutputSchema) -> dict[str, Any]:
    """A JSON-schema ``response_format``; the name keeps to the characters the API allows."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": _SCHEMA_NAME.sub("_", output.name)[:64] or "result",
            "description": output.description,
            "schema": output.json_schema,
            "strict": output.strict,
        },
    }


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}


def _openai_messages(instructions: str | None, messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Our messages as Chat Completions messages; each tool result becomes its own message."""
    converted: list[dict[str, Any]] = []
    if instructions:
        converted.append({"role": "system", "content": instructions})
    for message in messages:
        results = [p for p in message.parts if isinstance(p, ToolResultPart)]
        converted.extend(
            {"role": "tool", "tool_call_id": r.id, "content": r.result} for r in results
        )
        if message.role == "tool":
            continue
        text = message.text
        calls = message.tool_calls
        if message.role == "assistant" and calls:
            converted.append(
                {
                    "role": "assistant",
                    "content": text or None,
                    "tool_calls": [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": _dump_arguments(c)},
                        }
                        for c in calls
                    ],
                }
            )
        elif text or not results:
            converted.append({"role": message.role, "content": text})
    return converted


def _openai_tool(definition: dict[str, Any]) -> dict[str, Any]:
    """``Tool.definition()`` (flat) in OpenAI's nested ``{"type", "function": {...}}`` shape."""
    function: dict[str, Any] = {
        "name": definition["name"],
        "parameters": definition.get("parameters") or {"type": "object", "properties": {}},
    }
    if definition.get("description"):
        function["description"] = definition["description"]
    return {"type": "function", "function": function}


def _dump_arguments(call: ToolCallPart) -> str:
    raw = call.arguments.get(INVALID_ARGUMENTS_KEY)
    if len(call.arguments) == 1 and isinstance(raw, str):
        return raw
    return orjson.dumps(call.arguments).decode()


def _content_text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return content or ""


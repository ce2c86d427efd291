"""Anthropic's Messages API over httpx: ``POST {base_url}/v1/messages``, plain or streamed (SSE).

Our conversation maps onto it directly: instructions go in the top-level ``system``, tool calls
are assistant ``tool_use`` blocks and tool results user ``tool_result`` blocks (consecutive
messages of one role are merged, as the API expects turns to alternate).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import httpx
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
    HTTPModel,
    RetryPolicy,
    ToolCallBuffer,
    error_message,
    loads_object,
    server_sent_events,
)
from lumos_core.models.base import (
    ModelError,
    ModelStreamEvent,
    ResponseCompleted,
    TextDelta,
    ToolCallDelta,
)
from lumos_core.settings import ModelSettings

if TYPE_CHECKING:
    from lumos_core.output import OutputSchema

__all__ = ["API_KEY_ENV", "API_VERSION", "BASE_URL_ENV", "AnthropicModel"]

DEFAULT_BASE_URL: Final = "https://api.anthropic.com"
API_KEY_ENV: Final = "ANTHROPIC_API_KEY"
BASE_URL_ENV: Final = "ANTHROPIC_BASE_URL"
API_VERSION: Final = "2023-06-01"
_PATH: Final = "/v1/messages"

#: Anthropic's stop reasons in the words the rest of the core uses (OpenAI's).
_FINISH_REASONS: Final = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


class AnthropicModel(HTTPModel):
    """A Claude model behind the Messages API.

    ``api_key`` falls back to ``$ANTHROPIC_API_KEY`` when a request is made, ``base_url`` to
    ``$ANTHROPIC_BASE_URL`` or Anthropic's endpoint. ``max_tokens`` (required by the API) caps
    each reply unless ``settings`` (here, the agent's or the run's) set one. Structured output
    travels as a ``final_result`` tool call (the agent offers the tool and forces it).
    """

    provider_name = "anthropic"
    api_key_env = API_KEY_ENV
    base_url_env = BASE_URL_ENV
    default_base_url = DEFAULT_BASE_URL
    protocol = "the Anthropic Messages API"

    def __init__(
        self,
        model_name: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 60.0,
        max_tokens: int = 4096,
        connect_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        settings: ModelSettings | None = None,
    ) -> None:
        super().__init__(
            model_name, api_key=api_key, base_url=base_url, http_client=http_client,
            timeout=timeout, connect_timeout=connect_timeout, retry=retry,
        )
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        self.max_tokens = max_tokens
        # The API needs max_tokens on every request: as a model setting, spans record it too.
        self.settings = ModelSettings(max_tokens=max_tokens).merged(settings)

    async def request(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        settings: ModelSettings | None = None,
        output: OutputSchema | None = None,
    ) -> ModelResponse:
        """Send one Messages request and translate the reply (or the failure)."""
        api_key = self._require_key()
        body = self._body(
            instructions, messages, tools, self.effective_settings(settings), stream=False
        )
        content = await self._post(_PATH, body, _headers(api_key), api_key)
        try:
            reply = _Message.model_validate_json(content)
        except ValidationError as exc:
            raise self._malformed(
                f"a reply that is not a message ({exc.error_count()} problems); body starts",
                content.decode(errors="replace"),
                api_key,
            ) from None
        parts: list[TextPart | ToolCallPart] = []
        for block in reply.content:
            if block.type == "text" and block.text:
                parts.append(TextPart(block.text))
            elif block.type == "tool_use":
                parts.append(ToolCallPart(block.id or "", block.name or "", block.input or {}))
        return ModelResponse(
            message=Message("assistant", tuple(parts), finish_reason=_finish(reply.stop_reason)),
            usage=Usage(reply.usage.input_tokens, reply.usage.output_tokens),
            model_name=reply.model or self.model_name,
            response_id=reply.id,
        )

    async def stream(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        settings: ModelSettings | None = None,
        output: OutputSchema | None = None,
    ) -> AsyncIterator[ModelStreamEvent]:
        """Stream one Messages request: text and ``input_json_delta`` pieces as they arrive."""
        api_key = self._require_key()
        body = self._body(
            instructions, messages, tools, self.effective_settings(settings), stream=True
        )
        state = _StreamState(self._display_url())
        async with self._open_stream(_PATH, body, _headers(api_key), api_key) as response:
            async for sse in server_sent_events(response):
                data = loads_object(sse.data)
                if data is None:
                    raise self._malformed("a stream event that is not a JSON object",
                                          sse.data, api_key)
                for event in state.feed(data):
                    yield event
                if state.stopped:
                    break
        if not state.stopped:
            raise ModelError(
                f"the stream from {self._display_url()} ended before message_stop; try again"
            )
        yield ResponseCompleted(state.response(self.model_name))

    def _body(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        settings: ModelSettings | None,
        *,
        stream: bool,
    ) -> bytes:
        converted, system = _anthropic_messages(messages)
        if instructions:
            system.insert(0, instructions)
        payload: dict[str, Any] = {
            "model": self.model_name,
            "max_tokens": (settings and settings.max_tokens) or self.max_tokens,
            "messages": converted,
        }
        if system:
            payload["system"] = "\n\n".join(system)
        if tools:
            payload["tools"] = [_anthropic_tool(definition) for definition in tools]
        if settings is not None:
            _apply_settings(payload, settings, bool(tools))
        if stream:
            payload["stream"] = True
        return orjson.dumps(payload)


@dataclass(slots=True)
class _StreamState:
    """A message being assembled from its events; content blocks are kept by index."""

    source: str
    text: dict[int, list[str]] = field(default_factory=dict)
    calls: ToolCallBuffer = field(default_factory=ToolCallBuffer)
    input_tokens: int = 0
    output_tokens: int = 0
    stop_reason: str | None = None
    model: str | None = None
    id: str | None = None
    stopped: bool = False

    def feed(self, data: dict[str, Any]) -> Iterator[ModelStreamEvent]:
        kind = data.get("type")
        try:
            if kind == "message_start":
                self._start(data["message"])
            elif kind == "content_block_start":
                yield from self._block_start(data["index"], data["content_block"])
            elif kind == "content_block_delta":
                yield from self._block_delta(data["index"], data["delta"])
            elif kind == "message_delta":
                self.stop_reason = data["delta"].get("stop_reason") or self.stop_reason
                self._usage(data.get("usage") or {})
            elif kind == "message_stop":
                self.stopped = True
            elif kind == "error":
                raise ModelError(
                    f"{self.source} reported an error mid-stream: "
                    f"{error_message(data) or 'no details'}; try again"
                )
            # ping, content_block_stop and event types added later carry nothing we need.
        except (KeyError, TypeError, AttributeError) as exc:
            raise ModelError(
                f"{self.source} sent a {kind or 'typeless'} event without the fields it needs "
                f"({type(exc).__name__}: {exc}); check that the base URL points at a server "
                "speaking the Anthropic Messages API"
            ) from None

    def _start(self, message: dict[str, Any]) -> None:
        self.id = message.get("id")
        self.model = message.get("model")
        self._usage(message.get("usage") or {})

    def _usage(self, usage: dict[str, Any]) -> None:
        # message_delta's counts are cumulative: the latest value is the total.
        if isinstance(usage.get("input_tokens"), int):
            self.input_tokens = usage["input_tokens"]
        if isinstance(usage.get("output_tokens"), int):
            self.output_tokens = usage["output_tokens"]

    def _block_start(self, index: int, block: dict[str, Any]) -> Iterator[ModelStreamEvent]:
        if block["type"] == "text":
            self.text[index] = []
            if block.get("text"):
                self.text[index].append(block["text"])
                yield TextDelta(block["text"])
        elif block["type"] == "tool_use":
            self.calls.start(index, block["id"], block["name"])
            yield ToolCallDelta(index, block["id"], block["name"])

    def _block_delta(self, index: int, delta: dict[str, Any]) -> Iterator[ModelStreamEvent]:
        if delta["type"] == "text_delta":
            self.text.setdefault(index, []).append(delta["text"])
            yield TextDelta(delta["text"])
        elif delta["type"] == "input_json_delta":
            if index not in self.calls:
                raise ModelError(
                    f"{self.source} sent tool input for content block {index}, which is not a "
                    "tool_use block"
                )
            self.calls.add(index, delta["partial_json"])
            if delta["partial_json"]:
                yield ToolCallDelta(index, arguments=delta["partial_json"])

    def response(self, default_model: str) -> ModelResponse:
        blocks: dict[int, TextPart | ToolCallPart] = dict(self.calls.parts())
        blocks.update((i, TextPart("".join(t))) for i, t in self.text.items() if t)
        return ModelResponse(
            message=Message(
                "assistant",
                tuple(part for _, part in sorted(blocks.items())),
                finish_reason=_finish(self.stop_reason),
            ),
            usage=Usage(self.input_tokens, self.output_tokens),
            model_name=self.model or default_model,
            response_id=self.id,
        )


class _Block(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: dict[str, Any] | None = None


class _Usage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    input_tokens: int = 0
    output_tokens: int = 0


class _Message(BaseModel):
    """The part of a Messages reply we use."""

    model_config = ConfigDict(extra="ignore")
    id: str | None = None
    model: str | None = None
    content: list[_Block]
    stop_reason: str | None = None
    usage: _Usage = Field(default_factory=_Usage)


def _apply_settings(payload: dict[str, Any], settings: ModelSettings, has_tools: bool) -> None:
    """Settings in the Messages API's words. It has no ``seed`` (send one in ``extra`` if a
    compatible server takes it); ``parallel_tool_calls=False`` is ``disable_parallel_tool_use``."""
    if settings.temperature is not None:
        payload["temperature"] = settings.temperature
    if settings.top_p is not None:
        payload["top_p"] = settings.top_p
    if settings.stop:
        payload["stop_sequences"] = list(settings.stop)
    if has_tools and (settings.tool_choice is not None or settings.parallel_tool_calls is False):
        choice: dict[str, Any] = {
            "auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"},
        }.get(settings.tool_choice or "auto") or {"type": "tool", "name": settings.tool_choice}
        if settings.parallel_tool_calls is False and choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
        payload["tool_choice"] = choice
    if settings.extra:
        payload.update(settings.extra)


def _headers(api_key: str) -> dict[str, str]:
    return {
        "x-api-key": api_key,
        "anthropic-version": API_VERSION,
        "content-type": "application/json",
    }


def _finish(stop_reason: str | None) -> str:
    return _FINISH_REASONS.get(stop_reason or "end_turn", stop_reason or "stop")


def _anthropic_messages(messages: Sequence[Message]) -> tuple[list[dict[str, Any]], list[str]]:
    """Our messages as Messages-API turns, and the text of any system messages among them."""
    converted: list[dict[str, Any]] = []
    system: list[str] = []
    for message in messages:
        if message.role == "system":
            system.append(message.text)
            continue
        blocks: list[dict[str, Any]] = []
        for part in message.parts:
            if isinstance(part, TextPart):
                if part.content:  # the API rejects empty text blocks
                    blocks.append({"type": "text", "text": part.content})
            elif isinstance(part, ToolCallPart):
                blocks.append(
                    {"type": "tool_use", "id": part.id, "name": part.name, "input": part.arguments}
                )
            elif isinstance(part, ToolResultPart):
                result: dict[str, Any] = {
                    "type": "tool_result", "tool_use_id": part.id, "content": part.result,
                }
                if part.is_error:
                    result["is_error"] = True
                blocks.append(result)
        if not blocks:
            continue
        role = "assistant" if message.role == "assistant" else "user"
        if converted and converted[-1]["role"] == role:
            converted[-1]["content"].extend(blocks)
        else:
            converted.append({"role": role, "content": blocks})
    return converted, system


def _anthropic_tool(definition: dict[str, Any]) -> dict[str, Any]:
    """``Tool.definition()`` as an Anthropic tool: ``{name, description, input_schema}``."""
    converted: dict[str, Any] = {
        "name": definition["name"],
        "input_schema": definition.get("parameters") or {"type": "object", "properties": {}},
    }
    if definition.get("description"):
        converted["description"] = definition["description"]
    return converted

"""OpenAI-compatible Chat Completions over httpx: OpenAI itself or any server speaking its protocol.

The HTTP client is injectable so tests (and callers with their own proxies or pools) can supply one.
Without one, each request opens and closes its own ``httpx.AsyncClient``: agents may run under a
fresh ``asyncio.run`` per call, and a client kept across calls would be bound to a closed loop.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Final

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from lumos_core.messages import (
    Message,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
)
from lumos_core.models.base import Model, ModelError, ModelHTTPError
from lumos_core.telemetry import semconv as sc

DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
API_KEY_ENV: Final = "OPENAI_API_KEY"
BASE_URL_ENV: Final = "OPENAI_BASE_URL"

#: When a model sends tool arguments that are not a JSON object, the raw text travels under this
#: key: the tool's validation rejects it (tools forbid unknown arguments), the model sees why, and
#: the next request sends the original text back unchanged.
INVALID_ARGUMENTS_KEY: Final = "invalid_json_arguments"

_REDACTED: Final = "[redacted]"
_MAX_ERROR_BODY: Final = 300


class OpenAIChatModel(Model):
    """A model behind ``POST {base_url}/chat/completions``.

    ``api_key`` falls back to ``$OPENAI_API_KEY`` when a request is made (so agents can be defined
    without a key), ``base_url`` to ``$OPENAI_BASE_URL`` or OpenAI's own endpoint. ``timeout`` is
    in seconds per request.
    """

    provider_name = "openai"

    def __init__(
        self,
        model_name: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 60.0,
    ) -> None:
        super().__init__(model_name)
        self._api_key = api_key
        self.base_url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        self.http_client = http_client
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_name!r}, base_url={self._display_url()!r})"

    def server_attributes(self) -> dict[str, Any]:
        """Host and port of the base URL, for the chat span."""
        try:
            url = httpx.URL(self.base_url)
        except httpx.InvalidURL:
            return {}
        if not url.host:
            return {}
        port = url.port or {"https": 443, "http": 80}.get(url.scheme)
        attributes: dict[str, Any] = {sc.SERVER_ADDRESS: url.host}
        if port is not None:
            attributes[sc.SERVER_PORT] = port
        return attributes

    async def request(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
    ) -> ModelResponse:
        """Send one Chat Completions request and translate the reply (or the failure)."""
        api_key = self._api_key or os.environ.get(API_KEY_ENV)
        if not api_key:
            raise ModelError(
                f"no API key for {self._display_url()}: set {API_KEY_ENV} "
                "or pass api_key= to OpenAIChatModel"
            )
        payload: dict[str, Any] = {
            "model": self.model_name,
            "messages": _openai_messages(instructions, messages),
        }
        if tools:
            payload["tools"] = [_openai_tool(definition) for definition in tools]
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        body = orjson.dumps(payload)
        if self.http_client is not None:
            response = await self._post(self.http_client, body, headers, api_key)
        else:
            async with httpx.AsyncClient() as client:
                response = await self._post(client, body, headers, api_key)
        if response.is_error:
            raise ModelHTTPError(response.status_code, self._describe_error(response, api_key))
        return self._parse(response, api_key)

    async def _post(
        self, client: httpx.AsyncClient, body: bytes, headers: dict[str, str], api_key: str
    ) -> httpx.Response:
        url = f"{self.base_url}/chat/completions"
        try:
            return await client.post(url, content=body, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise ModelError(
                f"request to {self._display_url()} timed out after {self.timeout:g}s "
                f"({type(exc).__name__}); try again or raise timeout="
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            reason = _redact(str(exc) or type(exc).__name__, api_key)
            raise ModelError(
                f"could not reach {self._display_url()}: {reason}; check {BASE_URL_ENV} "
                "(or base_url=) and that the server is running"
            ) from exc

    def _describe_error(self, response: httpx.Response, api_key: str) -> str:
        status = response.status_code
        detail = _redact(_error_detail(response), api_key)
        message = f"{self._display_url()} answered HTTP {status}"
        if detail:
            message += f": {detail}"
        hint = _status_hint(status)
        return f"{message} ({hint})" if hint else message

    def _parse(self, response: httpx.Response, api_key: str) -> ModelResponse:
        try:
            completion = _Completion.model_validate_json(response.content)
        except ValidationError as exc:
            snippet = _redact(response.text[:_MAX_ERROR_BODY], api_key)
            raise ModelError(
                f"{self._display_url()} sent a reply that is not a chat completion "
                f"({exc.error_count()} problems); body starts: {snippet!r}"
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
                ToolCallPart(call.id, call.function.name, _parse_arguments(call.function.arguments))
            )
        has_calls = any(isinstance(p, ToolCallPart) for p in parts)
        finish_reason = choice.finish_reason or ("tool_calls" if has_calls else "stop")
        usage = completion.usage
        return ModelResponse(
            message=Message("assistant", tuple(parts), finish_reason=finish_reason),
            usage=Usage(
                (usage.prompt_tokens or 0) if usage else 0,
                (usage.completion_tokens or 0) if usage else 0,
            ),
            model_name=completion.model or self.model_name,
            response_id=completion.id,
        )

    def _display_url(self) -> str:
        """The base URL without any ``user:password@`` it may carry."""
        try:
            return str(httpx.URL(self.base_url).copy_with(userinfo=b""))
        except httpx.InvalidURL:
            return self.base_url


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


def _parse_arguments(raw: str | None) -> dict[str, Any]:
    """Arguments JSON as a dict; anything else is kept for the tool's validation to reject."""
    if raw is None or not raw.strip():
        return {}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {INVALID_ARGUMENTS_KEY: raw}
    return parsed if isinstance(parsed, dict) else {INVALID_ARGUMENTS_KEY: raw}


def _content_text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return content or ""


def _error_detail(response: httpx.Response) -> str:
    """The provider's own words: ``{"error": {"message": ...}}`` if present, else the body."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:_MAX_ERROR_BODY]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"]
    return response.text.strip()[:_MAX_ERROR_BODY]


def _status_hint(status: int) -> str:
    if status in (401, 403):
        return f"check {API_KEY_ENV} or the api_key passed to OpenAIChatModel"
    if status == 404:
        return "check the model name and the base URL"
    if status == 429:
        return "rate limited or out of quota; wait and try again"
    if status >= 500:
        return "the provider had an error; try again"
    return ""


def _redact(text: str, api_key: str) -> str:
    """Some servers echo the key back in errors; it must never reach a message or a span."""
    return text.replace(api_key, _REDACTED) if api_key else text

"""What HTTP providers share: key and base URL from arguments or the environment, an injectable
httpx client, errors that say what to do (never carrying the key), and server-sent events.

Without an injected client each request opens and closes its own ``httpx.AsyncClient``: agents may
run under a fresh ``asyncio.run`` per call, and a client kept across calls would be bound to a
closed loop.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

import httpx
import orjson

from lumos_core.messages import ToolCallPart
from lumos_core.models.base import Model, ModelError, ModelHTTPError
from lumos_core.telemetry import semconv as sc

#: When a model sends tool arguments that are not a JSON object, the raw text travels under this
#: key: the tool's validation rejects it (tools forbid unknown arguments), the model sees why, and
#: the next request sends the original text back unchanged.
INVALID_ARGUMENTS_KEY: Final = "invalid_json_arguments"

MAX_ERROR_BODY: Final = 300
_REDACTED: Final = "[redacted]"


class HTTPModel(Model):
    """A provider reached over HTTP. ``api_key`` falls back to ``$<api_key_env>`` when a request is
    made (so agents can be defined without a key), ``base_url`` to ``$<base_url_env>`` or the
    vendor's endpoint. ``timeout`` is in seconds (per request; per chunk when streaming)."""

    api_key_env: ClassVar[str]
    base_url_env: ClassVar[str]
    default_base_url: ClassVar[str]
    #: The wire protocol's name, for error messages.
    protocol: ClassVar[str]

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
        base = base_url or os.environ.get(self.base_url_env) or self.default_base_url
        self.base_url = base.rstrip("/")
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

    def _require_key(self) -> str:
        api_key = self._api_key or os.environ.get(self.api_key_env)
        if not api_key:
            raise ModelError(
                f"no API key for {self._display_url()}: set {self.api_key_env} "
                f"or pass api_key= to {type(self).__name__}"
            )
        return api_key

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        if self.http_client is not None:
            yield self.http_client
        else:
            async with httpx.AsyncClient() as client:
                yield client

    async def _post(self, path: str, body: bytes, headers: dict[str, str], api_key: str) -> bytes:
        """POST and return the body of a successful answer; failures become ``ModelError``s."""
        async with self._client() as client:
            try:
                response = await client.post(
                    self.base_url + path, content=body, headers=headers, timeout=self.timeout
                )
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise self._transport_error(exc, api_key) from exc
        if response.is_error:
            raise ModelHTTPError(response.status_code, self._describe_error(response, api_key))
        return response.content

    @asynccontextmanager
    async def _open_stream(
        self, path: str, body: bytes, headers: dict[str, str], api_key: str
    ) -> AsyncIterator[httpx.Response]:
        """POST and hold the answer open for reading; an error status is raised before the body
        is handed over, a broken connection while reading becomes a ``ModelError``."""
        reading = False
        async with self._client() as client:
            try:
                async with client.stream(
                    "POST", self.base_url + path, content=body, headers=headers,
                    timeout=self.timeout,
                ) as response:
                    if response.is_error:
                        await response.aread()
                        raise ModelHTTPError(
                            response.status_code, self._describe_error(response, api_key)
                        )
                    reading = True
                    yield response
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                if reading and not isinstance(exc, httpx.TimeoutException):
                    reason = redact(str(exc) or type(exc).__name__, api_key)
                    raise ModelError(
                        f"the connection to {self._display_url()} broke while the answer was "
                        f"streaming: {reason}; try again"
                    ) from exc
                raise self._transport_error(exc, api_key) from exc

    def _transport_error(self, exc: Exception, api_key: str) -> ModelError:
        if isinstance(exc, httpx.TimeoutException):
            return ModelError(
                f"request to {self._display_url()} timed out after {self.timeout:g}s "
                f"({type(exc).__name__}); try again or raise timeout="
            )
        reason = redact(str(exc) or type(exc).__name__, api_key)
        return ModelError(
            f"could not reach {self._display_url()}: {reason}; check {self.base_url_env} "
            "(or base_url=) and that the server is running"
        )

    def _describe_error(self, response: httpx.Response, api_key: str) -> str:
        status = response.status_code
        detail = redact(error_detail(response), api_key)
        message = f"{self._display_url()} answered HTTP {status}"
        if detail:
            message += f": {detail}"
        hint = self._status_hint(status)
        return f"{message} ({hint})" if hint else message

    def _status_hint(self, status: int) -> str:
        if status in (401, 403):
            return f"check {self.api_key_env} or the api_key passed to {type(self).__name__}"
        if status == 404:
            return "check the model name and the base URL"
        if status == 429:
            return "rate limited or out of quota; wait and try again"
        if status >= 500:
            return "the provider had an error; try again"
        return ""

    def _malformed(self, what: str, data: str, api_key: str) -> ModelError:
        snippet = redact(data[:MAX_ERROR_BODY], api_key)
        return ModelError(
            f"{self._display_url()} sent {what}: {snippet!r}; check that the base URL points at "
            f"a server speaking {self.protocol}"
        )

    def _display_url(self) -> str:
        """The base URL without any ``user:password@`` it may carry."""
        try:
            return str(httpx.URL(self.base_url).copy_with(userinfo=b""))
        except httpx.InvalidURL:
            return self.base_url


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One event of a ``text/event-stream``: its ``event:`` name (if any) and its data."""

    event: str | None
    data: str


async def server_sent_events(response: httpx.Response) -> AsyncIterator[ServerSentEvent]:
    """Parse the SSE wire format: ``field: value`` lines, events ended by a blank line."""
    event: str | None = None
    data: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield ServerSentEvent(event, "\n".join(data))
            event, data = None, []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if data:
        yield ServerSentEvent(event, "\n".join(data))


@dataclass(slots=True)
class ToolCallBuffer:
    """Tool calls arriving in pieces, by index: the id and name once, the arguments in fragments."""

    calls: dict[int, tuple[str, str, list[str]]] = field(default_factory=dict)

    def start(self, index: int, call_id: str, name: str) -> None:
        self.calls.setdefault(index, (call_id, name, []))

    def add(self, index: int, fragment: str) -> None:
        self.calls[index][2].append(fragment)

    def __contains__(self, index: int) -> bool:
        return index in self.calls

    def parts(self) -> dict[int, ToolCallPart]:
        return {
            index: ToolCallPart(call_id, name, parse_arguments("".join(fragments)))
            for index, (call_id, name, fragments) in sorted(self.calls.items())
        }


def parse_arguments(raw: str | None) -> dict[str, Any]:
    """Arguments JSON as a dict; anything else is kept for the tool's validation to reject."""
    if raw is None or not raw.strip():
        return {}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {INVALID_ARGUMENTS_KEY: raw}
    return parsed if isinstance(parsed, dict) else {INVALID_ARGUMENTS_KEY: raw}


def loads_object(data: str | bytes) -> dict[str, Any] | None:
    """A JSON object, or ``None`` when ``data`` is not one."""
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def error_detail(response: httpx.Response) -> str:
    """The provider's own words: ``{"error": {"message": ...}}`` if present, else the body."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:MAX_ERROR_BODY]
    return error_message(data) or response.text.strip()[:MAX_ERROR_BODY]


def error_message(data: Any) -> str:
    """The message of an ``{"error": ...}`` object (HTTP error bodies and in-stream errors)."""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        kind = error.get("type")
        message = str(error["message"])
        return f"{kind}: {message}" if isinstance(kind, str) and kind else message
    if isinstance(error, str):
        return error
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"]
    return ""


def redact(text: str, api_key: str) -> str:
    """Some servers echo the key back in errors; it must never reach a message or a span."""
    return text.replace(api_key, _REDACTED) if api_key else text

"""What HTTP providers share: key and base URL from arguments or the environment, an injectable
httpx client, errors that say what to do (never carrying the key), and server-sent events.

Without an injected client each request opens and closes its own ``httpx.AsyncClient``: agents may
run under a fresh ``asyncio.run`` per call, and a client kept across calls would be bound to a
closed loop.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Final
from urllib.parse import quote, urlencode

import httpx
import orjson

from lumos_core.messages import ToolCallPart
from lumos_core.models.base import Model, ModelError, ModelHTTPError
from lumos_core.models.presets import Preset
from lumos_core.telemetry import semconv as sc

#: When a model sends tool arguments that are not a JSON object, the raw text travels under this
#: key: the tool's validation rejects it (tools forbid unknown arguments), the model sees why, and
#: the next request sends the original text back unchanged.
INVALID_ARGUMENTS_KEY: Final = "invalid_json_arguments"

MAX_ERROR_BODY: Final = 300
_REDACTED: Final = "[redacted]"
#: Statuses worth another attempt: rate limits and server-side failures.
_RETRY_STATUSES: Final = frozenset({408, 429})
#: Connection problems worth another attempt (not a bad URL or an unsupported scheme).
_RETRY_ERRORS: Final = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry 429s, 5xx answers and broken connections.

    Waits grow as ``initial_delay * 2**n`` (capped at ``max_delay``) with random jitter, unless
    the server sends ``Retry-After``, which is honoured as given. No wait is scheduled that would
    end more than ``total_timeout`` seconds after the first attempt started.
    """

    attempts: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    total_timeout: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1 (1 means no retries)")
        if min(self.initial_delay, self.max_delay, self.total_timeout) < 0:
            raise ValueError("RetryPolicy delays and total_timeout must not be negative")

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based), jittered to spread load."""
        base = min(self.max_delay, self.initial_delay * 2 ** (attempt - 1))
        return base * random.uniform(0.5, 1.0)


#: One attempt, no waiting.
NO_RETRY: Final = RetryPolicy(attempts=1)


class HTTPModel(Model):
    """A provider reached over HTTP. ``api_key`` falls back to ``$<api_key_env>`` when a request is
    made (so agents can be defined without a key), ``base_url`` to ``$<base_url_env>`` or the
    vendor's endpoint. ``timeout`` is in seconds to read (per chunk when streaming) or write,
    ``connect_timeout`` to connect; ``retry`` says how failed attempts are repeated."""

    api_key_env: str | None
    base_url_env: str
    default_base_url: ClassVar[str]
    #: The wire protocol's name, for error messages.
    protocol: ClassVar[str]
    #: The named provider this model was made from (``model="<preset>:<model>"``), if any.
    preset: Preset | None = None

    def __init__(
        self,
        model_name: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(model_name)
        self._api_key = api_key
        base = base_url or os.environ.get(self.base_url_env) or self.default_base_url
        self.base_url = base.rstrip("/")
        self.http_client = http_client
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry = retry or RetryPolicy()

    def use_preset(self, preset: Preset, base_url: str) -> None:
        """Speak to ``preset``'s vendor at ``base_url``: its key variable, auth header and URL
        shape, and its name in errors and spans."""
        self.preset = preset
        self.provider_name = preset.provider_name
        self.api_key_env = preset.api_key_env
        self.base_url_env = preset.base_url_env
        self.base_url = base_url.rstrip("/")

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
        """The key (``""`` for a preset that needs none); a missing one says what to set."""
        env = self.api_key_env
        api_key = self._api_key or (os.environ.get(env) if env else None)
        if api_key:
            return api_key
        if self.preset is not None and not self.preset.key_required:
            return ""
        if self.preset is not None:
            raise ModelError(
                f"no API key for the {self.preset.name!r} provider (model "
                f"{self.preset.name}:{self.model_name}): set {env} or pass api_key= to "
                f"{type(self).__name__} or resolve_model"
            )
        raise ModelError(
            f"no API key for {self._display_url()}: set {env} "
            f"or pass api_key= to {type(self).__name__}"
        )

    def _request_target(self, path: str, headers: dict[str, str], api_key: str) -> tuple[
        str, dict[str, str]
    ]:
        """The full URL and headers for ``path``: the preset's URL shape, query and auth header."""
        if not self.base_url:
            raise ModelError(
                f"no base URL for {self._source()}: set {self.base_url_env} or pass base_url="
            )
        preset = self.preset
        if preset is None:
            return self.base_url + path, headers
        prefix = preset.path_prefix.format(model=quote(self.model_name, safe=""))
        url = self.base_url + prefix + path
        query = preset.query_params()
        if query:
            url += "?" + urlencode(query)
        headers = dict(headers)
        if not api_key:
            headers.pop("Authorization", None)
            headers.pop("x-api-key", None)
        elif preset.auth_header != "Authorization" and "Authorization" in headers:
            del headers["Authorization"]
            headers[preset.auth_header] = api_key
        return url, headers

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        if self.http_client is not None:
            yield self.http_client
        else:
            async with httpx.AsyncClient() as client:
                yield client

    def _timeouts(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, connect=self.connect_timeout)

    async def _send(
        self,
        client: httpx.AsyncClient,
        path: str,
        body: bytes,
        headers: dict[str, str],
        api_key: str,
    ) -> httpx.Response:
        """POST until a success or a final failure, waiting between attempts as ``retry`` says.

        The response's body is not read yet (the caller reads or streams it and closes it);
        failures become ``ModelError``s that say how many attempts were made."""
        url, headers = self._request_target(path, headers, api_key)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry.total_timeout
        attempt = 1
        while True:
            request = client.build_request(
                "POST", url, content=body, headers=headers, timeout=self._timeouts()
            )
            try:
                response = await client.send(request, stream=True)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                retryable = isinstance(exc, _RETRY_ERRORS)
                wait = self._wait(attempt, None, loop.time(), deadline) if retryable else None
                if wait is None:
                    raise self._transport_error(exc, api_key, attempt) from exc
            else:
                if not response.is_error:
                    return response
                status = response.status_code
                try:
                    await response.aread()
                except httpx.HTTPError:
                    pass
                finally:
                    await response.aclose()
                retryable = status in _RETRY_STATUSES or status >= 500
                wait = (
                    self._wait(attempt, retry_after(response), loop.time(), deadline)
                    if retryable else None
                )
                if wait is None:
                    raise ModelHTTPError(status, self._describe_error(response, api_key, attempt))
            await asyncio.sleep(wait)
            attempt += 1

    def _wait(
        self, attempt: int, asked: float | None, now: float, deadline: float
    ) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to stop: attempts used up, or
        the wait would end past the total timeout."""
        if attempt >= self.retry.attempts:
            return None
        wait = asked if asked is not None else self.retry.backoff(attempt)
        return wait if now + wait <= deadline else None

    async def _post(self, path: str, body: bytes, headers: dict[str, str], api_key: str) -> bytes:
        """POST and return the body of a successful answer; failures become ``ModelError``s."""
        async with self._client() as client:
            response = await self._send(client, path, body, headers, api_key)
            try:
                return await response.aread()
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, api_key, 1) from exc
            finally:
                await response.aclose()

    @asynccontextmanager
    async def _open_stream(
        self, path: str, body: bytes, headers: dict[str, str], api_key: str
    ) -> AsyncIterator[httpx.Response]:
        """POST and hold the answer open for reading; an error status is raised (after any
        retries) before the body is handed over, a broken connection while reading becomes a
        ``ModelError`` (a stream half delivered is never retried)."""
        async with self._client() as client:
            response = await self._send(client, path, body, headers, api_key)
            try:
                yield response
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                if not isinstance(exc, httpx.TimeoutException):
                    reason = redact(str(exc) or type(exc).__name__, api_key)
                    raise ModelError(
                        f"the connection to {self._source()} broke while the answer was "
                        f"streaming: {reason}; try again"
                    ) from exc
                raise self._transport_error(exc, api_key, 1) from exc
            finally:
                await response.aclose()

    def _transport_error(self, exc: Exception, api_key: str, attempts: int) -> ModelError:
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        if isinstance(exc, httpx.TimeoutException):
            phase = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting"
            limit = self.connect_timeout if phase == "connecting" else self.timeout
            setting = "connect_timeout=" if phase == "connecting" else "timeout="
            return ModelError(
                f"request to {self._source()} timed out after {limit:g}s {phase}{tries} "
                f"({type(exc).__name__}); try again or raise {setting}"
            )
        reason = redact(str(exc) or type(exc).__name__, api_key)
        return ModelError(
            f"could not reach {self._source()}{tries}: {reason}; check {self.base_url_env} "
            "(or base_url=) and that the server is running"
        )

    def _describe_error(self, response: httpx.Response, api_key: str, attempts: int = 1) -> str:
        status = response.status_code
        detail = redact(error_detail(response), api_key)
        message = f"{self._source()} answered HTTP {status}"
        if attempts > 1:
            message += f" after {attempts} attempts"
        if detail:
            message += f": {detail}"
        hint = self._status_hint(status)
        return f"{message} ({hint})" if hint else message

    def _status_hint(self, status: int) -> str:
        if status in (401, 403):
            who = (
                f"the {self.preset.name!r} provider" if self.preset is not None
                else type(self).__name__
            )
            return f"check {self.api_key_env} or the api_key passed to {who}"
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
            f"{self._source()} sent {what}: {snippet!r}; check that the base URL points at "
            f"a server speaking {self.protocol}"
        )

    def _source(self) -> str:
        """Who answered, for messages: the preset's name (if any) and the base URL."""
        url = self._display_url()
        if self.preset is None:
            return url
        return f"{self.preset.name} ({url})" if url else self.preset.name

    def _display_url(self) -> str:
        """The base URL without any ``user:password@`` it may carry."""
        try:
            return str(httpx.URL(self.base_url).copy_with(userinfo=b""))
        except httpx.InvalidURL:
            return self.base_url


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asks us to wait: ``Retry-After`` in seconds or as an HTTP date, or
    ``retry-after-ms`` (OpenAI); ``None`` when absent or unreadable."""
    millis = response.headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


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
    except httpx.ResponseNotRead:
        return ""
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

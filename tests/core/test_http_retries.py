"""Retries against a real local server: 429/5xx and dropped connections are tried again, waiting
as ``Retry-After`` says; other errors are not; attempts and the total time are bounded.

Policies with a huge ``initial_delay`` and a small ``total_timeout`` prove that a ``Retry-After``
wait was used: the backoff alone would exceed the budget and end the retries at once.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from lumos_core.messages import Message
from lumos_core.models import ModelError, ModelHTTPError, ResponseCompleted, RetryPolicy
from lumos_core.models._http import retry_after
from lumos_core.models.anthropic import AnthropicModel
from lumos_core.models.openai import OpenAIChatModel
from tests.core.provider_server import ProviderServer, running_server, sse

API_KEY = "sk-retry-test-0123456789-SECRET"
#: Only a honoured Retry-After fits in the budget: the backoff would be 30-60 s.
ONLY_RETRY_AFTER = RetryPolicy(attempts=3, initial_delay=60.0, total_timeout=5.0)
QUICK = RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.02)
RATE_LIMITED = {"error": {"message": "Rate limit reached for requests", "type": "requests"}}


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with running_server() as state:
        yield state


def completion(text: str = "ok") -> dict[str, Any]:
    return {"id": "c1", "model": "gpt-4o-mini", "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
    ], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}


def gpt(server: ProviderServer, **options: Any) -> OpenAIChatModel:
    return OpenAIChatModel("gpt-4o-mini", api_key=API_KEY, base_url=f"{server.origin}/v1",
                           **options)


async def ask(model: OpenAIChatModel | AnthropicModel) -> str:
    response = await model.request(None, [Message.user("hi")], [])
    return response.message.text


async def test_429_with_retry_after_seconds_is_retried_after_that_wait(
    server: ProviderServer,
) -> None:
    server.reply(RATE_LIMITED, 429, headers={"Retry-After": "0.1"})
    server.reply(completion("second time lucky"))

    started = time.monotonic()
    assert await ask(gpt(server, retry=ONLY_RETRY_AFTER)) == "second time lucky"

    assert len(server.requests) == 2
    assert time.monotonic() - started >= 0.1


async def test_retry_after_as_an_http_date_is_honoured(server: ProviderServer) -> None:
    now = format_datetime(datetime.now(UTC), usegmt=True)
    server.reply(RATE_LIMITED, 429, headers={"Retry-After": now})
    server.reply(RATE_LIMITED, 503, headers={"Retry-After": now})
    server.reply(completion("finally"))

    assert await ask(gpt(server, retry=ONLY_RETRY_AFTER)) == "finally"
    assert len(server.requests) == 3


async def test_a_retry_after_beyond_the_total_timeout_ends_the_retries(
    server: ProviderServer,
) -> None:
    server.reply(RATE_LIMITED, 429, headers={"Retry-After": "3600"})
    server.reply(completion("never asked for"))

    with pytest.raises(ModelHTTPError) as caught:
        await ask(gpt(server, retry=ONLY_RETRY_AFTER))

    assert caught.value.status_code == 429
    assert len(server.requests) == 1


async def test_5xx_is_retried_up_to_the_attempt_limit(server: ProviderServer) -> None:
    for _ in range(4):
        server.reply({"error": {"message": "upstream overloaded"}}, 503)

    with pytest.raises(ModelHTTPError) as caught:
        await ask(gpt(server, retry=QUICK))

    assert len(server.requests) == 3
    assert caught.value.status_code == 503
    assert "answered HTTP 503 after 3 attempts: upstream overloaded" in str(caught.value)


async def test_client_errors_are_not_retried(server: ProviderServer) -> None:
    server.reply({"error": {"message": "bad request"}}, 400)
    server.reply(completion())

    with pytest.raises(ModelHTTPError) as caught:
        await ask(gpt(server, retry=QUICK))

    assert caught.value.status_code == 400
    assert len(server.requests) == 1


async def test_a_dropped_connection_is_retried(server: ProviderServer) -> None:
    server.drop()
    server.reply(completion("reconnected"))

    assert await ask(gpt(server, retry=QUICK)) == "reconnected"
    assert len(server.requests) == 2


async def test_a_read_timeout_is_retried(server: ProviderServer) -> None:
    server.reply(completion("too late"), delay=1.0)
    server.reply(completion("in time"))

    assert await ask(gpt(server, retry=QUICK, timeout=0.2)) == "in time"
    assert len(server.requests) == 2


async def test_timeouts_reach_the_http_client(server: ProviderServer) -> None:
    model = gpt(server, timeout=12.5, connect_timeout=2.5)
    assert model._timeouts() == httpx.Timeout(12.5, connect=2.5)


async def test_every_attempt_timing_out_says_which_setting_to_raise(
    server: ProviderServer,
) -> None:
    for _ in range(2):
        server.reply(completion("too late"), delay=1.0)

    with pytest.raises(ModelError) as caught:
        await ask(gpt(server, retry=RetryPolicy(attempts=2, initial_delay=0.01), timeout=0.2))

    message = str(caught.value)
    assert "timed out after 0.2s waiting (2 attempts)" in message
    assert "timeout=" in message


async def test_an_unreachable_server_is_tried_each_attempt_then_named() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = OpenAIChatModel("m", api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1",
                            retry=QUICK)

    with pytest.raises(ModelError) as caught:
        await ask(model)

    message = str(caught.value)
    assert f"could not reach http://127.0.0.1:{port}/v1 (3 attempts)" in message
    assert "OPENAI_BASE_URL" in message


async def test_a_stream_is_retried_before_it_starts(server: ProviderServer) -> None:
    server.reply(RATE_LIMITED, 429, headers={"Retry-After": "0.05"})
    server.stream(
        sse({"id": "s", "model": "m", "choices": [
            {"index": 0, "delta": {"content": "streamed"}, "finish_reason": "stop"}]}),
        sse("[DONE]"),
    )

    model = gpt(server, retry=ONLY_RETRY_AFTER)
    events = [e async for e in model.stream(None, [Message.user("hi")], [])]

    assert isinstance(events[-1], ResponseCompleted)
    assert events[-1].response.message.text == "streamed"
    assert len(server.requests) == 2


async def test_a_broken_stream_is_not_retried(server: ProviderServer) -> None:
    server.stream(sse({"id": "s", "model": "m", "choices": [
        {"index": 0, "delta": {"content": "half"}, "finish_reason": None}]}))
    server.reply(completion("should not be asked"))

    model = gpt(server, retry=QUICK)
    with pytest.raises(ModelError, match="ended before the reply was complete"):
        _ = [e async for e in model.stream(None, [Message.user("hi")], [])]

    assert len(server.requests) == 1


async def test_anthropic_overloaded_529_is_retried(server: ProviderServer) -> None:
    server.reply({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
                 529, headers={"retry-after": "0"})
    server.reply({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-t",
                  "content": [{"type": "text", "text": "back"}], "stop_reason": "end_turn",
                  "usage": {"input_tokens": 1, "output_tokens": 1}})

    model = AnthropicModel("claude-t", api_key=API_KEY, base_url=server.origin,
                           retry=ONLY_RETRY_AFTER)

    assert await ask(model) == "back"
    assert len(server.requests) == 2


def _response(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(429, headers=headers)


def test_retry_after_reads_seconds_dates_and_milliseconds() -> None:
    assert retry_after(_response({"Retry-After": "2"})) == 2.0
    assert retry_after(_response({"Retry-After": "0.25"})) == 0.25
    assert retry_after(_response({"retry-after-ms": "1500", "Retry-After": "9"})) == 1.5
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 50 < (retry_after(_response({"Retry-After": later})) or 0) <= 60
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert retry_after(_response({"Retry-After": past})) == 0.0
    assert retry_after(_response({"Retry-After": "soon"})) is None
    assert retry_after(_response({})) is None


def test_backoff_grows_with_jitter_and_stays_capped() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=4.0)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)):
        wait = policy.backoff(attempt)
        assert ceiling / 2 <= wait <= ceiling


def test_a_policy_without_attempts_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(attempts=0)

"""A stand-in OpenAI chat completions server on 127.0.0.1, for capturing real instrumentation.

The fixtures in tests/fixtures/dialects are spans the real instrumentation packages emit; they need
an LLM to talk to, and nothing may reach the internet. This answers ``POST /v1/chat/completions``
the way the OpenAI API does, plain JSON or a server-sent-events stream (``data:`` chunks, usage in a
last chunk when ``stream_options.include_usage`` is set, then ``[DONE]``): the first turn of a
conversation that offers tools gets a ``get_weather`` call for Paris, a turn that carries a tool
result gets the text answer. The HTTP server itself is the test suite's ``provider_server`` (stdlib
only), reused rather than copied.

Run alone to try it: ``python scripts/dialect_fixtures/stand_in_openai.py`` prints its base URL and
serves until interrupted.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from tests.core.provider_server import (  # noqa: E402  (the path is set just above)
    Recorded,
    Reply,
    running_server,
    sse,
)

__all__ = ["RESPONSE_MODEL", "TOOL_ARGUMENTS", "TOOL_CALL_ID", "WEATHER_ANSWER", "answer", "serve"]

#: What the API reports as the model that answered (a dated snapshot of the requested alias).
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
TOOL_CALL_ID = "call_Xq3vWeatherParis01"
TOOL_ARGUMENTS = '{"city":"Paris"}'
WEATHER_ANSWER = "It is 18 °C and partly cloudy in Paris right now."
_CREATED = 1_764_748_800  # 2025-12-03T08:00:00Z: fixed, so fixtures differ only where they must


def answer(request: Recorded) -> Reply:
    """The reply to one request: a tool call first, the text answer once a tool result is in."""
    if not urlsplit(request.path).path.rstrip("/").endswith("/chat/completions"):
        message = f"the stand-in serves chat completions only, not {request.path}"
        return Reply({"error": {"message": message}}, 404)
    body = request.body
    messages = body.get("messages") or []
    has_tool_result = any(m.get("role") == "tool" for m in messages if isinstance(m, dict))
    calls_tool = bool(body.get("tools")) and not has_tool_result
    prompt_tokens = 18 + 9 * len(messages) + (64 if body.get("tools") else 0)
    completion_tokens = 17 if calls_tool else 14
    usage = _usage(prompt_tokens, completion_tokens)
    turn = "1" if calls_tool else "2"
    completion_id = f"chatcmpl-standin{turn}{'s' if body.get('stream') else 'n'}"
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return _stream(completion_id, calls_tool, usage if include_usage else None)
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if calls_tool:
        message["tool_calls"] = [
            {
                "id": TOOL_CALL_ID,
                "type": "function",
                "function": {"name": "get_weather", "arguments": TOOL_ARGUMENTS},
            }
        ]
    else:
        message["content"] = WEATHER_ANSWER
    return Reply(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": _CREATED,
            "model": RESPONSE_MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if calls_tool else "stop",
                }
            ],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": "fp_standin01",
        }
    )


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _stream(completion_id: str, calls_tool: bool, usage: dict[str, Any] | None) -> Reply:
    """The same answer as event-stream chunks, split where the real API splits them."""

    def chunk(delta: dict[str, Any] | None, finish: str | None = None) -> str:
        choices = [] if delta is None else [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        ]
        data: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": RESPONSE_MODEL,
            "service_tier": "default",
            "system_fingerprint": "fp_standin01",
            "choices": choices,
        }
        if usage is not None:
            data["usage"] = None if delta is not None else usage
        return sse(data)

    pieces: list[str] = []
    if calls_tool:
        call = {
            "index": 0,
            "id": TOOL_CALL_ID,
            "type": "function",
            "function": {"name": "get_weather", "arguments": ""},
        }
        pieces.append(chunk({"role": "assistant", "content": None, "tool_calls": [call]}))
        for part in ('{"', 'city', '":"', 'Paris', '"}'):
            pieces.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}))
        pieces.append(chunk({}, "tool_calls"))
    else:
        pieces.append(chunk({"role": "assistant", "content": "", "refusal": None}))
        for word in WEATHER_ANSWER.split(" "):
            text = word if not pieces[1:] else " " + word
            pieces.append(chunk({"content": text}))
        pieces.append(chunk({}, "stop"))
    if usage is not None:
        pieces.append(chunk(None))
    pieces.append(sse("[DONE]"))
    return Reply("", 200, "text/event-stream", tuple(pieces))


def serve() -> None:
    """Serve until interrupted, printing the base URL an OpenAI client needs."""
    with running_server() as server:
        server.answer = answer
        print(f"{server.origin}/v1", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    serve()

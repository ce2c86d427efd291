"""Which raw attribute keys hold what, for panes that show or hide raw attributes (not to read
them: ``read_span`` does that).

Questions answered for every dialect ``read_span`` knows: is a key's value conversation content
that the span detail already shows in its own sections (``is_content_key``); does a key arrive
only when a span ends (``is_end_key``, so playback can show a running span without it); is it a
token count (``is_usage_key``, to say that counts were sent but could not be read); and how long
a streamed call waited for its first chunk (``first_chunk_seconds``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

#: Exact keys and key prefixes whose values are messages, instructions, tool definitions, a tool
#: call's arguments or result, or retrieved documents, in some dialect.
_CONTENT_KEYS: Final = frozenset({
    # OTel GenAI, current and earlier
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
    "gen_ai.tool.definitions", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
    "gen_ai.prompt", "gen_ai.completion", "gen_ai.retrieval.documents", "gen_ai.memory.records",
    # OpenInference
    "input.value", "output.value",
    # OpenLLMetry
    "traceloop.entity.input", "traceloop.entity.output",
    # pydantic-ai
    "pydantic_ai.all_messages", "all_messages_events", "events", "final_result",
    "tool_arguments", "tool_response",
    # Vercel AI SDK
    "ai.prompt", "ai.prompt.messages", "ai.prompt.tools", "ai.response.text",
    "ai.response.toolCalls", "ai.response.object", "ai.toolCall.args", "ai.toolCall.input",
    "ai.toolCall.result", "ai.toolCall.output",
})
_CONTENT_PREFIXES: Final = (
    "gen_ai.prompt.", "gen_ai.completion.", "llm.input_messages.", "llm.output_messages.",
    "llm.tools.", "llm.request.functions.", "retrieval.documents.",
)

#: Keys (and prefixes) a span gets when its work is done: output, usage, response facts, errors.
_END_KEYS: Final = frozenset({
    "gen_ai.output.messages", "gen_ai.response.model", "gen_ai.response.id",
    "gen_ai.response.finish_reasons", "gen_ai.tool.call.result", "gen_ai.completion",
    "error.type", "output.value", "output.mime_type", "llm.finish_reason", "llm.model_name",
    "traceloop.entity.output", "final_result", "tool_response", "gen_ai.is_streaming",
})
_END_PREFIXES: Final = (
    "gen_ai.usage.", "gen_ai.aggregated_usage.", "gen_ai.completion.", "gen_ai.response.",
    "llm.output_messages.", "llm.token_count.", "llm.usage.", "llm.cost.", "ai.response.",
    "ai.usage.", "ai.toolCall.result", "ai.toolCall.output", "lumos.agent.steps",
    "lumos.tool.error",
)

#: Prefixes of token-count keys in every dialect (to tell that a span reported counts that could
#: not be read, e.g. ``"many"``).
_USAGE_PREFIXES: Final = (
    "gen_ai.usage.", "gen_ai.aggregated_usage.", "llm.token_count.", "llm.usage.", "ai.usage.",
)

#: Where each dialect puts the time to the first streamed chunk, and its unit in seconds.
_FIRST_CHUNK: Final = (
    ("gen_ai.response.time_to_first_chunk", 1.0),
    ("gen_ai.client.operation.time_to_first_chunk", 1.0),
    ("ai.response.msToFirstChunk", 0.001),
    ("ai.stream.msToFirstChunk", 0.001),
)


def is_content_key(key: str) -> bool:
    """True when ``key`` holds content the span detail shows in its own sections."""
    return key in _CONTENT_KEYS or key.startswith(_CONTENT_PREFIXES)


def is_end_key(key: str) -> bool:
    """True when ``key`` is set only once the span's work is done (output, usage, errors)."""
    return key in _END_KEYS or key.startswith(_END_PREFIXES)


def is_usage_key(key: str) -> bool:
    """True when ``key`` holds a token count (or cost detail) in some dialect."""
    return key.startswith(_USAGE_PREFIXES)


def first_chunk_seconds(attributes: Mapping[str, Any]) -> float | None:
    """Seconds a streamed call waited for its first chunk; None when the span does not say (or
    says something that is no finite, non-negative number)."""
    for key, unit in _FIRST_CHUNK:
        value = attributes.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        seconds = value * unit
        if math.isfinite(seconds) and seconds >= 0:
            return float(seconds)
    return None

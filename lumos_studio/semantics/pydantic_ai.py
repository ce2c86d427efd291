"""pydantic-ai's own attributes beside the GenAI ones, in each of its instrumentation versions.

Format 1 sends messages as events (the ``events`` attribute or log records, read by
``genai_events``) and the run's history as ``all_messages_events``; formats 2+ use the GenAI
attributes with a ``pydantic_ai.all_messages`` history on the agent span. Tool spans carry
``tool_arguments`` / ``tool_response`` up to format 2 (``gen_ai.tool.call.*`` after); tool-call
arguments are JSON strings and tool results sit under ``result`` (both handled in ``parts``).
"""

from __future__ import annotations

from typing import Final

from lumos_studio.semantics._draft import MAX_MESSAGES, Draft, as_float, as_str, maybe_json
from lumos_studio.semantics.genai_events import MESSAGE_EVENTS, event_message
from lumos_studio.semantics.parts import genai_messages, text_message
from lumos_studio.semantics.text import value_text
from lumos_studio.semantics.view import Dialect, Message

SCOPE: Final = "pydantic-ai"
#: Plain (unprefixed) keys pydantic-ai writes; they count as its namespace.
OWN_KEYS: Final = frozenset({
    "model_name", "agent_name", "final_result", "all_messages_events", "tool_arguments",
    "tool_response", "model_request_parameters", "events", "operation.cost",
})
AGGREGATED: Final = (
    ("input_tokens", "gen_ai.aggregated_usage.input_tokens"),
    ("output_tokens", "gen_ai.aggregated_usage.output_tokens"),
    ("cache_read_tokens", "gen_ai.aggregated_usage.cache_read_tokens"),
    ("cache_creation_tokens", "gen_ai.aggregated_usage.cache_write_tokens"),
    ("reasoning_tokens", "gen_ai.aggregated_usage.details.reasoning_tokens"),
)


def _history_events(value: object) -> tuple[Message, ...] | None:
    if not isinstance(value, list):
        return None
    messages: list[Message] = []
    for item in value[:MAX_MESSAGES]:
        if isinstance(item, dict) and as_str(item.get("event.name")) in MESSAGE_EVENTS:
            messages.append(event_message(item["event.name"], item)[1])
    return tuple(messages)


def read_pydantic_ai(d: Draft, keys: list[str]) -> None:
    a = d.attrs
    before = len(d.read)
    d.fill("agent_name", "agent_name")
    d.fill("request_model", "model_name")
    for field, key in AGGREGATED:
        d.set_usage(field, key)
    if "pydantic_ai.all_messages" in a and not d.input_messages:
        history = genai_messages(d.json("pydantic_ai.all_messages"))
        if history is not None:
            d.input_messages = history
            d.read.add("pydantic_ai.all_messages")
    if "all_messages_events" in a and not d.input_messages:
        history = _history_events(d.json("all_messages_events"))
        if history is not None:
            d.input_messages = history
            d.read.add("all_messages_events")
    if "final_result" in a:
        result = a["final_result"]
        text = value_text(result)
        if not d.output_messages:
            d.output_messages = (text_message("assistant", text),)
        d.read.add("final_result")
    if "tool_arguments" in a or "tool_response" in a:
        d.has_tool = True
        if "tool_arguments" in a and d.tool_arguments is None:
            d.tool_arguments = maybe_json(a["tool_arguments"])
            d.read.add("tool_arguments")
        if "tool_response" in a and d.tool_result is None:
            d.tool_result = a["tool_response"]
            d.read.add("tool_response")
    if "operation.cost" in a:
        cost = as_float(a["operation.cost"])
        if cost is not None:
            d.read.add("operation.cost")
            d.cost = d.cost if d.cost is not None else cost
    if "model_request_parameters" in a:
        d.read.add("model_request_parameters")  # tools and instructions, also in gen_ai.* keys
    for key in keys:
        if key.startswith(("gen_ai.aggregated_usage.", "logfire.", "pydantic_ai.")) and (
            key != "pydantic_ai.all_messages"
        ):
            d.read.add(key)
    if len(d.read) > before:
        d.add_dialect(Dialect.PYDANTIC_AI)

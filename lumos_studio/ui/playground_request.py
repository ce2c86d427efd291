"""The playground's request: what a recorded model call was sent, as JSON to edit, and the edited
JSON back as a ``lumos_core.playground.ModelCall``, or what is wrong with it in words.

Read from the span's view, so a call recorded by any framework (OpenInference, OpenLLMetry,
pydantic-ai, the AI SDK, ours) comes back the same way: ``instructions`` (the system
instructions and any system messages), ``messages`` (as ``message_to_dict`` writes them),
``tools`` (``{name, description, parameters}``) and ``settings`` (``ModelSettings``' names).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from lumos_core import ModelSettings
from lumos_core.messages import Message as CoreMessage
from lumos_core.messages import TextPart as CoreTextPart
from lumos_core.messages import ToolCallPart as CoreToolCallPart
from lumos_core.messages import message_from_dict
from lumos_core.playground import ModelCall, model_for
from lumos_studio.counts import counted
from lumos_studio.records import SpanRecord
from lumos_studio.semantics import (
    Message,
    OperationKind,
    SpanView,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    part_text,
)

_REQUEST_KEYS = ("instructions", "messages", "tools", "settings")
MAX_MODELS = 4  # sent the same request at once, each answer under the other


@dataclass(frozen=True, slots=True)
class PlaygroundPoint:
    """A recorded model call to try again: its span, the model to try first
    (``"<provider>:<model>"``, "" when no provider here answers to the span's), how the span
    named its model, the request to edit and the answer it got."""

    trace_id: str
    span_id: str
    model: str
    recorded_model: str
    request: dict[str, Any]
    answer: tuple[Message, ...]


def playground_point(span: SpanRecord, view: SpanView) -> PlaygroundPoint | str:
    """The playground's start for ``span``, or why it has none (a message for the user)."""
    if view.kind is not OperationKind.LLM:
        return "Select a model call (a chat span) to try it again in the playground."
    messages = [m for m in (message_dict(m) for m in view.input_messages) if m]
    if not messages:
        return ("This model call's messages were not recorded (content capture off): nothing "
                "to send again.")
    request: dict[str, Any] = {
        "instructions": _instructions(view) or None,
        "messages": messages,
        "tools": [_tool(t.name, t.description, t.parameters) for t in view.tool_definitions],
        "settings": view.request_settings.as_dict(),
    }
    named = view.request_model or view.response_model
    recorded = (f"{named} ({view.provider})" if named and view.provider not in ("", named)
                else named or "a model")
    return PlaygroundPoint(span.trace_id, span.span_id, model_for(view.provider, named) or "",
                           recorded, request, view.output_messages)


def message_dict(message: Message) -> dict[str, Any] | None:
    """A recorded message as ``message_to_dict`` writes one (what is sent again); system
    messages are instructions, and parts without text (media, reasoning) are left out."""
    if message.role == "system":
        return None
    parts: list[dict[str, Any]] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "content": part.text})
        elif isinstance(part, ToolCallPart):
            parts.append({"type": "tool_call", "id": part.id, "name": part.name,
                          "arguments": part.arguments})
        elif isinstance(part, ToolResultPart):
            parts.append({"type": "tool_call_response", "id": part.id, "name": part.name,
                          "response": part.result})
    return {"role": message.role, "parts": parts} if parts else None


def _instructions(view: SpanView) -> str:
    """The system instructions, then any system messages (OpenInference records them so)."""
    pieces = [part_text(p) for p in view.system_instructions]
    pieces.extend(m.text for m in view.input_messages if m.role == "system")
    return "\n\n".join(piece for piece in pieces if piece)


def _tool(name: str, description: str, parameters: Any) -> dict[str, Any]:
    tool: dict[str, Any] = {"name": name}
    if description:
        tool["description"] = description
    if isinstance(parameters, dict):
        tool["parameters"] = parameters
    return tool


def model_calls(models: str, text: str) -> tuple[ModelCall, ...] | str:
    """The edited request as a call to each of ``models`` (comma or space separated, up to
    ``MAX_MODELS``: the same request side by side), or what is wrong with them (for the user)."""
    names = [name for name in re.split(r"[\s,]+", models) if name]
    if len(names) > MAX_MODELS:
        return (f"{len(names)} models: the playground sends to {MAX_MODELS} at once at most; "
                "leave some out.")
    calls = []
    for name in names or [""]:
        call = model_call(name, text)
        if isinstance(call, str):
            return call
        calls.append(call)
    return tuple(calls)


def model_call(model: str, text: str) -> ModelCall | str:
    """The edited request as a call to ``model``, or what is wrong with it (for the user)."""
    model = model.strip()
    if not model:
        return "Type the model to send it to: provider:model (openai:gpt-4o-mini), or scripted."
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return f"The request is not JSON: {exc}"
    if not isinstance(value, dict):
        return "The request is a JSON object: instructions, messages, tools, settings."
    unknown = sorted(str(key) for key in value if key not in _REQUEST_KEYS)
    if unknown:
        return (f"The request has no {', '.join(unknown)}: it takes instructions, messages, "
                "tools and settings.")
    instructions = value.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        return "instructions are text (or null)."
    messages = _messages(value.get("messages"))
    if isinstance(messages, str):
        return messages
    tools = value.get("tools") or []
    if not isinstance(tools, list) or not all(
            isinstance(t, dict) and isinstance(t.get("name"), str) and t["name"] for t in tools):
        return "tools are a list of objects, each with a name (and a description, parameters)."
    settings = _settings(value.get("settings") or {})
    if isinstance(settings, str):
        return settings
    return ModelCall(model, messages, instructions or None, tuple(tools), settings)


def _messages(value: Any) -> tuple[CoreMessage, ...] | str:
    if not isinstance(value, list) or not value:
        return "messages are a non-empty list: {\"role\": \"user\", \"parts\": [...]} each."
    messages: list[CoreMessage] = []
    for number, item in enumerate(value, 1):
        if not isinstance(item, dict) or not isinstance(item.get("role"), str):
            return f"message {number} is not a message: an object with a role and parts."
        try:
            messages.append(message_from_dict(item))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return f"message {number} is not a message: {type(exc).__name__}: {exc}"
    return tuple(messages)


def _settings(value: Any) -> ModelSettings | str | None:
    if not isinstance(value, dict):
        return "settings are an object: temperature, max_tokens, top_p, seed, stop..."
    try:
        return ModelSettings(**value) if value else None
    except TypeError as exc:
        return f"settings: {exc} (they take temperature, max_tokens, top_p, seed, stop, " \
               "tool_choice, parallel_tool_calls, extra)."
    except ValueError as exc:
        return f"settings: {exc}."


def answer_messages(message: CoreMessage) -> tuple[Message, ...]:
    """The model's answer in the studio's own message form, shown as the recorded one is."""
    parts: list[TextPart | ToolCallPart] = []
    for part in message.parts:
        if isinstance(part, CoreTextPart):
            parts.append(TextPart(part.content))
        elif isinstance(part, CoreToolCallPart):
            parts.append(ToolCallPart(part.id, part.name, dict(part.arguments)))
    return (Message(message.role, tuple(parts), message.finish_reason or ""),)


def request_summary(request: Mapping[str, Any]) -> str:
    """``4 messages · 2 tools · temperature 0.2``: what the request holds, in a line."""
    pieces = [counted(len(request.get("messages") or ()), "message")]
    if request.get("tools"):
        pieces.append(counted(len(request["tools"]), "tool"))
    pieces.extend(f"{name} {value}" for name, value in (request.get("settings") or {}).items())
    return " · ".join(pieces)

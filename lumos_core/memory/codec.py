"""Messages to plain dicts and back, losslessly, for the store and for memory event bodies.

The shape is the GenAI conventions' message JSON (role + parts) plus what ``to_otel`` leaves out
(a tool result's tool name and error flag), so a stored thread replays exactly. ``None`` never
appears: OTLP log bodies cannot carry it.
"""

from __future__ import annotations

from typing import Any

from lumos_core.messages import Message, Part, TextPart, ToolCallPart, ToolResultPart


def message_to_dict(message: Message) -> dict[str, Any]:
    """A ``Message`` as a JSON-ready dict."""
    parts = [_part_to_dict(p) for p in message.parts]
    data: dict[str, Any] = {"role": message.role, "parts": parts}
    if message.finish_reason is not None:
        data["finish_reason"] = message.finish_reason
    return data


def message_from_dict(data: dict[str, Any]) -> Message:
    """The inverse of ``message_to_dict``."""
    parts = tuple(_part_from_dict(p) for p in data.get("parts", ()))
    return Message(data["role"], parts, data.get("finish_reason"))


def message_search_text(message: Message) -> str:
    """The words worth embedding for recall: user and assistant text, nothing from tools."""
    return message.text if message.role in ("user", "assistant") else ""


def _part_to_dict(part: Part) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "content": part.content}
    if isinstance(part, ToolCallPart):
        return {"type": "tool_call", "id": part.id, "name": part.name, "arguments": part.arguments}
    data: dict[str, Any] = {
        "type": "tool_call_response", "id": part.id, "name": part.name, "response": part.result,
    }
    if part.is_error:
        data["is_error"] = True
    return data


def _part_from_dict(data: dict[str, Any]) -> Part:
    kind = data.get("type")
    if kind == "text":
        return TextPart(str(data.get("content", "")))
    if kind == "tool_call":
        return ToolCallPart(str(data["id"]), str(data["name"]), dict(data.get("arguments") or {}))
    if kind == "tool_call_response":
        return ToolResultPart(
            str(data["id"]),
            str(data.get("name", "")),
            str(data.get("response", "")),
            bool(data.get("is_error", False)),
        )
    raise ValueError(f"unknown message part type {kind!r}")

"""Message shapes shared by several dialects, turned into typed messages and parts.

Two shapes cover most of them: the OTel GenAI one (``{"role", "parts": [{"type": …}]}``) and the
OpenAI chat one (``{"role", "content", "tool_calls": [{"id", "function": {…}}]}``) that the earlier
GenAI events, OpenInference's ``input.value`` and OpenLLMetry's prompt JSON carry. Unknown shapes
give ``None`` (the caller leaves the key unread); odd items inside a list are skipped.
"""

from __future__ import annotations

from typing import Any

from lumos_studio.semantics._draft import MAX_MESSAGES, MAX_PARTS, MAX_TOOLS, as_str, maybe_json
from lumos_studio.semantics.view import (
    MediaPart,
    Message,
    OtherPart,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
)

MODALITIES = ("image", "image_url", "audio", "video")


def _text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def genai_part(item: Any) -> Part | None:
    """One part of the GenAI shape (and pydantic-ai's variants of it)."""
    if isinstance(item, str):
        return TextPart(item)
    if not isinstance(item, dict):
        return None
    kind = as_str(item.get("type"))
    if kind == "text":
        return TextPart(_text_of(item.get("content", item.get("text"))))
    if kind in ("reasoning", "thinking"):
        return ReasoningPart(_text_of(item.get("content", item.get("text"))))
    if kind == "tool_call":
        return ToolCallPart(
            as_str(item.get("id")), as_str(item.get("name")), maybe_json(item.get("arguments"))
        )
    if kind == "tool_call_response":
        # The conventions (and lumos_core) say ``response``; pydantic-ai sends ``result``.
        result = item["response"] if "response" in item else item.get("result")
        return ToolResultPart(as_str(item.get("id")), as_str(item.get("name")), result)
    if kind in ("uri", "blob", "file", "image", "image_url", "audio", "video", "binary"):
        return MediaPart(
            mime_type=as_str(item.get("mime_type", item.get("media_type"))),
            uri=as_str(item.get("uri", item.get("url"))),
            blob=as_str(item.get("content")) if kind in ("blob", "binary") else "",
            file_id=as_str(item.get("file_id")),
            modality=as_str(item.get("modality")) or (kind if kind in MODALITIES else ""),
        )
    return OtherPart(kind, item)


def genai_parts(value: Any) -> tuple[Part, ...] | None:
    """A list of parts; a plain string is one text part (never one part per character)."""
    if isinstance(value, str):
        return (TextPart(value),)
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return None
    parts = (genai_part(item) for item in value[:MAX_PARTS])
    return tuple(p for p in parts if p is not None)


def genai_messages(value: Any) -> tuple[Message, ...] | None:
    """``gen_ai.input.messages`` / ``output.messages`` (already JSON-decoded)."""
    if not isinstance(value, list):
        return None
    out: list[Message] = []
    for item in value[:MAX_MESSAGES]:
        if not isinstance(item, dict):
            continue
        parts = item.get("parts")
        if parts is None and "content" in item:  # some writers put OpenAI-shaped messages here
            out.append(openai_message(item, "user"))
            continue
        out.append(
            Message(
                as_str(item.get("role")),
                genai_parts(parts) or (),
                finish_reason=as_str(item.get("finish_reason")),
                name=as_str(item.get("name")),
            )
        )
    return tuple(out)


def _openai_content(content: Any) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return []
    parts: list[Part] = []
    for item in content[:MAX_PARTS]:
        if isinstance(item, str):
            parts.append(TextPart(item))
        elif isinstance(item, dict):
            kind = as_str(item.get("type"))
            if kind in ("text", "input_text", "output_text"):
                parts.append(TextPart(_text_of(item.get("text", item.get("content")))))
            elif kind == "image_url":
                image = item.get("image_url")
                url = image.get("url") if isinstance(image, dict) else image
                parts.append(MediaPart(uri=as_str(url), modality="image"))
            else:
                part = genai_part(item)
                if part is not None:
                    parts.append(part)
    return parts


def openai_tool_calls(calls: Any) -> list[Part]:
    """``tool_calls`` of an OpenAI message: nested ``function`` or flat name/arguments."""
    if not isinstance(calls, list):
        return []
    parts: list[Part] = []
    for call in calls[:MAX_PARTS]:
        if not isinstance(call, dict):
            continue
        function = call.get("function")
        source = function if isinstance(function, dict) else call
        parts.append(
            ToolCallPart(
                as_str(call.get("id")),
                as_str(source.get("name")),
                maybe_json(source.get("arguments")),
            )
        )
    return parts


def openai_message(item: dict[str, Any], default_role: str, finish_reason: str = "") -> Message:
    """An OpenAI chat message (also the body of an earlier GenAI message event)."""
    role = as_str(item.get("role")) or default_role
    content = item.get("content")
    if role == "tool":
        call_id = as_str(item.get("tool_call_id")) or as_str(item.get("id"))
        parts: list[Part] = [ToolResultPart(call_id, as_str(item.get("name")), content)]
    else:
        parts = _openai_content(content)
    parts.extend(openai_tool_calls(item.get("tool_calls")))
    return Message(
        role,
        tuple(parts),
        finish_reason=finish_reason or as_str(item.get("finish_reason")),
        name=as_str(item.get("name")) if role != "tool" else "",
    )


def openai_messages(value: Any) -> tuple[Message, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(
        openai_message(item, "user") for item in value[:MAX_MESSAGES] if isinstance(item, dict)
    )


def tool_definitions(value: Any) -> tuple[ToolDefinition, ...] | None:
    """Tool definitions, flat (``{"name", "parameters"}``) or nested (``{"function": …}``)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return None
    out: list[ToolDefinition] = []
    for item in value[:MAX_TOOLS]:
        item = maybe_json(item)
        if not isinstance(item, dict):
            continue
        function = item.get("function")
        source = function if isinstance(function, dict) else item
        name = as_str(source.get("name"))
        if not name:
            continue
        parameters = source.get("parameters", source.get("inputSchema", source.get("input_schema")))
        out.append(ToolDefinition(name, as_str(source.get("description")), maybe_json(parameters)))
    return tuple(out)


def text_message(role: str, text: str) -> Message:
    return Message(role, (TextPart(text),))

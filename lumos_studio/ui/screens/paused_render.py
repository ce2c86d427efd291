"""How the paused view reads a model request: messages as lines (``user › text``, ``→ a tool
call``, ``← its result``), tools as signatures, settings as ``key=value``. Outside data, so every
piece goes through ``display``; the editor still holds the exact JSON."""

from __future__ import annotations

from typing import Any

import orjson
from rich.text import Text

from lumos_studio.display import safe_json, safe_str, safe_text

PREVIEW = 600  # characters of one message part shown (the editor has them all)


def shown(value: Any) -> Text:
    """Any paused value: text as it is, data as highlighted JSON."""
    if isinstance(value, str):
        return safe_text(value, limit=None, multiline=True)
    return safe_json(value)


def messages_text(messages: Any) -> Text:
    """One line (or a few) per message part; anything unexpected as JSON."""
    if not isinstance(messages, list):
        return shown(messages)
    text = Text()
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("parts"), list):
            text.append_text(shown(message))
            text.append("\n")
            continue
        role = safe_str(message.get("role", "?"))
        for part in message["parts"]:
            text.append_text(_part(role, part))
            text.append("\n")
    text.rstrip()
    return text


def _part(role: str, part: Any) -> Text:
    if not isinstance(part, dict):
        return Text.assemble((f"{role} › ", "bold"), shown(part))
    kind = part.get("type")
    if kind == "text":
        return Text.assemble(
            (f"{role} › ", "bold"),
            safe_text(part.get("content", ""), limit=PREVIEW, multiline=True))
    if kind == "tool_call":
        arguments = orjson.dumps(part.get("arguments"), default=str).decode()
        return Text.assemble(
            ("  → ", "bold"), safe_text(part.get("name", "?"), style="bold"),
            safe_text(f"({arguments})", limit=PREVIEW))
    if kind == "tool_call_response":
        response = part.get("response", "")
        shown_response = response if isinstance(response, str) else orjson.dumps(
            response, default=str).decode()
        return Text.assemble(
            ("  ← ", "bold"), safe_text(part.get("name") or part.get("id", "?"), style="bold"),
            ": ", safe_text(shown_response, limit=PREVIEW, multiline=True))
    return Text.assemble((f"{role} › ", "bold"), shown(part))


def tools_text(tools: Any) -> Text:
    """``get_weather(city: string) — Current weather for a city.``, one a line."""
    if not isinstance(tools, list):
        return shown(tools)
    text = Text()
    for tool in tools:
        if not isinstance(tool, dict):
            text.append_text(shown(tool))
            text.append("\n")
            continue
        parameters = tool.get("parameters")
        properties = parameters.get("properties") if isinstance(parameters, dict) else None
        fields = ", ".join(
            f"{name}: {spec.get('type', '?') if isinstance(spec, dict) else '?'}"
            for name, spec in (properties.items() if isinstance(properties, dict) else ())
        )
        text.append_text(safe_text(f"{tool.get('name', '?')}({fields})", style="bold",
                                   limit=PREVIEW))
        if tool.get("description"):
            text.append(" — ")
            text.append_text(safe_text(tool["description"], limit=PREVIEW))
        text.append("\n")
    text.rstrip()
    return text


def settings_text(settings: Any) -> Text:
    if not isinstance(settings, dict):
        return shown(settings)
    return safe_text(" · ".join(f"{k}={orjson.dumps(v, default=str).decode()}"
                                for k, v in settings.items()), limit=PREVIEW)


MODEL_SECTIONS = {
    "instructions": shown,
    "messages": messages_text,
    "tools": tools_text,
    "settings": settings_text,
}

"""Plain text of view values, for previews and the search index (never markup: see ``display``)."""

from __future__ import annotations

from typing import Any, Final

import orjson

from lumos_studio.semantics.view import (
    MediaPart,
    Message,
    OtherPart,
    Part,
    ReasoningPart,
    SpanView,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

MAX_SEARCH_CHARS: Final = 64 * 1024


def value_text(value: Any) -> str:
    """A string as it is; any other JSON value as compact JSON (``None`` as "")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return repr(value)


def part_text(part: Part) -> str:
    """One part as one line of text: what a reader of the conversation would want to see."""
    match part:
        case TextPart(text=text) | ReasoningPart(text=text):
            return text
        case ToolCallPart(name=name, arguments=arguments):
            return f"{name}({value_text(arguments)})"
        case ToolResultPart(result=result):
            return value_text(result)
        case MediaPart(uri=uri, file_id=file_id, mime_type=mime):
            return uri or file_id or mime
        case OtherPart(type=kind):
            return kind
    return ""


def message_text(message: Message) -> str:
    return "\n".join(text for text in (part_text(p) for p in message.parts) if text)


def transcript_text(view: SpanView) -> str:
    """What the span carried, as a person would paste it into an issue or a playground: the
    instructions and every message under its role, a tool's arguments and result, a search's
    query and documents, the error; "" when it carried none of these."""
    sections: list[tuple[str, str]] = []
    if view.system_instructions:
        sections.append(("system", "\n".join(part_text(p) for p in view.system_instructions)))
    for message in (*view.input_messages, *view.output_messages):
        role = f"{message.role} ({message.name})" if message.name else message.role
        sections.append((role or "message", message_block(message)))
    if view.tool_call is not None:
        call = view.tool_call
        sections.append((f"{call.name or 'tool'} arguments", _value_block(call.arguments)))
        if call.result is not None:
            sections.append(("result", _value_block(call.result)))
    if view.query:
        sections.append(("query", view.query))
    for number, document in enumerate(view.documents, 1):
        about = " ".join(filter(None, (
            document.id, f"score {document.score:g}" if document.score is not None else "")))
        sections.append((f"document {number}" + (f" ({about})" if about else ""),
                         document.content))
    if view.error is not None:
        error = view.error
        what = ": ".join(filter(None, (error.type, error.message or error.status_message)))
        sections.append(("error", "\n".join(filter(None, (what, error.stacktrace)))))
    return "\n\n".join(f"## {title}\n{body}" for title, body in sections)


def message_block(message: Message) -> str:
    """A message as a reader pastes it: its text, each tool call as ``→ name(arguments)``."""
    lines = []
    for part in message.parts:
        match part:
            case ToolCallPart(name=name, arguments=arguments):
                lines.append(f"→ {name}({value_text(arguments)})")
            case _:
                lines.append(part_text(part))
    return "\n".join(line for line in lines if line)


def _value_block(value: Any) -> str:
    """A tool's arguments or result: a string as written, other JSON indented."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_INDENT_2).decode()
    except (TypeError, orjson.JSONEncodeError):
        return repr(value)


def searchable_text(view: SpanView) -> str:
    """The words a search should find this span by: messages, instructions, tool call, models."""
    pieces: list[str] = [view.request_model, view.response_model, view.agent_name]
    pieces.extend(part_text(p) for p in view.system_instructions)
    pieces.extend(message_text(m) for m in view.input_messages)
    pieces.extend(message_text(m) for m in view.output_messages)
    if view.tool_call is not None:
        call = view.tool_call
        pieces += [call.name, value_text(call.arguments), value_text(call.result)]
    return "\n".join(p for p in pieces if p)[:MAX_SEARCH_CHARS]

"""Spans of any dialect rewritten with the current OTel GenAI attributes (``export --semconv
latest``), so a trace recorded with OpenInference, OpenLLMetry, the AI SDK… opens as a
conversation in any GenAI-aware tool.

What ``semantics.read_span`` understood of a span (with its trace's log records, for the event
forms) is written as ``gen_ai.*`` attributes: operation, models, provider, usage, conversation and
agent names, system instructions, input/output messages and tool definitions as JSON (role +
typed parts), a tool call's name, id, arguments and result. Every other attribute stays as it
was; a span nothing was understood of is left as it is. Plain export never goes through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import orjson

from lumos_core.telemetry import semconv as sc
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.semantics import (
    MediaPart,
    Message,
    OtherPart,
    Part,
    ReasoningPart,
    SpanView,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
    read_span,
)
from lumos_studio.semantics.hot import OPERATION_OF_KIND

__all__ = ["SEMCONV_CHOICES", "to_latest", "to_latest_all"]

SEMCONV_CHOICES = ("as-recorded", "latest")

# Usage, in the current names (semantic-conventions-genai).
_USAGE_NAMES = (
    ("input_tokens", sc.USAGE_INPUT_TOKENS),
    ("output_tokens", sc.USAGE_OUTPUT_TOKENS),
    ("cache_read_tokens", "gen_ai.usage.cache_read.input_tokens"),
    ("cache_creation_tokens", "gen_ai.usage.cache_creation.input_tokens"),
    ("reasoning_tokens", "gen_ai.usage.reasoning.output_tokens"),
)


def to_latest_all(spans: Sequence[SpanRecord], logs: Sequence[LogRecord]) -> list[SpanRecord]:
    """Each span rewritten (``to_latest``), with the log records of its trace."""
    by_trace: dict[str, list[LogRecord]] = {}
    for log in logs:
        if log.trace_id:
            by_trace.setdefault(log.trace_id, []).append(log)
    return [to_latest(span, by_trace.get(span.trace_id, ())) for span in spans]


def to_latest(span: SpanRecord, logs: Iterable[LogRecord] = ()) -> SpanRecord:
    """``span`` with what it means written as current GenAI attributes, others kept."""
    view = read_span(span, logs)
    if not view.dialects:
        return span
    attributes = dict(span.attributes)
    attributes.update(_genai_attributes(view))
    return replace(span, attributes=attributes)


def _genai_attributes(view: SpanView) -> dict[str, Any]:
    out: dict[str, Any] = {}
    operation = view.operation_name if view.operation_name in _GENAI_OPERATIONS else ""
    operation = operation or OPERATION_OF_KIND.get(view.kind, "")
    if operation:
        out[sc.OPERATION_NAME] = operation
    for name, value in (
        (sc.REQUEST_MODEL, view.request_model),
        (sc.RESPONSE_MODEL, view.response_model),
        (sc.PROVIDER_NAME, view.provider),
        (sc.RESPONSE_ID, view.response_id),
        (sc.CONVERSATION_ID, view.conversation_id),
        (sc.AGENT_NAME, view.agent_name),
    ):
        if value:
            out[name] = value
    for field, name in _USAGE_NAMES:
        count = getattr(view.usage, field)
        if count is not None:
            out[name] = count
    if view.finish_reasons:
        out[sc.RESPONSE_FINISH_REASONS] = list(view.finish_reasons)
    if view.streaming is not None:
        out[sc.REQUEST_STREAM] = view.streaming
    if view.system_instructions:
        out[sc.SYSTEM_INSTRUCTIONS] = _json([_part(p) for p in view.system_instructions])
    if view.input_messages:
        out[sc.INPUT_MESSAGES] = _json([_message(m) for m in view.input_messages])
    if view.output_messages:
        out[sc.OUTPUT_MESSAGES] = _json([_message(m) for m in view.output_messages])
    if view.tool_definitions:
        out[sc.TOOL_DEFINITIONS] = _json([_tool(t) for t in view.tool_definitions])
    call = view.tool_call
    if call is not None:
        if call.name:
            out[sc.TOOL_NAME] = call.name
        if call.id:
            out[sc.TOOL_CALL_ID] = call.id
        if call.arguments is not None:
            out[sc.TOOL_CALL_ARGUMENTS] = _text(call.arguments)
        if call.result is not None:
            out[sc.TOOL_CALL_RESULT] = _text(call.result)
    return out


_GENAI_OPERATIONS = frozenset((
    "chat", "text_completion", "generate_content", "invoke_agent", "create_agent",
    "execute_tool", "embeddings", "retrieval", "invoke_workflow", "evaluate", "rerank",
    sc.OP_SEARCH_MEMORY, sc.OP_UPDATE_MEMORY, sc.OP_CREATE_MEMORY, sc.OP_DELETE_MEMORY,
    sc.OP_UPSERT_MEMORY,
))


def _message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "parts": [_part(p) for p in message.parts]}
    if message.name:
        out["name"] = message.name
    if message.finish_reason:
        out["finish_reason"] = message.finish_reason
    return out


def _part(part: Part) -> dict[str, Any]:
    """One part in the conventions' message schema."""
    match part:
        case TextPart(text=text):
            return {"type": "text", "content": text}
        case ReasoningPart(text=text):
            return {"type": "reasoning", "content": text}
        case ToolCallPart(id=call_id, name=name, arguments=arguments):
            return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}
        case ToolResultPart(id=call_id, result=result):
            return {"type": "tool_call_response", "id": call_id, "response": result}
        case MediaPart() as media:
            return _media(media)
        case OtherPart(type=kind, value=value):
            return {"type": kind, "content": value}
    return {"type": "unknown"}


def _media(part: MediaPart) -> dict[str, Any]:
    if part.uri:
        out: dict[str, Any] = {"type": "uri", "uri": part.uri}
    elif part.file_id:
        out = {"type": "file", "file_id": part.file_id}
    else:
        out = {"type": "blob", "content": part.blob}
    if part.mime_type:
        out["mime_type"] = part.mime_type
    if part.modality:
        out["modality"] = part.modality
    return out


def _tool(tool: ToolDefinition) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "function", "name": tool.name}
    if tool.description:
        out["description"] = tool.description
    if tool.parameters is not None:
        out["parameters"] = tool.parameters
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else _json(value)


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()

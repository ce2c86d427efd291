"""The one reader of telemetry conventions: any dialect of a span in, one ``SpanView`` out.

No other studio module should read ``gen_ai.*``, ``llm.*``, ``traceloop.*`` or ``ai.*`` keys; they
call ``read_span`` (docs/dialects.md lists what is read from where).
"""

from __future__ import annotations

from lumos_studio.semantics.genai_events import log_event_name, logs_for_span
from lumos_studio.semantics.reader import TraceViews, read_span, read_trace
from lumos_studio.semantics.text import (
    message_text,
    part_text,
    searchable_text,
    transcript_text,
    value_text,
)
from lumos_studio.semantics.view import (
    Dialect,
    Document,
    ErrorInfo,
    Evaluation,
    MediaPart,
    Message,
    OperationKind,
    OtherPart,
    Part,
    ReasoningPart,
    RequestSettings,
    SpanView,
    TextPart,
    ToolCall,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
    Usage,
)

__all__ = [
    "Dialect",
    "Document",
    "ErrorInfo",
    "Evaluation",
    "MediaPart",
    "Message",
    "OperationKind",
    "OtherPart",
    "Part",
    "ReasoningPart",
    "RequestSettings",
    "SpanView",
    "TextPart",
    "ToolCall",
    "ToolCallPart",
    "ToolDefinition",
    "ToolResultPart",
    "TraceViews",
    "Usage",
    "log_event_name",
    "logs_for_span",
    "message_text",
    "part_text",
    "read_span",
    "read_trace",
    "searchable_text",
    "transcript_text",
    "value_text",
]

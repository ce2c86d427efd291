"""``read_span``: one pass over a span's keys, then each present dialect's reader in priority order.

Priority: our own and the current GenAI attributes first, then pydantic-ai and Logfire (which
extend them), the earlier GenAI forms, OpenInference, OpenLLMetry, the Vercel AI SDK; message
events and log records fill what attributes left empty; OpenInference's generic
``input.value``/``output.value`` come last, as plain text, only when nothing richer was found.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from lumos_studio.records import STATUS_ERROR, LogRecord, SpanRecord
from lumos_studio.semantics import logfire, lumos, pydantic_ai
from lumos_studio.semantics._draft import Draft, as_str
from lumos_studio.semantics.genai import read_genai
from lumos_studio.semantics.genai_events import (
    logs_for_span,
    read_events,
    read_flattened,
    read_operation_details,
)
from lumos_studio.semantics.openinference import read_io_fallback, read_openinference
from lumos_studio.semantics.openllmetry import read_openllmetry
from lumos_studio.semantics.vercel_ai import read_vercel_ai
from lumos_studio.semantics.view import (
    Dialect,
    ErrorInfo,
    OperationKind,
    RequestSettings,
    SpanView,
    ToolCall,
    Usage,
)

#: First segments of attribute keys that belong to a convention this module reads: a key under
#: one of them that no reader understood is listed in ``SpanView.unread_keys``.
CONVENTION_HEADS: Final = frozenset({
    "gen_ai", "llm", "openinference", "input", "output", "tool", "tool_call", "traceloop", "ai",
    "lumos", "pydantic_ai", "logfire", "session", "embedding", "retrieval", "reranker", "agent",
    "metadata", "tag", "user", "graph", "document",
})
MAX_UNREAD: Final = 500
_OPENINFERENCE_HEADS: Final = ("openinference", "llm", "input", "output", "tool", "session")
PYDANTIC_MARKERS: Final = ("all_messages_events", "tool_arguments", "agent_name", "final_result")


def _events(span: SpanRecord) -> tuple[Any, ...]:
    events = span.events
    return tuple(events) if isinstance(events, tuple | list) else ()


def _error(span: SpanRecord, attrs: dict[str, Any]) -> ErrorInfo | None:
    exception: dict[str, Any] = {}
    for event in _events(span):
        if getattr(event, "name", None) == "exception" and isinstance(event.attributes, dict):
            exception = event.attributes
            break
    error_type = as_str(attrs.get("error.type"))
    if span.status_code != STATUS_ERROR and not exception and not error_type:
        return None
    message = as_str(exception.get("exception.message")) or as_str(attrs.get("lumos.tool.error"))
    return ErrorInfo(
        status_message=as_str(span.status_message),
        type=as_str(exception.get("exception.type")) or error_type,
        message=message,
        stacktrace=as_str(exception.get("exception.stacktrace")),
    )


def read_span(span: SpanRecord, logs: Iterable[LogRecord] = ()) -> SpanView:
    """What ``span`` means, in whichever dialects it was written; never raises on odd values.

    ``logs`` may be the span's trace's log records (or any superset): the ones that belong to this
    span are picked by ``genai_events.logs_for_span``.
    """
    try:
        return _read(span, logs)
    except Exception:
        # A reader's slip on one hostile span must not take a pane down: nothing is understood.
        attrs = span.attributes if isinstance(span.attributes, dict) else {}
        heads = CONVENTION_HEADS
        unread = sorted(k for k in attrs if isinstance(k, str) and k.partition(".")[0] in heads)
        return SpanView(unread_keys=tuple(unread[:MAX_UNREAD]))


def _read(span: SpanRecord, logs: Iterable[LogRecord]) -> SpanView:
    attrs = span.attributes if isinstance(span.attributes, dict) else {}
    buckets: dict[str, list[str]] = {}
    keys: list[str] = []
    for key in attrs:
        if isinstance(key, str):
            keys.append(key)
            buckets.setdefault(key.partition(".")[0], []).append(key)
    d = Draft(attrs)
    scope = span.scope_name if isinstance(span.scope_name, str) else ""
    gen_ai_keys = buckets.get("gen_ai", [])
    llm_keys = buckets.get("llm", [])
    if "lumos" in buckets or scope == lumos.SCOPE:
        lumos.read_lumos(d, buckets.get("lumos", []), scope)
    if gen_ai_keys:
        read_genai(d, gen_ai_keys)
    if scope == pydantic_ai.SCOPE or "pydantic_ai" in buckets or any(
        key in attrs for key in PYDANTIC_MARKERS
    ):
        pydantic_ai.read_pydantic_ai(d, keys)
    if scope.startswith(logfire.SCOPE_PREFIX) or "logfire" in buckets:
        logfire.read_logfire(d, buckets.get("logfire", []))
    if gen_ai_keys or llm_keys:
        read_flattened(d, gen_ai_keys, llm_keys)
    if any(head in buckets for head in _OPENINFERENCE_HEADS):
        read_openinference(d, llm_keys, keys)
    if "traceloop" in buckets or llm_keys:
        read_openllmetry(d, buckets.get("traceloop", []) + llm_keys)
    if "ai" in buckets:
        read_vercel_ai(d, buckets["ai"], as_str(span.name))
    logs = logs if isinstance(logs, list | tuple) else list(logs)
    own_logs = logs_for_span(span, logs, d.kind is OperationKind.LLM) if logs else []
    if _events(span) or own_logs or "events" in attrs:
        read_events(d, span, own_logs)
    if logs and not (d.input_messages and d.output_messages):
        read_operation_details(d, span, logs)
    if Dialect.OPENINFERENCE in d.dialects:
        read_io_fallback(d)
    return _finish(d, span, buckets)


def read_trace(
    spans: Iterable[SpanRecord], logs: Iterable[LogRecord] = ()
) -> dict[str, SpanView]:
    """Every span of a trace read once, by span id; the log records are indexed once, and each
    span is given only those tied to it or to its parent (all the log rule can use)."""
    views = TraceViews(spans, logs)
    return {span_id: views[span_id] for span_id in views}


class TraceViews(Mapping[str, SpanView]):
    """A trace's spans by id, each read (as ``read_trace`` reads it) when first asked for: a
    comparison shows its first rows after reading the few spans they hold, not 200,000.
    Safe to share between threads: a span read twice at once gives the same view."""

    def __init__(self, spans: Iterable[SpanRecord], logs: Iterable[LogRecord] = ()) -> None:
        self._spans = {span.span_id: span for span in spans}
        self._logs: dict[str, list[LogRecord]] = {}
        for log in logs:
            if isinstance(log, LogRecord) and log.span_id:
                self._logs.setdefault(log.span_id, []).append(log)
        self._read: dict[str, SpanView] = {}

    def __getitem__(self, span_id: str) -> SpanView:
        view = self._read.get(span_id)
        if view is None:
            span = self._spans[span_id]
            mine = self._logs.get(span.span_id, [])
            parents = self._logs.get(span.parent_span_id, []) if span.parent_span_id else []
            view = self._read[span_id] = read_span(span, mine + parents if parents else mine)
        return view

    def __iter__(self) -> Iterator[str]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)


def _finish(d: Draft, span: SpanRecord, buckets: dict[str, list[str]]) -> SpanView:
    if d.kind is OperationKind.UNKNOWN:
        if d.has_tool:
            d.kind = OperationKind.TOOL
        elif (d.request_model or d.response_model) and d.usage:
            d.kind = OperationKind.LLM
    if not d.finish_reasons and d.output_messages:
        d.finish_reasons = tuple(m.finish_reason for m in d.output_messages if m.finish_reason)
    unread: list[str] = []
    for head, keys in buckets.items():
        if head in CONVENTION_HEADS:
            unread.extend(key for key in keys if key not in d.read)
    if Dialect.PYDANTIC_AI in d.dialects:
        unread.extend(k for k in pydantic_ai.OWN_KEYS if k in d.attrs and k not in d.read)
    tool_call = None
    if d.has_tool or d.kind is OperationKind.TOOL:
        tool_call = ToolCall(d.tool_name, d.tool_id, d.tool_arguments, d.tool_result)
    usage = d.usage
    return SpanView(
        dialects=tuple(d.dialects),
        kind=d.kind,
        operation_name=d.operation_name,
        request_model=d.request_model,
        response_model=d.response_model,
        provider=d.provider,
        usage=Usage(**usage) if usage else Usage(),
        cost=d.cost,
        system_instructions=d.system_instructions,
        input_messages=d.input_messages,
        output_messages=d.output_messages,
        tool_definitions=d.tool_definitions,
        request_settings=RequestSettings(**d.settings) if d.settings else RequestSettings(),
        tool_call=tool_call,
        conversation_id=d.conversation_id,
        agent_name=d.agent_name,
        response_id=d.response_id,
        streaming=d.streaming,
        error=_error(span, d.attrs),
        finish_reasons=d.finish_reasons,
        evaluations=tuple(d.evaluations),
        query=d.query,
        documents=d.documents,
        unread_keys=tuple(sorted(unread)[:MAX_UNREAD]),
    )

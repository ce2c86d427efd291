"""OpenLLMetry (Traceloop): ``traceloop.*`` entity spans and its ``llm.*`` request keys.

Its model-call spans now carry current GenAI attributes (read by ``genai``) or the earlier
flattened prompt keys (read by ``genai_events``); what is its own is read here:
``traceloop.span.kind`` / ``traceloop.entity.*`` for workflow, task, agent and tool spans,
``llm.request.type``, ``llm.usage.*``, ``llm.is_streaming``.
"""

from __future__ import annotations

from typing import Any, Final

from lumos_studio.semantics._draft import Draft, as_str, maybe_json
from lumos_studio.semantics.parts import text_message
from lumos_studio.semantics.view import Dialect, OperationKind

SPAN_KIND: Final = "traceloop.span.kind"
REQUEST_TYPE: Final = "llm.request.type"
SESSION_ID: Final = "traceloop.association.properties.session_id"
SPAN_KINDS: Final[dict[str, OperationKind]] = {
    "workflow": OperationKind.WORKFLOW,
    "task": OperationKind.WORKFLOW,
    "agent": OperationKind.AGENT,
    "tool": OperationKind.TOOL,
}
REQUEST_TYPES: Final[dict[str, OperationKind]] = {
    "chat": OperationKind.LLM,
    "completion": OperationKind.LLM,
    "embedding": OperationKind.EMBEDDING,
    "rerank": OperationKind.RERANKER,
}
#: Understood and not part of the view: request parameters, headers, prompt registry, paths.
KNOWN_PREFIXES: Final = (
    "llm.request.",
    "llm.headers",
    "llm.user",
    "llm.frequency_penalty",
    "llm.presence_penalty",
    "llm.top_k",
    "llm.chat.stop_sequences",
    "llm.response.",
    "llm.openai.",
    "traceloop.association.properties.",
    "traceloop.entity.path",
    "traceloop.entity.version",
    "traceloop.workflow.name",
    "traceloop.prompt.",
    "traceloop.sdk.",
)
OPENLLMETRY_SCOPE: Final = "opentelemetry.instrumentation."


def _entity_value(value: Any) -> Any:
    """``traceloop.entity.input`` is JSON ``{"args": [...], "kwargs": {...}}``; give the kwargs."""
    parsed = maybe_json(value)
    if isinstance(parsed, dict) and set(parsed) <= {"args", "kwargs"}:
        kwargs = parsed.get("kwargs")
        args = parsed.get("args")
        if isinstance(kwargs, dict) and (kwargs or not args):
            return kwargs
        return args
    return parsed


def read_openllmetry(d: Draft, keys: list[str]) -> None:
    a = d.attrs
    before = len(d.read)
    kind = d.take_str(SPAN_KIND)
    d.set_kind(SPAN_KINDS.get(kind))
    d.set_kind(REQUEST_TYPES.get(d.take_str(REQUEST_TYPE)))
    d.set_usage("total_tokens", "llm.usage.total_tokens")
    d.set_usage("reasoning_tokens", "llm.usage.reasoning_tokens")
    d.set_usage("cache_read_tokens", "llm.usage.cache_read_input_tokens")
    d.set_streaming("llm.is_streaming")
    name = d.take_str("traceloop.entity.name")
    session = as_str(a.get(SESSION_ID))
    d.conversation_id = d.conversation_id or session
    if kind == "agent":
        d.agent_name = d.agent_name or name
    if kind == "tool":
        d.has_tool = True
        d.tool_name = d.tool_name or name
        if "traceloop.entity.input" in a and d.tool_arguments is None:
            d.tool_arguments = _entity_value(a["traceloop.entity.input"])
            d.read.add("traceloop.entity.input")
        if "traceloop.entity.output" in a and d.tool_result is None:
            d.tool_result = a["traceloop.entity.output"]
            d.read.add("traceloop.entity.output")
    else:
        for key, role, field in (
            ("traceloop.entity.input", "user", "input_messages"),
            ("traceloop.entity.output", "assistant", "output_messages"),
        ):
            value = a.get(key)
            if isinstance(value, str) and value and not getattr(d, field):
                setattr(d, field, (text_message(role, value),))
                d.read.add(key)
    for key in keys:
        if key.startswith(KNOWN_PREFIXES) and not key.startswith("llm.request.functions."):
            d.read.add(key)
    if len(d.read) > before:
        d.add_dialect(Dialect.OPENLLMETRY)

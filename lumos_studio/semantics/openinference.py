"""OpenInference (Arize Phoenix's conventions): flattened ``llm.*`` keys, generic input/output.

``openinference.span.kind`` names the operation; an LLM span flattens its messages as
``llm.input_messages.N.message.{role,content,contents.M.message_content.*,tool_calls.M.tool_call.*,
tool_call_id}`` (and ``llm.output_messages…``), usage as ``llm.token_count.*``, tools as
``llm.tools.N.tool.*``. Other spans carry ``input.value`` / ``output.value`` (text or JSON, typed by
``*.mime_type``); a TOOL span's are the call's arguments and result.
"""

from __future__ import annotations

from typing import Any, Final

from lumos_studio.semantics._draft import (
    MAX_PARTS,
    Draft,
    as_bool,
    as_float,
    as_str,
    indexed,
    maybe_json,
)
from lumos_studio.semantics.parts import (
    openai_message,
    openai_messages,
    text_message,
    tool_definitions,
)
from lumos_studio.semantics.view import (
    Dialect,
    Document,
    MediaPart,
    Message,
    OperationKind,
    Part,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
)

SPAN_KINDS: Final[dict[str, OperationKind]] = {
    "LLM": OperationKind.LLM,
    "CHAIN": OperationKind.WORKFLOW,
    "PROMPT": OperationKind.WORKFLOW,
    "AGENT": OperationKind.AGENT,
    "TOOL": OperationKind.TOOL,
    "RETRIEVER": OperationKind.RETRIEVAL,
    "EMBEDDING": OperationKind.EMBEDDING,
    "RERANKER": OperationKind.RERANKER,
    "GUARDRAIL": OperationKind.GUARDRAIL,
    "EVALUATOR": OperationKind.EVALUATOR,
}

SPAN_KIND: Final = "openinference.span.kind"
MODEL_NAME: Final = "llm.model_name"
SESSION_ID: Final = "session.id"
AGENT_NAME: Final = "agent.name"
TOOL_NAME: Final = "tool.name"

TOKEN_COUNTS: Final = (
    ("input_tokens", "llm.token_count.prompt"),
    ("output_tokens", "llm.token_count.completion"),
    ("total_tokens", "llm.token_count.total"),
    ("cache_read_tokens", "llm.token_count.prompt_details.cache_read"),
    ("cache_creation_tokens", "llm.token_count.prompt_details.cache_write"),
    ("reasoning_tokens", "llm.token_count.completion_details.reasoning"),
)

#: Understood and not part of the view: documents, embeddings, templates, metadata.
KNOWN_PREFIXES: Final = (
    "llm.token_count.",
    "llm.prompt_template.",
    "llm.cost.",
    "embedding.",
    "retrieval.documents.",  # beyond what Document holds (metadata)
    "reranker.",
    "document.",
    "metadata",
    "tag.tags",
    "user.id",
    "input.mime_type",
    "output.mime_type",
    "tool.description",
    "tool.parameters",
    "tool.json_schema",
    "graph.node.",
)

#: The keys that mark a span as OpenInference.
MARKERS: Final = ("openinference.span.kind", "llm.input_messages.", "llm.output_messages.",
                  "llm.token_count.", "llm.model_name")


def _message(d: Draft, fields: dict[str, str]) -> Message:
    a = d.attrs
    role = as_str(a.get(fields.get("message.role", ""), ""))
    content = a.get(fields.get("message.content", ""))
    parts: list[Part] = []
    contents: dict[int, dict[str, Any]] = {}
    calls: dict[int, dict[str, Any]] = {}
    for rest, key in fields.items():
        if rest in ("message.role", "message.content", "message.tool_call_id", "message.name"):
            d.read.add(key)
            continue
        for prefix, target, inner in (
            ("message.contents.", contents, "message_content."),
            ("message.tool_calls.", calls, "tool_call."),
        ):
            if rest.startswith(prefix):
                number, _, field = rest[len(prefix):].partition(".")
                if number.isdigit() and len(number) <= 4 and field.startswith(inner):
                    target.setdefault(int(number), {})[field[len(inner):]] = a[key]
                    d.read.add(key)
                break
    texts = [content] if isinstance(content, str) and content else []
    for _, item in sorted(contents.items())[:MAX_PARTS]:
        kind = as_str(item.get("type"))
        if kind == "image":
            parts.append(MediaPart(uri=as_str(item.get("image.image.url")), modality="image"))
        elif isinstance(item.get("text"), str):
            texts.append(item["text"])
    if role == "tool":
        call_id = as_str(a.get(fields.get("message.tool_call_id", ""), ""))
        name = as_str(a.get(fields.get("message.name", ""), ""))
        parts.insert(0, ToolResultPart(call_id, name, "\n".join(texts)))
    else:
        parts[:0] = [TextPart(text) for text in texts]
    for _, call in sorted(calls.items())[:MAX_PARTS]:
        parts.append(
            ToolCallPart(
                as_str(call.get("id")),
                as_str(call.get("function.name")),
                maybe_json(call.get("function.arguments")),
            )
        )
    name = as_str(a.get(fields.get("message.name", ""), "")) if role != "tool" else ""
    return Message(role, tuple(parts), name=name)


def _tools(d: Draft, llm_keys: list[str]) -> tuple[ToolDefinition, ...]:
    out: list[ToolDefinition] = []
    for fields in indexed(llm_keys, "llm.tools.").values():
        schema_key = fields.get("tool.json_schema")
        if schema_key is not None:
            parsed = tool_definitions(d.json(schema_key))
            if parsed:
                out.extend(parsed)
                d.read.update(fields.values())
                continue
        name = as_str(d.attrs.get(fields.get("tool.name", "")))
        if name:
            description = as_str(d.attrs.get(fields.get("tool.description", "")))
            parameters = maybe_json(d.attrs.get(fields.get("tool.parameters", "")))
            out.append(ToolDefinition(name, description, parameters))
            d.read.update(fields.values())
    return tuple(out)


def _documents(d: Draft, keys: list[str]) -> None:
    """``retrieval.documents.N.document.{id,content,score}``; a RETRIEVER's query is its input."""
    groups = indexed(keys, "retrieval.documents.")
    if groups and not d.documents:
        found = []
        for fields in groups.values():
            values = {rest: d.attrs[key] for rest, key in fields.items()}
            found.append(Document(
                as_str(values.get("document.id")),
                as_str(values.get("document.content")),
                as_float(values.get("document.score")),
            ))
            d.read.update(fields.values())
        d.documents = tuple(found)
    if d.kind is OperationKind.RETRIEVAL and not d.query:
        d.query = as_str(d.attrs.get("input.value"))


def _io(d: Draft, key: str) -> Any:
    """``input.value`` / ``output.value``: JSON when its mime type says so, else the text."""
    value = d.attrs.get(key)
    mime = as_str(d.attrs.get(key.replace(".value", ".mime_type")))
    return maybe_json(value) if mime == "application/json" else value


def read_io_fallback(d: Draft) -> None:
    """Messages from the generic input/output when the span had none of its own.

    A model call's JSON request/response give their messages; anything else (an agent's or a
    chain's input) is shown as it was sent, as one text message.
    """
    if d.kind is OperationKind.TOOL:
        return
    for key, role, field in (
        ("input.value", "user", "input_messages"),
        ("output.value", "assistant", "output_messages"),
    ):
        raw = d.attrs.get(key)
        if raw is None or getattr(d, field):
            continue
        value = _io(d, key)
        messages: tuple[Message, ...] | None = None
        if isinstance(value, dict) and isinstance(value.get("messages"), list):
            messages = openai_messages(value["messages"])
        elif isinstance(value, dict) and isinstance(value.get("choices"), list):
            messages = tuple(
                openai_message(c["message"], "assistant", as_str(c.get("finish_reason")))
                for c in value["choices"][:MAX_PARTS]
                if isinstance(c, dict) and isinstance(c.get("message"), dict)
            )
        if not messages and isinstance(raw, str) and raw:
            messages = (text_message(role, raw),)
        if messages:
            setattr(d, field, messages)


#: ``RequestSettings`` fields by the invocation parameters that give them, first found wins.
_PARAMETER_SETTINGS: Final = (
    ("temperature", ("temperature",)),
    ("max_tokens", ("max_tokens", "max_completion_tokens", "max_output_tokens")),
    ("top_p", ("top_p",)),
    ("seed", ("seed",)),
    ("stop", ("stop", "stop_sequences")),
)


def read_openinference(d: Draft, llm_keys: list[str], keys: list[str]) -> None:
    """Read OpenInference attributes (``llm_keys``: the ``llm.*`` keys; ``keys``: all keys)."""
    a = d.attrs
    before = len(d.read)
    kind_name = d.take_str(SPAN_KIND)
    d.set_kind(SPAN_KINDS.get(kind_name.upper()))
    for field, key in TOKEN_COUNTS:
        d.set_usage(field, key)
    parameters = d.json("llm.invocation_parameters") if "llm.invocation_parameters" in a else None
    if isinstance(parameters, dict):
        d.read.add("llm.invocation_parameters")
        d.request_model = d.request_model or as_str(parameters.get("model"))
        for setting, names in _PARAMETER_SETTINGS:
            for name in names:
                if d.set_setting(setting, parameters.get(name)):
                    break
        stream = as_bool(parameters.get("stream"))
        if stream is not None and d.streaming is None:
            d.streaming = stream
    model = d.take_str(MODEL_NAME)
    if model:
        # Instrumentors write the response's model here when they have it, else the request's.
        if not d.request_model:
            d.request_model = model
        elif not d.response_model and model != d.request_model:
            d.response_model = model
    d.fill("provider", "llm.provider", "llm.system")
    d.fill("conversation_id", SESSION_ID)
    d.fill("agent_name", AGENT_NAME)
    if "llm.finish_reason" in a:
        d.set_finish_reasons("llm.finish_reason")
    if "llm.cost.total" in a and d.cost is None:
        d.cost = as_float(a["llm.cost.total"])
    for prefix, attr in (("llm.input_messages.", "input"), ("llm.output_messages.", "output")):
        groups = indexed(llm_keys, prefix)
        if groups:
            messages = tuple(_message(d, fields) for fields in groups.values())
            if attr == "input" and not d.input_messages:
                d.input_messages = messages
            elif attr == "output" and not d.output_messages:
                d.output_messages = messages
    _documents(d, keys)
    tools = _tools(d, llm_keys)
    if tools and not d.tool_definitions:
        d.tool_definitions = tools
    if d.kind is OperationKind.TOOL or "tool.name" in a:
        d.fill("tool_name", "tool.name")
        d.fill("tool_id", "tool_call.id")
        if "input.value" in a and d.tool_arguments is None:
            d.tool_arguments = maybe_json(a["input.value"])
        if "output.value" in a and d.tool_result is None:
            d.tool_result = a["output.value"]
        d.has_tool = True
    for key in ("input.value", "output.value"):
        if key in a:
            d.read.add(key)
    for key in keys:
        if key.startswith(KNOWN_PREFIXES):
            d.read.add(key)
    if len(d.read) > before:
        d.add_dialect(Dialect.OPENINFERENCE)

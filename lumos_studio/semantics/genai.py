"""OTel GenAI attributes as they stand now, plus the older attribute names still in the wild.

Covers ``gen_ai.operation.name``, models and provider (``gen_ai.provider.name``, the older
``gen_ai.system``), usage (``input/output_tokens`` and the older ``prompt/completion_tokens``, cache
and reasoning counts in their several spellings), ``gen_ai.input/output.messages``,
``gen_ai.system_instructions``, ``gen_ai.tool.definitions``, the tool span's ``gen_ai.tool.*`` and
``gen_ai.tool.call.*``, conversation and agent names, streaming and finish reasons.
"""

from __future__ import annotations

from typing import Final

from lumos_studio.semantics._draft import BAD, Draft, as_float, documents, maybe_json
from lumos_studio.semantics.parts import genai_messages, genai_parts, tool_definitions
from lumos_studio.semantics.view import Dialect, OperationKind

OPERATION_KINDS: Final[dict[str, OperationKind]] = {
    "chat": OperationKind.LLM,
    "text_completion": OperationKind.LLM,
    "generate_content": OperationKind.LLM,
    "invoke_agent": OperationKind.AGENT,
    "create_agent": OperationKind.AGENT,
    "execute_tool": OperationKind.TOOL,
    "embeddings": OperationKind.EMBEDDING,
    "retrieval": OperationKind.RETRIEVAL,
    "invoke_workflow": OperationKind.WORKFLOW,
    "evaluate": OperationKind.EVALUATOR,
    "rerank": OperationKind.RERANKER,
}

#: (view field, keys in order of preference)
USAGE_KEYS: Final = (
    ("input_tokens", ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")),
    ("output_tokens", ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")),
    (
        "cache_read_tokens",
        (
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "gen_ai.usage.details.cache_read_tokens",
        ),
    ),
    (
        "cache_creation_tokens",
        (
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
            "gen_ai.usage.details.cache_write_tokens",
        ),
    ),
    (
        "reasoning_tokens",
        (
            "gen_ai.usage.reasoning_tokens",
            "gen_ai.usage.reasoning.output_tokens",
            "gen_ai.usage.details.reasoning_tokens",
        ),
    ),
    ("total_tokens", ("gen_ai.usage.total_tokens",)),
)

#: ``RequestSettings`` fields by the key that gives them.
SETTING_KEYS: Final = (
    ("temperature", "gen_ai.request.temperature"),
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("top_p", "gen_ai.request.top_p"),
    ("seed", "gen_ai.request.seed"),
    ("stop", "gen_ai.request.stop_sequences"),
)

#: Understood and deliberately not part of the view (request parameters, ids, server details).
KNOWN_PREFIXES: Final = (
    "gen_ai.request.",
    "gen_ai.openai.",
    "gen_ai.usage.details.",
    "gen_ai.agent.",
    "gen_ai.output.type",
    "gen_ai.embeddings.",
    "gen_ai.data_source.",
    "gen_ai.retrieval.",
    "gen_ai.memory.",
    "gen_ai.tool.description",
    "gen_ai.tool.type",
    "gen_ai.response.time_to_first",
    "gen_ai.client.operation.time_to_first",
    "gen_ai.server.",
    "gen_ai.token.type",
)

#: Keys under ``KNOWN_PREFIXES`` that are read for the view: unread when their value is odd.
HANDLED: Final = frozenset({
    "gen_ai.request.model", "gen_ai.agent.name", "gen_ai.request.stream",
    "gen_ai.retrieval.query.text", "gen_ai.retrieval.documents", "gen_ai.memory.query.text",
    "gen_ai.memory.records",
})


def operation_kind(operation: str) -> OperationKind | None:
    """The kind a ``gen_ai.operation.name`` stands for (a ``*_memory`` operation is memory)."""
    kind = OPERATION_KINDS.get(operation)
    if kind is None and operation.endswith(("_memory", "_memory_store")):
        kind = OperationKind.MEMORY
    return kind


def read_genai(d: Draft, keys: list[str]) -> None:
    """Read the ``gen_ai.*`` attributes of the current conventions (``keys`` are those present)."""
    before = len(d.read)
    a = d.attrs
    operation = d.take_str("gen_ai.operation.name")
    if operation:
        d.operation_name = d.operation_name or operation
        d.set_kind(operation_kind(operation))
    d.fill("request_model", "gen_ai.request.model")
    d.fill("response_model", "gen_ai.response.model")
    d.fill("provider", "gen_ai.provider.name", "gen_ai.system")
    d.fill("conversation_id", "gen_ai.conversation.id")
    d.fill("agent_name", "gen_ai.agent.name")
    d.fill("response_id", "gen_ai.response.id")
    for field, names in USAGE_KEYS:
        for key in names:
            if key in a:
                d.set_usage(field, key)
    d.set_streaming("gen_ai.is_streaming")
    d.set_streaming("gen_ai.request.stream")
    if d.streaming is None and (
        "gen_ai.response.time_to_first_chunk" in a
        or "gen_ai.client.operation.time_to_first_chunk" in a
    ):
        d.streaming = True
    d.set_finish_reasons("gen_ai.response.finish_reasons")
    for setting, key in SETTING_KEYS:
        if key in a:
            d.set_setting(setting, d.json(key) if setting == "stop" else a[key])
    if "gen_ai.usage.cost" in a and d.cost is None:
        d.cost = as_float(a["gen_ai.usage.cost"])
        if d.cost is not None:
            d.read.add("gen_ai.usage.cost")
    read_genai_content(d)
    read_tool_call(d)
    _read_documents(d)
    for key in keys:
        if key.startswith(KNOWN_PREFIXES) and key not in HANDLED:
            d.read.add(key)
    if len(d.read) > before:
        d.add_dialect(Dialect.GENAI)


def read_genai_content(d: Draft) -> None:
    """The JSON content attributes: messages, system instructions, tool definitions."""
    read_genai_messages(d)
    read_tool_definitions(d)


def read_genai_messages(d: Draft) -> None:
    """Input and output messages, system instructions."""
    if "gen_ai.input.messages" in d.attrs and not d.input_messages:
        messages = genai_messages(d.json("gen_ai.input.messages"))
        if messages is not None:
            d.input_messages = messages
            d.read.add("gen_ai.input.messages")
    if "gen_ai.output.messages" in d.attrs and not d.output_messages:
        messages = genai_messages(d.json("gen_ai.output.messages"))
        if messages is not None:
            d.output_messages = messages
            d.read.add("gen_ai.output.messages")
    if "gen_ai.system_instructions" in d.attrs and not d.system_instructions:
        raw = d.attrs["gen_ai.system_instructions"]
        parsed = d.json("gen_ai.system_instructions")
        # A plain (non-JSON) string is the instructions' text itself.
        parts = genai_parts(raw if parsed is BAD or isinstance(parsed, int | float) else parsed)
        if parts is not None:
            d.system_instructions = parts
            d.read.add("gen_ai.system_instructions")


def read_tool_definitions(d: Draft) -> None:
    if "gen_ai.tool.definitions" in d.attrs and not d.tool_definitions:
        tools = tool_definitions(d.json("gen_ai.tool.definitions"))
        if tools is not None:
            d.tool_definitions = tools
            d.read.add("gen_ai.tool.definitions")


def _read_documents(d: Draft) -> None:
    d.fill("query", "gen_ai.retrieval.query.text", "gen_ai.memory.query.text")
    for key in ("gen_ai.retrieval.documents", "gen_ai.memory.records"):
        if key in d.attrs and not d.documents:
            found = documents(d.json(key))
            if found is not None:
                d.documents = found
                d.read.add(key)


def read_tool_call(d: Draft) -> None:
    a = d.attrs
    name = d.take_str("gen_ai.tool.name")
    call_id = d.take_str("gen_ai.tool.call.id")
    if name or call_id:
        d.has_tool = True
        d.tool_name = d.tool_name or name
        d.tool_id = d.tool_id or call_id
    if "gen_ai.tool.call.arguments" in a and d.tool_arguments is None:
        d.tool_arguments = maybe_json(a["gen_ai.tool.call.arguments"])
        d.read.add("gen_ai.tool.call.arguments")
        d.has_tool = True
    if "gen_ai.tool.call.result" in a and d.tool_result is None:
        d.tool_result = a["gen_ai.tool.call.result"]
        d.read.add("gen_ai.tool.call.result")
        d.has_tool = True

"""The few facts the store makes columns of, read from a span's attributes in any dialect, fast.

``read_span`` costs ~50 µs a span, more than the whole ingest budget, so the store's columns
(operation, agent, model, tool, token counts) and the trace's conversation id come from here: a
few dict lookups over the keys the dialect readers use (their constants, imported, so the two
cannot drift). ``HOT_KEYS`` is every key read; the protobuf decoder reads exactly those.

The operation column holds a GenAI operation name (``chat``, ``invoke_agent``, ``execute_tool``…):
``gen_ai.operation.name`` when the span has one, else the name for the kind its own dialect gives
it (OpenInference's span kind, OpenLLMetry's span kind or request type, the AI SDK's operation),
so the trace list's token sums (over ``chat`` spans) and the search index's choice of spans work
for every dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple

from lumos_core.telemetry import semconv as sc
from lumos_studio.semantics import genai, openinference, openllmetry, vercel_ai
from lumos_studio.semantics.view import OperationKind

__all__ = [
    "HOT_GROUPS",
    "HOT_KEYS",
    "HotFields",
    "column_kind",
    "conversation_id",
    "has_message_attributes",
    "hot_fields",
    "is_workflow_step",
    "operation",
]


def _keys(table: Any, field: str) -> tuple[str, ...]:
    """The keys a reader's ``(view field, key or keys)`` table gives for ``field``."""
    for name, keys in table:
        if name == field:
            return (keys,) if isinstance(keys, str) else tuple(keys)
    raise KeyError(field)


# In order of preference: the current GenAI names (and their older spellings), then each dialect.
MODEL_KEYS: Final = (
    sc.RESPONSE_MODEL, sc.REQUEST_MODEL, openinference.MODEL_NAME, vercel_ai.RESPONSE_MODEL,
    vercel_ai.MODEL_ID,
)
INPUT_TOKEN_KEYS: Final = (
    *_keys(genai.USAGE_KEYS, "input_tokens"),
    *_keys(openinference.TOKEN_COUNTS, "input_tokens"),
    *_keys(vercel_ai.USAGE, "input_tokens"),
)
OUTPUT_TOKEN_KEYS: Final = (
    *_keys(genai.USAGE_KEYS, "output_tokens"),
    *_keys(openinference.TOKEN_COUNTS, "output_tokens"),
    *_keys(vercel_ai.USAGE, "output_tokens"),
)
AGENT_KEYS: Final = (sc.AGENT_NAME, openinference.AGENT_NAME)
TOOL_KEYS: Final = (sc.TOOL_NAME, openinference.TOOL_NAME, vercel_ai.TOOL_CALL_NAME)
CONVERSATION_KEYS: Final = (sc.CONVERSATION_ID, openinference.SESSION_ID, openllmetry.SESSION_ID)
_KIND_KEYS: Final = (
    openinference.SPAN_KIND, openllmetry.SPAN_KIND, openllmetry.REQUEST_TYPE,
    vercel_ai.OPERATION_ID,
)
#: Each column's keys in order of preference: a reader that stops at a column's first key with a
#: value (not None or "") gives ``hot_fields`` all it reads (the protobuf decoder does so).
HOT_GROUPS: Final = (
    (sc.OPERATION_NAME, *_KIND_KEYS), AGENT_KEYS, MODEL_KEYS, TOOL_KEYS, INPUT_TOKEN_KEYS,
    OUTPUT_TOKEN_KEYS, CONVERSATION_KEYS,
)
HOT_KEYS: Final = frozenset(key for group in HOT_GROUPS for key in group)

#: The GenAI operation name a dialect's kind stands for (the column's vocabulary).
OPERATION_OF_KIND: Final[dict[OperationKind, str]] = {
    OperationKind.LLM: "chat",
    OperationKind.AGENT: "invoke_agent",
    OperationKind.TOOL: "execute_tool",
    OperationKind.WORKFLOW: "invoke_workflow",
    OperationKind.RETRIEVAL: "retrieval",
    OperationKind.EMBEDDING: "embeddings",
    OperationKind.RERANKER: "rerank",
    OperationKind.EVALUATOR: "evaluate",
}
_KIND_TABLES: Final = (
    (openinference.SPAN_KIND, openinference.SPAN_KINDS),
    (openllmetry.SPAN_KIND, openllmetry.SPAN_KINDS),
    (openllmetry.REQUEST_TYPE, openllmetry.REQUEST_TYPES),
)


class HotFields(NamedTuple):
    """A span's column values (None where the span says nothing)."""

    operation: Any = None
    agent: Any = None
    model: Any = None
    tool: Any = None
    input_tokens: Any = None
    output_tokens: Any = None
    conversation_id: Any = None


def _first(get: Callable[[str], Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = get(key)
        if value is not None and value != "":
            return value
    return None


def operation(get: Callable[[str], Any]) -> Any:
    """The operation column's value: ``gen_ai.operation.name``, or the one the dialect's kind
    stands for."""
    operation = get(sc.OPERATION_NAME)
    if operation is not None:
        return operation
    for key, table in _KIND_TABLES:
        value = get(key)
        if type(value) is str:
            kind = table.get(value)
            if kind is not None:
                return OPERATION_OF_KIND.get(kind)
    value = get(vercel_ai.OPERATION_ID)
    if type(value) is str:
        kind = vercel_ai.operation_kind(value)
        if kind is not None:
            return OPERATION_OF_KIND.get(kind)
    return None


_VALUE_GROUPS: Final = (
    AGENT_KEYS, MODEL_KEYS, TOOL_KEYS, INPUT_TOKEN_KEYS, OUTPUT_TOKEN_KEYS, CONVERSATION_KEYS,
)
_new_tuple = tuple.__new__


def hot_fields(get: Callable[[str], Any]) -> HotFields:
    """The column values of a span whose attributes' ``get`` is given (a dict's, or the
    protobuf decoder's map of hot values); values are as the span has them, not converted.

    Per column, the first of its keys with a value (not None or ""); written out rather than
    calling ``_first`` per column: this runs for every span ingested.
    """
    values = [operation(get)]
    append = values.append
    for group in _VALUE_GROUPS:
        for key in group:
            value = get(key)
            if value is not None and value != "":
                append(value)
                break
        else:
            append(None)
    return _new_tuple(HotFields, values)


def conversation_id(get: Callable[[str], Any]) -> Any:
    """Just the conversation id (what the trace index reads of every span)."""
    return _first(get, CONVERSATION_KEYS)


_MESSAGE_KEYS: Final = (sc.INPUT_MESSAGES, sc.OUTPUT_MESSAGES)


def has_message_attributes(attributes: Mapping[str, Any]) -> bool:
    """Whether a span carries GenAI messages as attributes, whatever its operation (the search
    index reads such a span's text even when its operation is no chat)."""
    return any(key in attributes for key in _MESSAGE_KEYS)


def column_kind(operation: Any, tool: Any, model: Any, tokens: Any) -> OperationKind:
    """What a span does, from its store columns alone (the operation, tool and model columns and
    a token count), so a trace's tree is drawn without decoding its spans.

    ``read_span`` says the same of the spans the columns describe: the operation column holds
    every dialect's kind as a GenAI operation name, and a span with none is a tool call when it
    names a tool, a model call when it names a model and counts tokens (``reader._finish``).
    What only a full read sees (an OpenInference guardrail, a Logfire streaming log) is unknown.
    """
    if type(operation) is str:
        kind = genai.operation_kind(operation)
        if kind is not None:
            return kind
    if tool is not None and tool != "":
        return OperationKind.TOOL
    if model is not None and model != "" and tokens is not None:
        return OperationKind.LLM
    return OperationKind.UNKNOWN


_STEP_PREFIXES: Final = (f"{sc.SPAN_WORKFLOW_STEP} ", f"{sc.SPAN_WORKFLOW_ITERATION} ")


def is_workflow_step(scope_name: Any, name: Any) -> bool:
    """A workflow's step or loop pass as ``lumos_core`` names it (``step fetch``), told from
    the scope and name columns: such a span has no operation of its own."""
    return scope_name == sc.INSTRUMENTATION_NAME and type(name) is str and (
        name.startswith(_STEP_PREFIXES))

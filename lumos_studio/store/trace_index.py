"""What the writer keeps for the trace list: searchable message text, conversation ids, pins.

Only the writer thread calls the functions that write (``write_facts``, ``pin``, ``delete``); they
run inside its transactions. Message text is taken from finished spans only, in plain words (not
the JSON around them), and only what is new in each span: a chat span's input repeats the whole
conversation, so only the messages after its last assistant message are indexed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from lumos_core.telemetry import semconv as sc
from lumos_studio.records import SpanRecord

# Operations whose spans carry messages; for spans kept as OTLP bytes only these are decoded.
_MESSAGE_OPERATIONS = frozenset(
    {"chat", "invoke_agent", "text_completion", "generate_content", "invoke_workflow"}
)
_PART_FIELDS = ("content", "name", "arguments", "response", "result")

_INDEX_NEW_TEXTS = (
    "INSERT INTO trace_texts_fts(rowid, text) SELECT id, text FROM trace_texts "
    "WHERE id > (SELECT coalesce(max(id), 0) FROM trace_texts_fts_docsize)"
)


@dataclass(slots=True)
class TraceFacts:
    """What one writer batch adds to the trace index."""

    texts: list[tuple[str, str, str]] = field(default_factory=list)  # trace, span, text
    conversations: dict[str, str] = field(default_factory=dict)  # trace → conversation id


def _parse(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return [{"parts": [{"content": value}]}]
    return value if isinstance(value, list) else []


def _message_words(messages: Iterable[Any]) -> Iterable[str]:
    for message in messages:
        if not isinstance(message, dict):
            continue
        for part in message.get("parts") or ():
            if not isinstance(part, dict):
                continue
            for key in _PART_FIELDS:
                value = part.get(key)
                if isinstance(value, str):
                    yield value
                elif value is not None and key in ("arguments", "response", "result"):
                    yield orjson.dumps(value).decode()


def message_text(attributes: Mapping[str, Any]) -> str:
    """The words of a span's new input messages and its output messages, space separated."""
    inputs = _parse(attributes.get(sc.INPUT_MESSAGES))
    last_answer = max(
        (i for i, m in enumerate(inputs) if isinstance(m, dict) and m.get("role") == "assistant"),
        default=-1,
    )
    outputs = _parse(attributes.get(sc.OUTPUT_MESSAGES))
    return " ".join((*_message_words(inputs[last_answer + 1 :]), *_message_words(outputs)))


def collect(records: Iterable[SpanRecord]) -> TraceFacts:
    """The facts of a batch's span records (pure Python, before the transaction)."""
    facts = TraceFacts()
    for record in records:
        attributes = record.attributes
        if not isinstance(attributes, dict):  # OTLP bytes: decode only spans that matter
            operation = attributes.get(sc.OPERATION_NAME)
            if operation not in _MESSAGE_OPERATIONS and record.parent_span_id is not None:
                continue
        conversation = attributes.get(sc.CONVERSATION_ID)
        if conversation and record.trace_id not in facts.conversations:
            facts.conversations[record.trace_id] = str(conversation)
        if record.end_ns is not None and (
            sc.INPUT_MESSAGES in attributes or sc.OUTPUT_MESSAGES in attributes
        ):
            text = message_text(attributes)
            if text:
                facts.texts.append((record.trace_id, record.span_id, text))
    return facts


def write_facts(connection: sqlite3.Connection, facts: TraceFacts) -> None:
    """Store a batch's facts, in the writer's transaction, after the traces were refreshed.

    A span indexed once is never indexed again (re-imports and late copies change nothing).
    """
    if facts.conversations:
        connection.executemany(
            "UPDATE traces SET conversation_id = ? WHERE trace_id = ? AND conversation_id IS NULL",
            [(conversation, trace) for trace, conversation in facts.conversations.items()],
        )
    if facts.texts:
        connection.executemany(
            "INSERT OR IGNORE INTO trace_texts (trace_id, span_id, text) VALUES (?, ?, ?)",
            facts.texts,
        )
        connection.execute(_INDEX_NEW_TEXTS)


def backfill(connection: sqlite3.Connection, chunk: int = 2_000) -> None:
    """Fill conversation ids and message text for traces written before schema 4."""
    from lumos_studio.store.rows import row_to_record

    connection.row_factory = sqlite3.Row
    try:
        last = 0
        operations = ", ".join(f"'{op}'" for op in sorted(_MESSAGE_OPERATIONS))
        while True:
            rows = connection.execute(
                "SELECT rowid, * FROM spans WHERE rowid > ? AND end_ns IS NOT NULL AND "
                f"(operation IN ({operations}) OR parent_span_id IS NULL) "
                "ORDER BY rowid LIMIT ?",
                (last, chunk),
            ).fetchall()
            if not rows:
                return
            last = rows[-1]["rowid"]
            write_facts(connection, collect(row_to_record(row) for row in rows))
    finally:
        connection.row_factory = None


def pin(connection: sqlite3.Connection, trace_ids: Sequence[str], pinned_ns: int | None) -> None:
    """Pin traces (at ``pinned_ns``) or unpin them (None)."""
    connection.executemany(
        "UPDATE traces SET pinned_ns = ? WHERE trace_id = ?",
        [(pinned_ns, trace_id) for trace_id in trace_ids],
    )


def delete(connection: sqlite3.Connection, trace_ids: Sequence[str]) -> None:
    """Remove traces: their spans, logs, indexed text and summary rows."""
    rows = [(trace_id,) for trace_id in trace_ids]
    for table in ("spans", "logs", "trace_texts", "traces"):
        connection.executemany(f"DELETE FROM {table} WHERE trace_id = ?", rows)

"""What the writer keeps for the trace list: searchable message text, conversation ids, pins.

Only the writer thread calls the functions that write (``index_or_queue``, ``pin``...); they
run inside its transactions. A span the writer converted itself is indexed from its record as
it is stored; a received one is queued and indexed when the writer is idle (``index_pending``).
Message text is taken from finished spans only, as ``semantics`` reads them in any dialect
(``semantics.span_search_text``, with the span's message log records): only what is new in each
span, since a chat span's input repeats the whole conversation.

The text is kept once: the spans hold it, the full-text index (contentless, schema 9) its words.
``trace_texts`` maps a text's id to its span, with a digest of the text and the last log id it
was made with, so the text can be made again to take its words out (``_retire``).
"""

from __future__ import annotations

import functools
import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.records_codec import log_from_row, span_from_row, unpack
from lumos_studio.semantics.hot import conversation_id, has_message_attributes, operation
from lumos_studio.semantics.search import PLAIN_TEXT_KEYS, plain_text_of, span_search_text
from lumos_studio.store.sql_batches import fixed_chunks, insert_rows
from lumos_studio.store.text_ids import text_ids
from lumos_studio.store.write_statements import statement_chunks

# Operations whose spans carry words to find them by: messages, or a tool call's arguments and
# result (a find for ``paris`` in a run's tree marks the ``get_weather(city=Paris)`` call, not
# only the chat that asked for it); for spans kept as OTLP bytes only these are decoded.
_MESSAGE_OPERATIONS = frozenset(
    {"chat", "invoke_agent", "text_completion", "generate_content", "invoke_workflow",
     "execute_tool"}
)
# The same rule in SQL, over ``spans``: a finished span that may hold messages (a root always may,
# as ``encoded_span_may_hold_messages`` says).
_FINISHED_WITH_MESSAGES_SQL = (
    "end_ns IS NOT NULL AND (operation IN ("
    + ", ".join(f"'{op}'" for op in sorted(_MESSAGE_OPERATIONS))
    + ") OR parent_span_id IS NULL)"
)
_INT64_MAX = 2**63 - 1



@dataclass(slots=True)
class TraceFacts:
    """What a batch of spans adds to the trace index.

    The writer gives traces their conversation ids in its trace refresh, and indexes or queues
    ``to_index`` (``index_or_queue``). ``in_memory``: the records of those spans that are at hand
    as records (the writer converted them itself), whose text is made from them at commit.
    """

    to_index: list[tuple[str, str]] = field(default_factory=list)  # finished spans: trace, span
    conversations: dict[str, str] = field(default_factory=dict)  # trace → the first id seen
    in_memory: dict[tuple[str, str], SpanRecord] = field(default_factory=dict)

    def add(self, records: Iterable[SpanRecord], keep: bool = False) -> None:
        """Note the records' facts: cheap reads only, this runs on the ingest path. ``keep``: the
        records are kept for ``index_or_queue`` to make their text from."""
        to_index = self.to_index
        for record in records:
            self.add_conversation(record.trace_id, conversation_id(_hot_get(record.attributes)))
            if record.end_ns is not None and _may_hold_messages(record):
                key = (record.trace_id, record.span_id)
                to_index.append(key)
                if keep:
                    self.in_memory[key] = record

    def add_conversation(self, trace_id: str, conversation: Any) -> None:
        """A trace keeps the first conversation id seen for it."""
        if conversation and trace_id not in self.conversations:
            self.conversations[trace_id] = str(conversation)

    def merge(self, other: TraceFacts) -> None:
        """Add another batch's facts (a span in both is queued twice, and indexed once)."""
        for trace_id, conversation in other.conversations.items():
            self.add_conversation(trace_id, conversation)
        self.to_index.extend(other.to_index)
        self.in_memory.update(other.in_memory)


def _may_hold_messages(record: SpanRecord) -> bool:
    attributes = record.attributes
    if isinstance(attributes, dict) and has_message_attributes(attributes):
        return True
    return encoded_span_may_hold_messages(record.parent_span_id, operation(_hot_get(attributes)))


def _hot_get(attributes: Mapping[str, Any]) -> Callable[[str], Any]:
    """Where to read hot keys: a ``RawAttributes``' decoded hot values (all ``semantics.hot``
    reads of it), so nothing else of an encoded span is decoded on the ingest path."""
    return getattr(attributes, "hot", attributes).get


def encoded_span_may_hold_messages(parent_span_id: str | None, operation: Any) -> bool:
    """For a span still in OTLP bytes (``otlp.proto_span``): judged by the operation, a column,
    not by decoding its attributes; a root span always may. An operation that is not text (a
    list, from a careless producer) is no chat."""
    return parent_span_id is None or (type(operation) is str and operation in _MESSAGE_OPERATIONS)


def queue_for_indexing(connection: sqlite3.Connection, spans: Sequence[tuple[str, str]]) -> None:
    """Queue finished spans' message text for ``index_pending``, in the writer's transaction.

    Message text is not extracted here: ``index_pending`` works through the queue when the
    writer has nothing else to do. Tokenising a chat span's ~2 KB of messages costs more than
    storing the span, so on bulk ingest the search index lags behind and catches up once the
    load stops, instead of halving the ingest rate.
    """
    # One statement a slice (a few past 1,024 rows), not executemany: the writer thread gives
    # up the GIL around every step, and each time it may wait a switch interval to get it back.
    for chunk in statement_chunks(spans):
        connection.execute(_queue_texts(len(chunk)), [value for pair in chunk for value in pair])


def index_or_queue(
    connection: sqlite3.Connection, facts: TraceFacts, log_traces: Iterable[str] = ()
) -> int:
    """Index ``facts.to_index`` in the writer's transaction where the record is in memory; queue
    the rest for ``index_pending``. How many were queued.

    Read back from the store, a span's text cost ~65 µs of the writer's time (under the GIL,
    the agent's too): the row, its protobuf decoded, its logs looked up, the queue's two writes.
    Made from the record the writer has just converted it costs the reading alone (~20 µs). A
    span whose trace has log records (in the store or in this batch: ``log_traces``), or that
    was indexed before, goes the queue's way, which reads its logs and compares digests.
    """
    in_memory = facts.in_memory
    queued = [key for key in facts.to_index if key not in in_memory]
    now = list(in_memory.values())
    if now:
        with_logs = set(log_traces) | _traces_with_logs(connection, {r.trace_id for r in now})
        texts: list[Text] = []
        for record in now:
            key = (record.trace_id, record.span_id)
            if record.trace_id in with_logs:
                queued.append(key)
                continue
            try:
                text = span_search_text(record)
            except Exception:  # the queue's way reads it again, and logs what failed
                queued.append(key)
                continue
            if text:
                texts.append((record.trace_id, record.span_id, text, text_digest(text)))
        queued.extend(_add_texts(connection, texts, _last_log_id(connection)))
    queue_for_indexing(connection, queued)
    return len(queued)


def _traces_with_logs(connection: sqlite3.Connection, trace_ids: set[str]) -> set[str]:
    found: set[str] = set()
    for chunk in statement_chunks(list(trace_ids)):
        found.update(row[0] for row in connection.execute(
            f"SELECT DISTINCT trace_id FROM logs WHERE trace_id IN ({', '.join('?' * len(chunk))})",
            chunk,
        ))
    return found


def set_conversations(connection: sqlite3.Connection, conversations: Mapping[str, str]) -> None:
    """Give traces without one their conversation id (the writer does, after its trace
    refresh: a trace keeps the first id it was given)."""
    for chunk in fixed_chunks(list(conversations.items())):
        connection.execute(_set_conversations(len(chunk)), [v for pair in chunk for v in pair])


@functools.cache
def _queue_texts(count: int) -> str:
    return "INSERT INTO text_queue (trace_id, span_id) VALUES " + ", ".join(["(?, ?)"] * count)


@functools.cache
def _set_conversations(count: int) -> str:
    return (
        "UPDATE traces SET conversation_id = batch.column2 FROM (VALUES "
        + ", ".join(["(?, ?)"] * count)
        + ") AS batch WHERE traces.trace_id = batch.column1 AND traces.conversation_id IS NULL"
    )


# A span's text to index: (trace id, span id, text, ``text_digest`` of it).
Text = tuple[str, str, str, int]


@dataclass(frozen=True, slots=True)
class Retired:
    """A span's indexed text to take out before its new one goes in: its id and digest, and the
    text made again from its span (None when that no longer gives the same words: its id goes,
    its words stay, see ``_retire``)."""

    text_id: int
    digest: int
    text: str | None


@dataclass(frozen=True, slots=True)
class TextStep:
    """One index step as read from the store (``plan_step``), for the writer to write
    (``apply_step``): the queue entries it covers, the texts to add, the ones they replace."""

    entries: tuple[tuple[int, str, str], ...]  # (queue id, trace id, span id)
    texts: tuple[Text, ...]
    retired: tuple[Retired, ...]
    logs_upto: int  # the last log id the texts were made with


def index_pending(
    connection: sqlite3.Connection, limit: int = 200, touched: set[str] | None = None
) -> int:
    """Index the message text of up to ``limit`` queued spans (in the caller's transaction).

    Returns how many queue entries were done; fewer than ``limit`` means the queue is empty.
    The traces that got text are added to ``touched`` (their search results changed).
    A span's text is replaced only when it changed (its message log records came after it);
    re-imports and late copies change nothing.

    The newest entries go first: after a burst the run a person just made is what they search
    for, found ~0.3 s after its acknowledgement instead of after the whole backlog (100,000
    spans: ~7 s). A span queued twice is indexed with what it has at the newer entry; the older
    entry then finds its text as it is.
    """
    step = plan_step(connection, limit)
    return 0 if step is None else apply_step(connection, step, touched)


def plan_step(
    connection: sqlite3.Connection, limit: int = 200, skip: Sequence[int] = ()
) -> TextStep | None:
    """Read the next ``limit`` queued spans (newest first, but for the entries in ``skip``)
    and make their texts; None when nothing is queued. Only reads: ``text_planner`` runs it on
    a connection of its own while the writer writes the step before."""
    # One statement tells, for each queued span, its row, the text it is indexed with now (if
    # any) and whether it has log records to read; asked span by span, those two looks cost
    # ~8 µs a span of the writer's idle time.
    # Only the columns the text needs: the span's whole row (~25 columns) is read again for the
    # few spans the full reader must read (``_full_row``).
    rows = connection.execute(
        "SELECT q.id, q.trace_id, q.span_id, x.id, x.digest, x.logs_upto, "
        "EXISTS (SELECT 1 FROM logs l WHERE l.trace_id = q.trace_id "
        "AND l.span_id IN (q.span_id, coalesce(s.parent_span_id, q.span_id))), "
        "s.trace_id, s.span_id, s.span, s.scope_name FROM text_queue q "
        "LEFT JOIN spans s ON s.trace_id = q.trace_id AND s.span_id = q.span_id "
        "LEFT JOIN trace_texts x ON x.trace_id = q.trace_id AND x.span_id = q.span_id "
        f"{_SKIPPING if skip else ''}ORDER BY q.id DESC LIMIT ?",
        (orjson.dumps(list(skip)), limit) if skip else (limit,),
    ).fetchall()
    if not rows:
        return None
    logs_upto = _last_log_id(connection)
    texts: list[Text] = []
    retired: list[Retired] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        old_id, old_digest, old_logs_upto, has_logs, trace_id, span_id, stored, scope = row[3:]
        key = (trace_id, span_id)
        if span_id is None or key in seen:  # deleted since it was queued; or queued twice
            continue
        seen.add(key)
        record: SpanRecord | None = None  # the span decoded whole, only when needed
        text = None if has_logs else stored_span_text(stored, scope)
        if text is None:
            record = span_from_row(_full_row(connection, key))
            text = span_text(connection, record) if has_logs else span_search_text(record)
        if not text:
            continue
        digest = text_digest(text)
        if old_id is not None:
            if old_digest == digest:
                continue  # indexed as it is
            # An older text of it (before its message log records came) goes, the new one in.
            if record is None:
                record = span_from_row(_full_row(connection, key))
            retired.append(_old_text(connection, old_id, old_digest, old_logs_upto, record))
        texts.append((trace_id, span_id, text, digest))
    return TextStep(tuple(row[:3] for row in rows), tuple(texts), tuple(retired), logs_upto)


# Entries another step holds (``plan_step``'s ``skip``), as one JSON array: one statement.
_SKIPPING = "WHERE q.id NOT IN (SELECT value FROM json_each(?)) "


def apply_step(
    connection: sqlite3.Connection, step: TextStep, touched: set[str] | None = None
) -> int:
    """Write a planned step in the writer's transaction; how many queue entries it covered.

    Planned on another connection, a step may meet a store that moved on: a replaced text
    already gone (its trace deleted) is left alone, a span indexed meanwhile (the same span in
    an earlier step) is queued again, to be compared with its text as it then is.
    """
    for retired in step.retired:
        _retire(connection, retired)
    left = _add_texts(connection, list(step.texts), step.logs_upto)
    queue_for_indexing(connection, left)
    if touched is not None:
        touched.update(text[0] for text in step.texts)
    connection.execute(_DELETE_ENTRIES, (orjson.dumps(step.entries),))
    return len(step.entries)


# The step's entries, each only if it still names its span: an id freed meanwhile (its trace
# deleted) may have been given to a new entry, which must wait for a step of its own.
_DELETE_ENTRIES = (
    "DELETE FROM text_queue WHERE id IN (SELECT q.id FROM json_each(?) e JOIN text_queue q "
    "ON q.id = json_extract(e.value, '$[0]') AND q.trace_id = json_extract(e.value, '$[1]') "
    "AND q.span_id = json_extract(e.value, '$[2]'))"
)


def stored_span_text(stored: bytes | None, scope_name: str | None) -> str | None:
    """A stored span's text by ``semantics.plain_text_of``, from the few attributes it reads
    (one slim parse of the stored bytes); None if the span needs the full reader. Decoding the
    span whole (``span_from_row``) cost more than making its text."""
    from lumos_studio.otlp.proto_span import text_fields  # protobuf: not at every import

    if not stored:
        return None
    try:
        keys, values, events = text_fields(unpack(stored), PLAIN_TEXT_KEYS)
        return plain_text_of(keys, values, events, scope_name or "")
    except Exception:  # the full reader reads it, and copes
        return None


def _full_row(connection: sqlite3.Connection, key: tuple[str, str]) -> sqlite3.Row:
    cursor = connection.execute("SELECT * FROM spans WHERE trace_id = ? AND span_id = ?", key)
    cursor.row_factory = sqlite3.Row
    row: sqlite3.Row = cursor.fetchone()
    return row


def text_digest(text: str) -> int:
    """What ``trace_texts`` keeps of a text (not the text: it is in the spans, and only its
    words in the full-text index): 64 bits of its hash, to tell whether it changed."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _last_log_id(connection: sqlite3.Connection) -> int:
    last: int = connection.execute("SELECT coalesce(max(id), 0) FROM logs").fetchone()[0]
    return last


def _old_text(
    connection: sqlite3.Connection, text_id: int, digest: int, logs_upto: int, record: SpanRecord
) -> Retired:
    """An indexed text to take out, made again from its span and the log records it was made
    with (``logs_upto``): the index is contentless, so taking a text out needs its words."""
    text = span_text(connection, record, logs_upto)
    return Retired(text_id, digest, text if text_digest(text) == digest else None)


def _retire(connection: sqlite3.Connection, retired: Retired) -> None:
    """Take a text out of ``trace_texts`` and, with its words, of the full-text index; one
    ``trace_texts`` no longer holds as it was (gone meanwhile) is left alone.

    Should its span no longer make the same text (a later studio reads a dialect differently),
    its words stay in the index under an id that no text has any more: a search may then find
    the trace by them, never another trace.
    """
    gone = connection.execute(
        "DELETE FROM trace_texts WHERE id = ? AND digest = ?", (retired.text_id, retired.digest)
    ).rowcount
    if gone and retired.text is not None:
        connection.execute(
            "INSERT INTO trace_texts_fts(trace_texts_fts, rowid, text) VALUES ('delete', ?, ?)",
            (retired.text_id, retired.text),
        )


def span_text(
    connection: sqlite3.Connection, record: SpanRecord, logs_upto: int | None = None
) -> str:
    """The words a search finds ``record`` by (``semantics.search``), with its message log
    records up to the log id ``logs_upto`` when given."""
    return span_search_text(record, _span_logs(connection, record, logs_upto))


def _span_logs(
    connection: sqlite3.Connection, record: SpanRecord, logs_upto: int | None
) -> list[LogRecord]:
    """The log records tied to the span or its parent (``semantics.logs_for_span`` picks)."""
    ids = (record.span_id, record.parent_span_id or record.span_id)
    cursor = connection.execute(
        "SELECT * FROM logs WHERE trace_id = ? AND span_id IN (?, ?) AND id <= ?",
        (record.trace_id, *ids, _INT64_MAX if logs_upto is None else logs_upto),
    )
    cursor.row_factory = sqlite3.Row
    return [log_from_row(row) for row in cursor.fetchall()]


def any_pending(connection: sqlite3.Connection) -> bool:
    """Whether any span waits to be indexed (without counting them all)."""
    return bool(connection.execute("SELECT EXISTS (SELECT 1 FROM text_queue)").fetchone()[0])


def pending_count(connection: sqlite3.Connection) -> int:
    """Spans whose message text is not searchable yet."""
    count: int = connection.execute("SELECT count(*) FROM text_queue").fetchone()[0]
    return count


def _add_texts(
    connection: sqlite3.Connection, texts: list[Text], logs_upto: int
) -> list[tuple[str, str]]:
    """Index ``texts``, made with the log records up to ``logs_upto``; a span already indexed
    is left alone, and returned (trace, span) with the others so.

    A few statements for the batch (``sql_batches.insert_rows``): two per text cost ~10 µs of
    the writer's time a span.
    """
    if not texts:
        return []
    rows = [
        (text_id, trace_id, span_id, digest, logs_upto, text)
        for (trace_id, span_id, text, digest), text_id in zip(
            texts, text_ids(connection, [text[0] for text in texts]), strict=True)
        if text_id is not None
    ]
    inserted = insert_rows(
        connection, "INSERT OR IGNORE INTO trace_texts (id, trace_id, span_id, digest, logs_upto)",
        [row[:5] for row in rows],
    )
    left: list[tuple[str, str]] = []
    if inserted != len(rows):  # some span was indexed before
        added = _added(connection, rows)
        left = [(row[1], row[2]) for row in rows if (row[0], row[1], row[2]) not in added]
        rows = [row for row in rows if (row[0], row[1], row[2]) in added]
    insert_rows(  # a span indexed before kept its own id and words
        connection, "INSERT INTO trace_texts_fts(rowid, text)", [(row[0], row[5]) for row in rows]
    )
    return left


def _added(connection: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    """Which of ``rows`` (id, trace, span, ...) ``trace_texts`` holds as they are."""
    found: set[tuple[Any, ...]] = set()
    for chunk in statement_chunks([row[0] for row in rows]):
        found.update(connection.execute(
            f"SELECT id, trace_id, span_id FROM trace_texts WHERE id IN "
            f"({', '.join('?' * len(chunk))})", chunk,
        ))
    return found


def backfill(connection: sqlite3.Connection, chunk: int = 2_000) -> None:
    """Fill conversation ids for traces written before schema 4 (their message text is queued
    for indexing by schema 6); the spans are in the form before schema 8 (``records_v7``)."""
    from lumos_studio.records_v7 import span_from_v7_row

    connection.row_factory = sqlite3.Row
    try:
        last = 0
        while True:
            rows = connection.execute(
                f"SELECT rowid, * FROM spans WHERE rowid > ? AND {_FINISHED_WITH_MESSAGES_SQL} "
                "ORDER BY rowid LIMIT ?",
                (last, chunk),
            ).fetchall()
            if not rows:
                return
            last = rows[-1]["rowid"]
            facts = TraceFacts()
            facts.add([span_from_v7_row(row)[0] for row in rows])
            set_conversations(connection, facts.conversations)
    finally:
        connection.row_factory = None


def queue_all_for_indexing(connection: sqlite3.Connection, operation: str | None = None
                           ) -> None:
    """Queue every finished span that may hold messages (a migration re-indexes them all), or
    only the finished spans of ``operation`` (one the index reads since a migration)."""
    assert operation is None or operation in _MESSAGE_OPERATIONS
    which = (_FINISHED_WITH_MESSAGES_SQL if operation is None
             else f"end_ns IS NOT NULL AND operation = '{operation}'")
    connection.execute(
        "INSERT INTO text_queue (trace_id, span_id) SELECT trace_id, span_id FROM spans "
        f"WHERE {which} ORDER BY start_ns"
    )


def pin(connection: sqlite3.Connection, trace_ids: Sequence[str], pinned_ns: int | None) -> None:
    """Pin traces (at ``pinned_ns``) or unpin them (None)."""
    connection.executemany(
        "UPDATE traces SET pinned_ns = ? WHERE trace_id = ?",
        [(pinned_ns, trace_id) for trace_id in trace_ids],
    )


def delete(connection: sqlite3.Connection, trace_ids: Sequence[str]) -> None:
    """Remove traces: their indexed text, spans, logs and summary rows."""
    for trace_id in trace_ids:
        cursor = connection.execute(
            "SELECT x.id AS text_id, x.digest, x.logs_upto, s.* FROM trace_texts x "
            "JOIN spans s USING (trace_id, span_id) WHERE x.trace_id = ?", (trace_id,)
        )
        cursor.row_factory = sqlite3.Row
        for row in cursor.fetchall():
            _retire(connection, _old_text(connection, row["text_id"], row["digest"],
                                          row["logs_upto"], span_from_row(row)))
    rows = [(trace_id,) for trace_id in trace_ids]
    for table in ("spans", "logs", "trace_texts", "text_queue", "traces"):
        connection.executemany(f"DELETE FROM {table} WHERE trace_id = ?", rows)

"""The migrations of the SQLite store, one a schema version: each takes a store of the version
before it to its own, and ``schema.ensure_schema`` runs those a store lacks, in order. Read
together they are the current schema's DDL: the bulk of the schema, kept apart from the check
every reader and writer makes of a store file (``store.schema``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from lumos_studio.store.log_index import _INDEX_NEW_LOGS, _fts_columns
from lumos_studio.store.log_ranks import CREATE_LATE_TABLE, mark_late_logs
from lumos_studio.store.log_trigrams import CREATE_TRIGRAM_TABLE

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["MIGRATIONS"]


def _create_v1(db: sqlite_utils.Database) -> None:
    db.table("spans").create(
        {
            "trace_id": str,
            "span_id": str,
            "parent_span_id": str,
            "name": str,
            "kind": str,
            "start_ns": int,
            "end_ns": int,
            "status_code": str,
            "status_message": str,
            "operation": str,
            "agent_name": str,
            "model": str,
            "tool_name": str,
            "input_tokens": int,
            "output_tokens": int,
            "service_name": str,
            "scope_name": str,
            "scope_version": str,
            "attributes": str,
            "events": str,
            "resource": str,
        },
        pk=("trace_id", "span_id"),
        not_null={"trace_id", "span_id", "name", "start_ns"},
    )
    db.table("traces").create(
        {
            "trace_id": str,
            "root_name": str,
            "agent_name": str,
            "service_name": str,
            "start_ns": int,
            "end_ns": int,
            "span_count": int,
            "error_count": int,
            "running_count": int,
            "input_tokens": int,
            "output_tokens": int,
        },
        pk="trace_id",
    )
    db.table("traces").create_index(["start_ns"], index_name="traces_by_start")


def _create_v2(db: sqlite_utils.Database) -> None:
    """Log records, tied to spans; ``fingerprint`` makes re-imports idempotent."""
    db.table("logs").create(
        {
            "id": int,
            "fingerprint": int,
            "time_ns": int,
            "observed_time_ns": int,
            "severity_number": int,
            "severity_text": str,
            "body": str,
            "trace_id": str,
            "span_id": str,
            "event_name": str,
            "scope_name": str,
            "service_name": str,
            "attributes": str,
            "resource": str,
        },
        pk="id",
        not_null={"fingerprint", "time_ns"},
    )
    db.table("logs").create_index(["fingerprint"], unique=True, index_name="logs_by_fingerprint")
    db.table("logs").create_index(["time_ns"], index_name="logs_by_time")
    db.table("logs").create_index(["trace_id", "span_id"], index_name="logs_by_span")


def _create_v3(db: sqlite_utils.Database) -> None:
    """Log filtering: an FTS5 index over bodies and attributes, and indexes for the filters.

    The FTS table is contentless (it holds only the index; rows stay in ``logs``). Deletes and
    updates, rare, go through triggers; inserts through ``index_new_logs``. The time, logger and
    service indexes end with (time_ns, id, severity_number): the display order plus the level, so
    counting and paging a level filter walks one index without reading rows.
    """
    statements = (
        "CREATE VIRTUAL TABLE logs_fts USING fts5(body, extra, content='', tokenize='unicode61')",
        # The indexed words: a typed prefix becomes the few words it stands for (log_queries).
        "CREATE VIRTUAL TABLE logs_fts_vocab USING fts5vocab(logs_fts, 'row')",
        f"""CREATE TRIGGER logs_fts_delete AFTER DELETE ON logs BEGIN
            INSERT INTO logs_fts(logs_fts, rowid, body, extra)
                VALUES ('delete', old.id, {_fts_columns('old')});
        END""",
        f"""CREATE TRIGGER logs_fts_update AFTER UPDATE OF body, attributes, event_name ON logs
        WHEN old.id <= (SELECT coalesce(max(id), 0) FROM logs_fts_docsize) BEGIN
            INSERT INTO logs_fts(logs_fts, rowid, body, extra)
                VALUES ('delete', old.id, {_fts_columns('old')});
            INSERT INTO logs_fts(rowid, body, extra) VALUES (new.id, {_fts_columns('new')});
        END""",
        "DROP INDEX logs_by_time",
        "CREATE INDEX logs_by_time ON logs(time_ns, id, severity_number)",
        "CREATE INDEX logs_by_level ON logs(severity_number)",
        "CREATE INDEX logs_by_scope ON logs(scope_name, time_ns, id, severity_number)",
        "CREATE INDEX logs_by_service ON logs(service_name, time_ns, id, severity_number)",
        _INDEX_NEW_LOGS,
    )
    for statement in statements:
        db.conn.execute(statement)


_TRACE_TEXTS_FTS_V4 = (
    "CREATE VIRTUAL TABLE trace_texts_fts USING fts5(text, content='trace_texts', "
    "content_rowid='id', tokenize='unicode61')"
)
_TRACE_TEXTS_FTS = (  # schema 6: with an index of 3-letter prefixes
    "CREATE VIRTUAL TABLE trace_texts_fts USING fts5(text, content='trace_texts', "
    "content_rowid='id', tokenize='unicode61', prefix='3')"
)
_TRACE_TEXTS_DELETE = """CREATE TRIGGER trace_texts_delete AFTER DELETE ON trace_texts BEGIN
    INSERT INTO trace_texts_fts(trace_texts_fts, rowid, text) VALUES ('delete', old.id, old.text);
END"""


def _create_v4(db: sqlite_utils.Database) -> None:
    """The trace list as an index of runs: conversation, agents/models/tools, pins, message text.

    The aggregates make every qualifier a scan of ``traces`` (~50k rows) instead of ``spans``
    (~1M). ``trace_texts`` holds the plain text of each finished span's messages, indexed by an
    external-content FTS5 table filled by ``trace_index`` (the logs' pattern); deletes go through
    a trigger. Existing traces get their conversation ids here (their text: schema 6).
    """
    from lumos_studio.store import trace_index  # imports this module's neighbours only

    statements = (
        "ALTER TABLE traces ADD COLUMN conversation_id TEXT",
        "ALTER TABLE traces ADD COLUMN agents TEXT",
        "ALTER TABLE traces ADD COLUMN models TEXT",
        "ALTER TABLE traces ADD COLUMN tools TEXT",
        "ALTER TABLE traces ADD COLUMN pinned_ns INTEGER",
        "CREATE INDEX traces_by_conversation ON traces(conversation_id, start_ns)",
        "CREATE INDEX traces_by_pin ON traces(pinned_ns) WHERE pinned_ns IS NOT NULL",
        """CREATE TABLE trace_texts (
            id INTEGER PRIMARY KEY,
            trace_id TEXT NOT NULL,
            span_id TEXT NOT NULL,
            text TEXT NOT NULL,
            UNIQUE (trace_id, span_id))""",
        _TRACE_TEXTS_FTS_V4,
        _TRACE_TEXTS_DELETE,
        """UPDATE traces SET
            agents = (SELECT group_concat(DISTINCT agent_name) FROM spans s
                      WHERE s.trace_id = traces.trace_id),
            models = (SELECT group_concat(DISTINCT model) FROM spans s
                      WHERE s.trace_id = traces.trace_id),
            tools = (SELECT group_concat(DISTINCT tool_name) FROM spans s
                     WHERE s.trace_id = traces.trace_id)""",
    )
    for statement in statements:
        db.conn.execute(statement)
    trace_index.backfill(db.conn)


def _create_v5(db: sqlite_utils.Database) -> None:
    """Message text is indexed when the writer is idle: finished spans wait in ``text_queue``."""
    db.conn.execute(
        "CREATE TABLE text_queue (id INTEGER PRIMARY KEY, trace_id TEXT NOT NULL, "
        "span_id TEXT NOT NULL)"
    )


def _create_v6(db: sqlite_utils.Database) -> None:
    """Text ids tell their trace (``text_ids.TEXT_ID_BITS``), and 3-letter prefixes have an
    index of their own: a search finds its traces from the full-text index alone.

    The text is indexed again from the spans, in the writer's idle time, as new text is.
    """
    from lumos_studio.store import trace_index

    statements = (
        "ALTER TABLE traces ADD COLUMN text_seq INTEGER",
        "CREATE UNIQUE INDEX traces_by_text_seq ON traces(text_seq)",
        "DROP TRIGGER trace_texts_delete",
        "DROP TABLE trace_texts_fts",
        "DELETE FROM trace_texts",
        "DELETE FROM text_queue",
        _TRACE_TEXTS_FTS,
        _TRACE_TEXTS_DELETE,
    )
    for statement in statements:
        db.conn.execute(statement)
    trace_index.queue_all_for_indexing(db.conn)


def _create_v7(db: sqlite_utils.Database) -> None:
    """``spans.extra``: what OTLP says of a span beyond the other columns (links, trace state,
    dropped counts, scope attributes, schema URLs), JSON text, NULL when there is none; and
    ``spans.flags``, OTLP's span flags (set on nearly every span, so a column of its own).

    A span stored as OTLP bytes keeps its own part of them in those bytes; ``extra`` then holds
    only what its scope and resource said, and ``flags`` is NULL (the form until schema 8).
    """
    db.conn.execute("ALTER TABLE spans ADD COLUMN extra TEXT")
    db.conn.execute("ALTER TABLE spans ADD COLUMN flags INTEGER")


def _create_v8(db: sqlite_utils.Database) -> None:
    """One stored form for every span (``records_codec``): the span as OTLP protobuf in
    ``span``, compressed; ``extra`` keeps only what its scope says. ``attributes``, ``events``
    and ``flags`` go: every span's rows are rewritten (a span that came as protobuf keeps its
    bytes as they came).
    """
    from lumos_studio.records_codec import extra_column, pack, stored_span
    from lumos_studio.records_v7 import span_from_v7_row

    connection = db.conn
    connection.execute("ALTER TABLE spans ADD COLUMN span BLOB")
    last = 0
    while True:
        cursor = connection.execute(
            "SELECT rowid, * FROM spans WHERE rowid > ? ORDER BY rowid LIMIT 2000", (last,)
        )
        cursor.row_factory = sqlite3.Row
        rows = cursor.fetchall()
        if not rows:
            break
        last = rows[-1]["rowid"]
        updates = []
        for row in rows:
            record, otlp = span_from_v7_row(row)
            stored = pack(otlp) if otlp is not None else stored_span(record)
            updates.append((stored, extra_column(record), row["rowid"]))
        connection.executemany("UPDATE spans SET span = ?, extra = ? WHERE rowid = ?", updates)
    for column in ("attributes", "events", "flags"):
        connection.execute(f"ALTER TABLE spans DROP COLUMN {column}")


_TRACE_TEXTS_FTS_CONTENTLESS = (  # schema 9: the words only; the text is in the spans
    "CREATE VIRTUAL TABLE trace_texts_fts USING fts5(text, content='', tokenize='unicode61', "
    "prefix='3')"
)


def _create_v9(db: sqlite_utils.Database) -> None:
    """Message text once: the full-text index becomes contentless (its words, not the text),
    and ``trace_texts`` keeps a digest of each text and the last log id it was made with, so
    ``trace_index`` can make it again to take it out. The words indexed so far move over.
    And ``compaction``: how far idle-time compression of stored spans got.
    """
    from lumos_studio.store.compaction import create_compaction_table
    from lumos_studio.store.trace_index import text_digest

    connection = db.conn
    connection.create_function("text_digest", 1, text_digest, deterministic=True)
    statements = (
        "DROP TRIGGER trace_texts_delete",
        "DROP TABLE trace_texts_fts",
        "ALTER TABLE trace_texts RENAME TO trace_texts_v8",
        """CREATE TABLE trace_texts (
            id INTEGER PRIMARY KEY,
            trace_id TEXT NOT NULL,
            span_id TEXT NOT NULL,
            digest INTEGER NOT NULL,
            logs_upto INTEGER NOT NULL,
            UNIQUE (trace_id, span_id))""",
        _TRACE_TEXTS_FTS_CONTENTLESS,
        "INSERT INTO trace_texts (id, trace_id, span_id, digest, logs_upto) SELECT id, "
        "trace_id, span_id, text_digest(text), (SELECT coalesce(max(id), 0) FROM logs) "
        "FROM trace_texts_v8",
        "INSERT INTO trace_texts_fts (rowid, text) SELECT id, text FROM trace_texts_v8",
        "DROP TABLE trace_texts_v8",
    )
    for statement in statements:
        connection.execute(statement)
    create_compaction_table(connection)  # spans are compressed in idle time (store.compaction)


def _create_v10(db: sqlite_utils.Database) -> None:
    """The trigram index of log messages (``log_trigrams``): a regex reads the logs holding its
    literal text, not every log. Filled for the logs the words' index holds, so both keep one
    watermark; deletes and updates go through triggers, as for the words.

    And two small indexes of spans for the trace list's page: each trace's root (did the run
    fail) and its workflow spans (is it suspended), which it looked for among all of the page's
    spans (~20 ms for 500 runs of 20 spans); and indexes of the names a searched word is looked
    for in (``trace_search``).
    """
    watermark = "(SELECT coalesce(max(id), 0) FROM logs_fts_docsize)"
    statements = (
        "CREATE INDEX spans_roots ON spans(trace_id, status_code) WHERE parent_span_id IS NULL",
        "CREATE INDEX spans_workflows ON spans(trace_id) WHERE operation = 'invoke_workflow'",
        # A searched word is looked for among these columns' few distinct values (trace_search).
        "CREATE INDEX traces_by_agents ON traces(agents)",
        "CREATE INDEX traces_by_root_name ON traces(root_name)",
        "CREATE INDEX traces_by_models ON traces(models)",
        CREATE_TRIGRAM_TABLE,
        # Before the delete: the words' trigger, after it, may lower the watermark.
        f"""CREATE TRIGGER logs_trigram_delete BEFORE DELETE ON logs
        WHEN old.id <= {watermark} BEGIN
            INSERT INTO logs_trigram(logs_trigram, rowid, message)
                VALUES ('delete', old.id, coalesce(old.body, ''));
        END""",
        f"""CREATE TRIGGER logs_trigram_update AFTER UPDATE OF body ON logs
        WHEN old.id <= {watermark} BEGIN
            INSERT INTO logs_trigram(logs_trigram, rowid, message)
                VALUES ('delete', old.id, coalesce(old.body, ''));
            INSERT INTO logs_trigram(rowid, message) VALUES (new.id, coalesce(new.body, ''));
        END""",
    )
    for statement in statements:
        db.conn.execute(statement)
    db.conn.execute(
        "INSERT INTO logs_trigram(rowid, message) SELECT id, coalesce(body, '') FROM logs "
        f"WHERE id <= {watermark}"
    )


def _create_v11(db: sqlite_utils.Database) -> None:
    """Stored spans are compressed with a dictionary trained on the store's own spans
    (``span_compression``): they are small and alike, and one at a time zstd found nothing to
    share (1,307 → 745 B a span of bench ingest's load, 14 → 8 µs to compress)."""
    from lumos_studio.store.compaction import create_dictionary_table

    create_dictionary_table(db.conn)


def _create_v12(db: sqlite_utils.Database) -> None:
    """The logs that came late, marked (``log_ranks``): a position among a text filter's
    matches is then counted from the index's rowids and these few, not by reading the whole
    time index (~30 ns a log: ~300 ms at 10M logs). Marked for the indexed logs now; the
    writer marks new ones as it indexes them."""
    for statement in CREATE_LATE_TABLE:
        db.conn.execute(statement)
    mark_late_logs(db.conn, 0)
    db.conn.execute(
        "DELETE FROM logs_late WHERE id > (SELECT coalesce(max(id), 0) FROM logs_fts_docsize)")


def _create_v13(db: sqlite_utils.Database) -> None:
    """The trace list's other orders by index, each on the expression of its sort
    (``trace_page.SORTS``, written the same): sorting every run for a page of them took 35–50 ms at
    3M spans, 2 ms so."""
    from lumos_studio.store.trace_page import SORT_INDEXES

    for statement in SORT_INDEXES:
        db.conn.execute(statement)


_TRACE_TEXTS_FTS_WORDS = (  # schema 14: no index of 3-letter prefixes
    "CREATE VIRTUAL TABLE trace_texts_fts USING fts5(text, content='', tokenize='unicode61')"
)


def _create_v14(db: sqlite_utils.Database) -> None:
    """The full-text index of message text loses its index of 3-letter prefixes: it made
    indexing a text cost ~1.5x (bench ingest: ~7 ms more CPU per 1k spans, ~250 B more a span
    on disk, text searchable ~0.5 s later after a burst), and served only the one query of a
    word of three letters, which now matches whole words (``trace_filter.PREFIX_MIN_CHARS``).

    A contentless index cannot be rebuilt from itself: the text is indexed again from the
    spans, in the writer's idle time, as new text is (as schema 6 did).
    """
    from lumos_studio.store import trace_index

    for statement in (
        "DROP TABLE trace_texts_fts",
        "DELETE FROM trace_texts",
        "DELETE FROM text_queue",
        _TRACE_TEXTS_FTS_WORDS,
    ):
        db.conn.execute(statement)
    trace_index.queue_all_for_indexing(db.conn)


def _create_v15(db: sqlite_utils.Database) -> None:
    """The traces whose summary row waits for a refresh (``trace_refresh``): a huge live trace
    is refreshed at a bounded rate, not by every batch, and a crash must not leave its row
    behind its spans for good."""
    from lumos_studio.store.trace_refresh import create_due_table

    create_due_table(db.conn)


def _create_v16(db: sqlite_utils.Database) -> None:
    """Tool calls' arguments and results are indexed as message text is (a find by a word of
    them marks the tool's span, and the trace search finds the run by them): the finished tool
    spans already stored are queued, indexed in the writer's idle time."""
    from lumos_studio.store import trace_index

    trace_index.queue_all_for_indexing(db.conn, "execute_tool")


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _create_v1,
    _create_v2,
    _create_v3,
    _create_v4,
    _create_v5,
    _create_v6,
    _create_v7,
    _create_v8,
    _create_v9,
    _create_v10,
    _create_v11,
    _create_v12,
    _create_v13,
    _create_v14,
    _create_v15,
    _create_v16,
)

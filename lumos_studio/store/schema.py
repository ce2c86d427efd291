"""The SQLite schema, created and migrated with sqlite-utils, versioned by ``PRAGMA user_version``.

Hot columns (ids, times, status, the GenAI fields panes filter on) are real columns; everything else
about a span is in its stored form (``records_codec``: the span as compressed OTLP protobuf),
written once and decoded only when a span is opened.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lumos_studio.records_codec import LOG_COLUMNS, SPAN_COLUMNS
from lumos_studio.store.connection import StoreError, StoreUnusable, reader_uri
from lumos_studio.store.log_ranks import CREATE_LATE_TABLE, mark_late_logs
from lumos_studio.store.log_trigrams import CREATE_TRIGRAM_TABLE, INDEX_TRIGRAMS_ABOVE

if TYPE_CHECKING:
    import sqlite_utils

SCHEMA_VERSION = 13

__all__ = ["LOG_COLUMNS", "SCHEMA_VERSION", "SPAN_COLUMNS", "check_store", "ensure_schema"]



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


# What the full-text index sees of a row: the JSON text with its escapes (\n, \t, \r) turned into
# spaces, so "...\nTraceback" indexes "traceback" and not "ntraceback". Indexing and deleting must
# feed FTS5 the very same text, hence one expression for both.
def _fts_columns(row: str) -> str:
    def unescape(column: str) -> str:
        return (
            f"replace(replace(replace(coalesce({row}.{column}, ''), '\\n', ' '), "
            f"'\\t', ' '), '\\r', ' ')"
        )

    return f"{unescape('body')}, coalesce({row}.event_name, '') || ' ' || {unescape('attributes')}"


_INDEX_NEW_LOGS = (
    f"INSERT INTO logs_fts(rowid, body, extra) SELECT id, {_fts_columns('logs')} FROM logs "
    "WHERE id > (SELECT coalesce(max(id), 0) FROM logs_fts_docsize)"
)


_INDEX_LOGS_ABOVE = (
    f"INSERT INTO logs_fts(rowid, body, extra) SELECT id, {_fts_columns('logs')} FROM logs "
    "WHERE id > ?"
)


def index_new_logs(connection: sqlite3.Connection) -> None:
    """Add the logs written since the last call to the full-text index and, from schema 10, to
    the trigram index (``log_trigrams``): two statements over the same ids; from schema 12,
    mark those of them that came late (``log_ranks``).

    The writer calls this in the transaction that inserted them. Why not a trigger: FTS5 flushes
    its pending terms at every statement's savepoint, so a per-row trigger writes one tiny segment
    per log: measured 2x slower log writes (see ``bench/logs_filter.py``), and its shadow-table
    writes would inflate ``total_changes``. Rows not indexed yet are still found by
    ``log_queries`` (by a slower scan), so a writer that never calls this stays correct.
    """
    upto = indexed_up_to(connection)
    mark_late_logs(connection, upto)
    connection.execute(INDEX_TRIGRAMS_ABOVE, (upto,))
    connection.execute(_INDEX_LOGS_ABOVE, (upto,))


def indexed_up_to(connection: sqlite3.Connection) -> int:
    """The highest log id in the full-text (and trigram) index; rows above it are not indexed
    yet."""
    last: int = connection.execute(
        "SELECT coalesce(max(id), 0) FROM logs_fts_docsize").fetchone()[0]
    return last


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
    """Text ids tell their trace (``trace_index.TEXT_ID_BITS``), and 3-letter prefixes have an
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
    (``queries.SORTS``, written the same): sorting every run for a page of them took 35–50 ms at
    3M spans, 2 ms so."""
    from lumos_studio.store.queries import SORT_INDEXES

    for statement in SORT_INDEXES:
        db.conn.execute(statement)


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
)


def check_store(path: Path, *, current: bool = False) -> int:
    """The schema version of the store at ``path`` (0: a new, empty file), read without
    changing the file; ``StoreError`` saying why if it is not a store this studio can use.

    Refused before anything writes to it: a file that is not SQLite, a damaged or truncated
    one, another application's database (migrating it would add our tables to it), a store of a
    newer studio; with ``current`` (readers, which cannot migrate) an older store too.
    """
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise StoreError(f"cannot open the store {path}: {exc.strerror or exc}") from exc
    if not size:
        return 0
    try:
        connection = sqlite3.connect(reader_uri(path), uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the store {path}: {exc}") from exc
    try:
        version: int = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    except sqlite3.OperationalError as exc:  # locked, unreadable: not the file's fault
        raise StoreError(f"cannot read the store {path}: {exc}") from exc
    except sqlite3.Error as exc:  # not a database, or a damaged one
        raise StoreUnusable(f"{path} is not a Lumos Studio store ({exc})") from exc
    finally:
        connection.close()
    if not _has_wal_frames(path) and pages * page_size > size:
        raise StoreUnusable(
            f"{path} is not a Lumos Studio store (the file is truncated: {size:,} of "
            f"{pages * page_size:,} bytes)"
        )
    _check_version(path, version, tables, current)
    return version


def _has_wal_frames(path: Path) -> bool:
    """Committed pages may wait in the WAL, past the database file's end."""
    try:
        return os.stat(f"{path}-wal").st_size > 0
    except OSError:
        return False


def _check_version(path: Path | str, version: int, tables: set[str], current: bool) -> None:
    if version > SCHEMA_VERSION:
        raise StoreUnusable(
            f"{path} was written by a newer Lumos Studio (schema {version} > "
            f"{SCHEMA_VERSION}); upgrade lumos-studio to open it"
        )
    if (version == 0 and tables) or (version > 0 and "spans" not in tables):
        listed = ", ".join(sorted(tables)[:5]) or "none"
        raise StoreUnusable(
            f"{path} is not a Lumos Studio store (an SQLite database of another "
            f"application; its tables: {listed})"
        )
    if current and version < SCHEMA_VERSION:
        if version == 0:
            raise StoreError(f"{path} holds no runs yet; record a run first")
        raise StoreUnusable(
            f"{path} was written by an older Lumos Studio (schema {version} < "
            f"{SCHEMA_VERSION}); open it once with lumos-studio (the studio or import) to "
            "upgrade it"
        )


def ensure_schema(connection: sqlite3.Connection) -> None:
    """Bring the database up to ``SCHEMA_VERSION``; refuse one written by a newer studio or
    another application (``check_store`` tells so before the file is opened for writing)."""
    connection.execute("PRAGMA recursive_triggers = on")  # as sqlite_utils.Database sets it
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    _check_version("this store", version, tables, current=False)
    if version >= len(MIGRATIONS):
        return  # a current store: sqlite_utils (~50 ms to import) is left unloaded
    import sqlite_utils

    db = sqlite_utils.Database(connection)
    for target, migrate in enumerate(MIGRATIONS[version:], start=version + 1):
        with connection:
            if not connection.in_transaction:
                connection.execute("BEGIN IMMEDIATE")  # a migration and its version land together
            migrate(db)
            connection.execute(f"PRAGMA user_version = {target}")

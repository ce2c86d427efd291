"""The PostgreSQL schema: the SQLite store's tables and columns, PostgreSQL's own indexes.

``lumos_schema`` holds the version (SQLite keeps it in ``PRAGMA user_version``). Every process
that writes (several ``serve`` on several machines) brings the schema up to date when it opens
the database, one at a time under an advisory lock; readers only check it.

What differs from SQLite, and why: message text is a ``tsvector`` per span (``span_texts``,
GIN-indexed) where SQLite has an FTS5 index; both are filled from a queue (``text_queue``) when
a writer is idle, which here any of several writers drains; logs carry a generated
``tsvector`` of their text and a ``pg_trgm`` index of their body, where SQLite has an FTS5
table and a trigram table. Trace ids key the text (``traces.text_seq``
stays NULL: it is SQLite's compact id for its FTS rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lumos_studio.store.connection import StoreError, StoreUnusable
from lumos_studio.store.postgres.connect import PostgresUrl

SCHEMA_VERSION = 4
_LOCK_KEY = 0x6C756D6F73  # "lumos": migrations one process at a time

# What a log's text search sees: its body, event name and attributes (JSON text) with JSON's
# escapes turned into spaces, as SQLite's FTS5 columns do (``store.schema._fts_columns``).
_LOG_TEXT = (
    "regexp_replace(replace(replace(replace(coalesce(body, '') || ' ' || coalesce(event_name, '') "
    "|| ' ' || coalesce(attributes, ''), '\\n', ' '), '\\t', ' '), '\\r', ' '), '[\\W_]+', ' ', "
    "'g')"
)

_V1: tuple[str, ...] = (
    """CREATE TABLE spans (
        trace_id text NOT NULL, span_id text NOT NULL, parent_span_id text, name text NOT NULL,
        kind text, start_ns bigint NOT NULL, end_ns bigint, status_code text, status_message text,
        operation text, agent_name text, model text, tool_name text, input_tokens bigint,
        output_tokens bigint, service_name text, scope_name text, scope_version text,
        resource text, extra text, span bytea, PRIMARY KEY (trace_id, span_id))""",
    """CREATE TABLE traces (
        trace_id text PRIMARY KEY, root_name text, agent_name text, service_name text,
        start_ns bigint, end_ns bigint, span_count bigint, error_count bigint,
        running_count bigint, input_tokens bigint, output_tokens bigint, conversation_id text,
        agents text, models text, tools text, pinned_ns bigint, text_seq bigint)""",
    # A span's OTLP bytes (~2.5 KB) compressed by lz4, not the default pglz: storing them took
    # 3x as long with pglz. A server built without lz4 keeps its default.
    """DO $$ BEGIN ALTER TABLE spans ALTER COLUMN span SET COMPRESSION lz4;
        EXCEPTION WHEN OTHERS THEN NULL; END $$""",
    # The roots, for the status rule (``trace_filter.ROOT_FAILED_SQL``): without it PostgreSQL
    # answers the rule's EXISTS by scanning every span (1.6 s at 1M spans).
    "CREATE INDEX spans_roots ON spans (trace_id, status_code) WHERE parent_span_id IS NULL",
    # The workflows of a page's runs (``StoreReader._mark_suspended``), as SQLite's index.
    "CREATE INDEX spans_workflows ON spans (trace_id) WHERE operation = 'invoke_workflow'",
    "CREATE INDEX traces_by_start ON traces (start_ns)",
    "CREATE INDEX traces_by_conversation ON traces (conversation_id, start_ns)",
    "CREATE INDEX traces_by_pin ON traces (pinned_ns) WHERE pinned_ns IS NOT NULL",
    "CREATE INDEX traces_running ON traces (trace_id) WHERE running_count > 0",
    """CREATE TABLE span_texts (
        trace_id text NOT NULL, span_id text NOT NULL, words tsvector NOT NULL,
        PRIMARY KEY (trace_id, span_id))""",
    "CREATE INDEX span_texts_words ON span_texts USING gin (words)",
    """CREATE TABLE text_queue (
        trace_id text NOT NULL, span_id text NOT NULL, PRIMARY KEY (trace_id, span_id))""",
    """CREATE TABLE logs (
        id bigserial PRIMARY KEY, fingerprint bigint NOT NULL UNIQUE, time_ns bigint NOT NULL,
        observed_time_ns bigint, severity_number integer, severity_text text, body text,
        trace_id text, span_id text, event_name text, scope_name text, service_name text,
        attributes text, resource text)""",
    "CREATE INDEX logs_by_time ON logs (time_ns, id)",
    "CREATE INDEX logs_by_span ON logs (trace_id, span_id)",
    "CREATE INDEX logs_by_event ON logs (event_name text_pattern_ops, time_ns)",
)

_V2: tuple[str, ...] = (  # log search: words and substrings
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"ALTER TABLE logs ADD COLUMN words tsvector GENERATED ALWAYS AS "
    f"(to_tsvector('simple', {_LOG_TEXT})) STORED",
    "CREATE INDEX logs_words ON logs USING gin (words)",
    "CREATE INDEX logs_body_trigrams ON logs USING gin (body gin_trgm_ops)",
)

_V3: tuple[str, ...] = (  # a huge live trace's summary refreshed at a bounded rate
    "CREATE TABLE trace_refresh_due (trace_id text PRIMARY KEY)",
)

_V4: tuple[str, ...] = (  # tool calls' arguments and results indexed too (SQLite's schema 16)
    "INSERT INTO text_queue (trace_id, span_id) SELECT trace_id, span_id FROM spans "
    "WHERE operation = 'execute_tool' AND end_ns IS NOT NULL ON CONFLICT DO NOTHING",
)

MIGRATIONS: dict[int, Sequence[str]] = {1: _V1, 2: _V2, 3: _V3, 4: _V4}


def schema_version(connection: Any) -> int | None:
    """The store's version; None when the database holds no Lumos store."""
    found = connection.execute("SELECT to_regclass('lumos_schema') IS NOT NULL").fetchone()[0]
    if not found:
        return None
    row = connection.execute("SELECT max(version) FROM lumos_schema").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def ensure_schema(connection: Any, target: PostgresUrl, upto: int = SCHEMA_VERSION) -> None:
    """Create or migrate the store to ``upto`` (tests stop early to test a migration); raises
    ``StoreUnusable`` for another application's tables or a newer store."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        version = schema_version(connection)
        if version is None:
            if connection.execute("SELECT to_regclass('spans') IS NOT NULL").fetchone()[0]:
                raise StoreUnusable(f"{target} has a spans table that is not a Lumos Studio "
                                    "store's; pass another database with --db")
            connection.execute("CREATE TABLE lumos_schema (version integer NOT NULL)")
            version = 0
        _refuse_newer(version, target)
        for step in range(version + 1, upto + 1):
            for statement in MIGRATIONS[step]:
                connection.execute(statement)
            connection.execute("DELETE FROM lumos_schema")
            connection.execute("INSERT INTO lumos_schema (version) VALUES (%s)", (step,))


def check_schema(connection: Any, target: PostgresUrl) -> None:
    """What a reader asks: a current store, or ``StoreError`` saying what to run."""
    version = schema_version(connection)
    if version is None:
        raise StoreError(f"no Lumos Studio store in {target} yet; create it with "
                         f"lumos-studio --db {target} serve (or record a run into it)")
    _refuse_newer(version, target)
    if version < SCHEMA_VERSION:
        raise StoreError(f"{target} is a store of schema {version}; open it once with "
                         f"lumos-studio --db {target} serve to bring it to {SCHEMA_VERSION}")


def _refuse_newer(version: int, target: PostgresUrl) -> None:
    if version > SCHEMA_VERSION:
        raise StoreUnusable(f"{target} is a store of schema {version}, newer than this studio's "
                            f"{SCHEMA_VERSION}; upgrade lumos-studio to open it")

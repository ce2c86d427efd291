"""The writer into PostgreSQL: the SQLite writer's thread, lanes, queue and batching, with each
transaction written to PostgreSQL instead (``_try_write``).

Several writers (``serve`` processes on several machines) may write one database at once:
  * span and log inserts are idempotent (``ON CONFLICT``: a finished span is final, a log's
    fingerprint is its identity), so a batch sent to two of them is stored once;
  * a transaction first takes an advisory lock on each of its traces, in one order, so two
    writers with spans of the same trace refresh its summary one after the other, each
    counting the other's committed spans (without it, each counted only its own); a huge
    trace's refresh is held as in SQLite (``store.trace_refresh``), and a transaction that
    refreshes held traces locks them with the batch's, in the same order;
  * log ids come from a sequence, never from a counter a process keeps.
Message text is queued (``text_queue``) and made searchable when a writer is idle, as in SQLite:
tokenising a chat span's messages costs more than storing it. Any writer takes queued spans
(``FOR UPDATE SKIP LOCKED``), so the work is shared and none is done twice. Nothing is
compressed or checkpointed: PostgreSQL compresses large values itself.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any, cast

from lumos_studio.records import LogRecord
from lumos_studio.records_codec import LOG_COLUMNS, SPAN_COLUMNS, log_from_row, span_from_row
from lumos_studio.semantics.search import span_search_text
from lumos_studio.store.checkpoint import Checkpointer
from lumos_studio.store.pending import PendingRows
from lumos_studio.store.postgres.connect import PostgresUrl, connect
from lumos_studio.store.postgres.others import OwnRows
from lumos_studio.store.postgres.schema import ensure_schema
from lumos_studio.store.postgres.search import searchable
from lumos_studio.store.trace_refresh import DUE_TABLE, RefreshDone, RefreshPlan
from lumos_studio.store.write_statements import TRACE_REFRESH_HEAD, TRACE_REFRESH_UPDATE
from lumos_studio.store.writer import StoreWriter
from lumos_studio.store.writer_idle import TEXTS_PER_IDLE_STEP
from lumos_studio.store.writer_transactions import StoreChange

__all__ = ["PostgresWriter"]

log = logging.getLogger(__name__)

# A column's PostgreSQL array type, for inserting a batch as one array a column (``unnest``): a
# statement of 21 parameters whatever the batch, parsed once, where a multi-row VALUES of
# 21 × 500 placeholders cost psycopg ~0.3 ms a span to parse (it caches only short queries).
_SPAN_TYPES = {"start_ns": "bigint", "end_ns": "bigint", "input_tokens": "bigint",
               "output_tokens": "bigint", "span": "bytea"}
_LOG_TYPES = {"fingerprint": "bigint", "time_ns": "bigint", "observed_time_ns": "bigint",
              "severity_number": "integer"}


def _unnest(columns: tuple[str, ...], types: dict[str, str]) -> str:
    arrays = ", ".join(f"%b::{types.get(c, 'text')}[]" for c in columns)  # binary: no escaping
    return f"SELECT * FROM unnest({arrays})"


_UPSERT_SPANS = (
    f"INSERT INTO spans ({', '.join(SPAN_COLUMNS)}) {_unnest(SPAN_COLUMNS, _SPAN_TYPES)} "
    "ON CONFLICT (trace_id, span_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in SPAN_COLUMNS[2:])
    + " WHERE spans.end_ns IS NULL"  # a finished span is final, as in SQLite
)
_INSERT_LOGS = (f"INSERT INTO logs ({', '.join(LOG_COLUMNS)}) {_unnest(LOG_COLUMNS, _LOG_TYPES)} "
                "ON CONFLICT (fingerprint) DO NOTHING")
_QUEUE_TEXTS = ("INSERT INTO text_queue (trace_id, span_id) SELECT * FROM "
                "unnest(%s::text[], %s::text[]) ON CONFLICT DO NOTHING")
# Up to ``limit`` queued spans, taken (deleted) by this transaction: another writer indexing at
# the same time skips the rows this one holds, so every span is indexed by one of them.
_TAKE_QUEUED = (
    "DELETE FROM text_queue WHERE (trace_id, span_id) IN (SELECT trace_id, span_id FROM "
    "text_queue LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING trace_id, span_id"
)


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as one list a column."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


# SQLite's trace refresh (``write_statements._REFRESH_TRACE``) in PostgreSQL's words: its sums.
_REFRESH_TRACES = TRACE_REFRESH_HEAD + """
    count(*) FILTER (WHERE s.status_code = 'ERROR'), count(*) FILTER (WHERE s.end_ns IS NULL),
    sum(s.input_tokens) FILTER (WHERE s.operation = 'chat'),
    sum(s.output_tokens) FILTER (WHERE s.operation = 'chat'),
    string_agg(DISTINCT s.agent_name, ','), string_agg(DISTINCT s.model, ','),
    string_agg(DISTINCT s.tool_name, ',')
FROM spans s WHERE s.trace_id = ANY(%s) GROUP BY s.trace_id
""" + TRACE_REFRESH_UPDATE + " RETURNING trace_id, span_count"

_LOCK_TRACES = ("SELECT pg_advisory_xact_lock(hashtextextended(id, 0)) "
                "FROM unnest(%s::text[]) WITH ORDINALITY AS ids(id, n) ORDER BY n")

_SET_CONVERSATIONS = (
    "UPDATE traces SET conversation_id = c.conversation FROM unnest(%s::text[], %s::text[]) "
    "AS c(trace_id, conversation) WHERE traces.trace_id = c.trace_id "
    "AND traces.conversation_id IS NULL"
)


class _PostgresRefresh:
    """``trace_refresh.RefreshStatements`` in PostgreSQL's words, on a cursor of the caller's
    transaction; the trace rows it writes are counted in ``own``."""

    def __init__(self, cursor: Any, own: OwnRows) -> None:
        self._cursor = cursor
        self._own = own

    def refresh(self, trace_ids: Sequence[str]) -> list[tuple[str, int]]:
        self._cursor.execute(_REFRESH_TRACES, (list(trace_ids),))
        rows = [(row[0], int(row[1])) for row in self._cursor.fetchall()]
        self._own.wrote(len(rows))  # one a trace, inserted or updated
        return rows

    def hold(self, trace_ids: Sequence[str]) -> None:
        self._cursor.execute(f"INSERT INTO {DUE_TABLE} (trace_id) SELECT unnest(%s::text[]) "
                             "ON CONFLICT DO NOTHING", (list(trace_ids),))

    def release(self, trace_ids: Sequence[str]) -> None:
        self._cursor.execute(f"DELETE FROM {DUE_TABLE} WHERE trace_id = ANY(%s)",
                             (list(trace_ids),))

    def held(self) -> list[str]:
        self._cursor.execute(f"SELECT trace_id FROM {DUE_TABLE}")
        return [row[0] for row in self._cursor.fetchall()]


class _NoCheckpoints:
    """The SQLite writer's checkpointer, which PostgreSQL does not need."""

    def restart_if_due(self, connection: object) -> None:
        pass

    def poke(self) -> None:
        pass

    def close(self, timeout: float = 10.0) -> None:
        pass


class _Closer:
    """Stands where the SQLite writer keeps its connection: closing it closes ours."""

    def __init__(self, writer: PostgresWriter) -> None:
        self._writer = writer

    def close(self) -> None:
        if self._writer._pg is not None:
            self._writer._pg.close()


class PostgresWriter(StoreWriter):
    """``StoreWriter`` into a PostgreSQL database; see the module docstring."""

    def __init__(self, target: PostgresUrl, **options: Any) -> None:
        self.target = target
        self._pg: Any = None
        self._own = OwnRows()  # what this writer wrote, told apart from others' commits
        super().__init__(target.local_path, **options)

    def _open_storage(self, path: object) -> None:
        self._pg = connect(self.target)
        try:
            ensure_schema(self._pg, self.target)
            with self._pg.transaction():  # not left open: later ones would nest in it
                self._refresh.held_at_open(_PostgresRefresh(self._pg.cursor(), self._own))
        except BaseException:
            self._pg.close()
            raise
        self._connection = cast(sqlite3.Connection, _Closer(self))
        self._checkpointer = cast(Checkpointer, _NoCheckpoints())

    def _index_texts(self) -> None:
        """One small transaction: make the text of up to ``TEXTS_PER_IDLE_STEP`` queued spans
        searchable (``StoreWriter._wait_for_entry`` calls it when the writer is idle, and
        ``flush`` until none is left), whichever writer queued them."""
        try:
            with self._live().transaction():
                cursor = self._pg.cursor()
                cursor.execute(_TAKE_QUEUED, (TEXTS_PER_IDLE_STEP,))
                keys = [(row[0], row[1]) for row in cursor.fetchall()]
                touched = _index_texts(cursor, keys, self._own)
        except Exception:
            log.exception("could not index message text; search will miss some runs")
            self._texts_pending = False
            return
        self._texts_pending = len(keys) == TEXTS_PER_IDLE_STEP
        if touched:  # a search over these traces may now find them
            self._tell(StoreChange(frozenset(touched)))

    def _compact(self) -> None:
        self._compaction_pending = False  # PostgreSQL compresses large values itself (TOAST)

    def _others_mark(self) -> int | None:
        """The rows other processes wrote (``postgres.others``), asked on the writer's own
        connection between its transactions; a server gone away is connected to again."""
        try:
            return self._own.others(self._live())
        except Exception:  # the server went away: the next write or look connects again
            return None

    def pin_traces(self, trace_ids: Sequence[str], pinned: bool, timeout: float = 10.0) -> bool:
        pinned_ns = time.time_ns() if pinned else None
        return self._command(lambda _: self._run_sql(
            "UPDATE traces SET pinned_ns = %s WHERE trace_id = ANY(%s)",
            (pinned_ns, list(trace_ids))), trace_ids, timeout)

    def delete_traces(self, trace_ids: Sequence[str], timeout: float = 30.0) -> bool:
        def delete(_: object) -> None:
            for table in ("span_texts", "spans", "logs", "traces"):
                self._run_sql(f"DELETE FROM {table} WHERE trace_id = ANY(%s)", (list(trace_ids),))
        return self._command(delete, trace_ids, timeout)

    def _run_sql(self, sql: str, params: Sequence[Any]) -> None:
        """A command's statement, on a table the studio shows (``others.SHOWN``)."""
        self._own.wrote(self._pg.execute(sql, params).rowcount)

    def _run_command(self, command: Any) -> bool:
        try:
            with self._live().transaction():
                command.run(None)
        except Exception:
            log.exception("a store command failed")
            return False
        self._tell(StoreChange(command.trace_ids))
        return True

    def takes_writes(self, timeout: float = 10.0) -> bool:
        """A transaction opened and closed: the server answers (PostgreSQL refuses a write it
        may not take when it is made, with its reason)."""
        return self._command(lambda _: None, (), timeout)

    def _live(self) -> Any:
        """The connection, made again if the server dropped it (a restart, a failover)."""
        if self._pg is None or self._pg.closed or self._pg.broken:
            self._pg = connect(self.target)
        return self._pg

    def _try_write(self, rows: PendingRows) -> Exception | None:
        import psycopg

        spans, logs, facts = rows.spans, rows.logs, rows.facts
        trace_ids = sorted({key[0] for key in spans})
        plan = self._refresh.plan(trace_ids)
        locked = sorted({*trace_ids, *plan.refreshed})  # held ones due too: one lock order
        try:
            connection = self._live()
            with connection.transaction():
                cursor = connection.cursor()
                if locked:
                    cursor.execute(_LOCK_TRACES, (locked,))
                changed = 0
                if spans:
                    cursor.execute(_UPSERT_SPANS, _columns(list(spans.values()), len(SPAN_COLUMNS)))
                    changed = max(cursor.rowcount, 0)
                    self._own.wrote(changed)
                refreshed = self._refresh.run(_PostgresRefresh(cursor, self._own), plan)
                if facts.conversations:
                    cursor.execute(_SET_CONVERSATIONS, (list(facts.conversations),
                                                        list(facts.conversations.values())))
                    self._own.wrote(cursor.rowcount)
                logs_added = 0
                if logs:
                    ordered = sorted(logs, key=lambda row: row[0])  # one lock order for all
                    cursor.execute(_INSERT_LOGS, _columns(ordered, len(LOG_COLUMNS)))
                    logs_added = max(cursor.rowcount, 0)
                    self._own.wrote(logs_added)
                if facts.to_index:  # made searchable when a writer is idle (``_index_texts``)
                    keys = sorted(set(facts.to_index))
                    cursor.execute(_QUEUE_TEXTS, ([k[0] for k in keys], [k[1] for k in keys]))
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            return ValueError(f"{type(exc).__name__}: {exc}")  # a value: isolated, not fatal
        except Exception as exc:
            return exc
        self.storage_error = None
        self._refresh.settle(refreshed)
        if facts.to_index:
            self._texts_pending = True
        self.written += changed
        self.logs_written += logs_added
        self._tell(StoreChange(frozenset(trace_ids) | refreshed.refreshed, logs_added,
                               frozenset(rows.log_traces)))
        return None

    _held_refresh_errors: tuple[type[Exception], ...] = (Exception,)  # a lost server too

    def _write_held(self, plan: RefreshPlan) -> RefreshDone:
        """In a PostgreSQL transaction that locks the held traces first."""
        with self._live().transaction():
            cursor = self._pg.cursor()
            cursor.execute(_LOCK_TRACES, (plan.refreshed,))
            return self._refresh.run(_PostgresRefresh(cursor, self._own), plan)


def _index_texts(cursor: Any, keys: Iterable[tuple[str, str]], own: OwnRows) -> set[str]:
    """Make the searchable text of finished spans (``semantics.span_search_text``, with the
    message log records of the span or its parent) from what is stored now, and keep it
    (counted in ``own``); the traces that got text."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    cursor.execute(
        "SELECT s.* FROM spans s JOIN unnest(%s::text[], %s::text[]) AS k(trace_id, span_id) "
        "USING (trace_id, span_id)", ([k[0] for k in wanted], [k[1] for k in wanted]))
    names = [column.name for column in cursor.description]
    records = [span_from_row(cast(Any, dict(zip(names, row, strict=True))))
               for row in cursor.fetchall()]
    records = [record for record in records if record.end_ns is not None]
    if not records:
        return set()
    logs_of = _span_logs(cursor, {record.trace_id for record in records})
    texts: list[tuple[str, str, str]] = []
    for record in records:
        related = (logs_of.get((record.trace_id, record.span_id), [])
                   + (logs_of.get((record.trace_id, record.parent_span_id), [])
                      if record.parent_span_id else []))
        text = searchable(span_search_text(record, related))
        if text:
            texts.append((record.trace_id, record.span_id, text))
    if texts:
        cursor.execute(
            "INSERT INTO span_texts (trace_id, span_id, words) SELECT t, s, "
            "to_tsvector('simple', w) FROM unnest(%s::text[], %s::text[], %s::text[]) "
            "AS x(t, s, w) ON CONFLICT (trace_id, span_id) DO UPDATE SET words = excluded.words",
            ([t[0] for t in texts], [t[1] for t in texts], [t[2] for t in texts]))
        own.wrote(cursor.rowcount)
    return {t[0] for t in texts}


def _span_logs(cursor: Any, trace_ids: set[str]) -> dict[tuple[str, str | None], list[LogRecord]]:
    """The log records of ``trace_ids``, by (trace, span)."""
    cursor.execute("SELECT * FROM logs WHERE trace_id = ANY(%s) ORDER BY time_ns, id",
                   (sorted(trace_ids),))
    names = [column.name for column in cursor.description]
    found: dict[tuple[str, str | None], list[LogRecord]] = {}
    for row in cursor.fetchall():
        record = log_from_row(cast(Any, dict(zip(names, row, strict=True))))
        found.setdefault((cast(str, record.trace_id), record.span_id), []).append(record)
    return found



"""The reader of a PostgreSQL store: ``StoreReader``'s queries on PostgreSQL.

What both engines read alike runs as ``store.queries`` wrote it (``rows.QmarkConnection``);
overridden here is what SQLite alone says: the trace list's search (FTS5 and temporary tables
there, ``span_texts``' tsvector here), ``CROSS JOIN … ON``, and the ``'\\uffff'`` prefix bounds
(which depend on a collation: ``starts_with`` here).
"""

from __future__ import annotations

from typing import Any

from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.records_codec import log_from_row, span_from_row
from lumos_studio.store.postgres.connect import PostgresUrl
from lumos_studio.store.postgres.rows import ConnectionPerThread
from lumos_studio.store.postgres.schema import check_schema
from lumos_studio.store.postgres.trace_filter import SORTS, filter_sql
from lumos_studio.store.queries import StoreReader, TracePage, TraceQuery, TraceSummary

__all__ = ["PostgresReader"]


class PostgresReader(StoreReader):
    """Read-only queries over a PostgreSQL store; safe from any thread (a connection each)."""

    def __init__(self, target: PostgresUrl) -> None:
        self.target = target
        self.path = target.local_path
        self._connections = ConnectionPerThread(target)
        check_schema(self._connections.get().raw, target)

    @property
    def _db(self) -> Any:
        return self._connections.get()

    def close(self) -> None:
        self._connections.close()

    def running_spans(self) -> list[tuple[SpanRecord, int]]:
        rows = self._db.execute(
            "SELECT s.*, t.end_ns AS trace_end_ns FROM traces t JOIN spans s "
            "ON s.trace_id = t.trace_id WHERE t.running_count > 0 AND s.end_ns IS NULL"
        ).fetchall()
        return [(span_from_row(row), row["trace_end_ns"] or 0) for row in rows]

    def roots_named(self, prefix: str, limit: int = 200) -> list[SpanRecord]:
        rows = self._db.execute(
            "SELECT s.* FROM traces t JOIN spans s ON s.trace_id = t.trace_id "
            "AND s.parent_span_id IS NULL AND s.name = t.root_name "
            "WHERE starts_with(t.root_name, ?) ORDER BY t.start_ns DESC LIMIT ?",
            (prefix, limit),
        ).fetchall()
        return [span_from_row(row) for row in rows]

    def events(self, name_prefix: str, until_ns: int | None = None) -> list[LogRecord]:
        rows = self._db.execute(
            "SELECT * FROM logs WHERE starts_with(event_name, ?) AND time_ns <= ? "
            "ORDER BY time_ns, id",
            (name_prefix, until_ns if until_ns is not None else 2**63 - 1),
        ).fetchall()
        return [log_from_row(row) for row in rows]

    def count_matches(self, query: TraceQuery) -> int:
        """How many traces match ``query`` (its pages here always come counted)."""
        where, params = filter_sql(query.filter)
        count: int = self._db.execute(
            f"SELECT count(*) FROM traces t WHERE {where}", params).fetchone()[0]
        return count

    def find_traces(self, query: TraceQuery) -> TracePage:
        """The trace list: ``StoreReader.find_traces``' page, from PostgreSQL's indexes."""
        db = self._db
        where, params = filter_sql(query.filter)
        order = SORTS[query.sort]
        pinned = [TraceSummary(**dict(row)) for row in db.execute(
            f"SELECT t.* FROM traces t WHERE t.pinned_ns IS NOT NULL AND {where} "
            f"ORDER BY {order} LIMIT ?", (*params, query.limit))]
        rest = f"t.pinned_ns IS NULL AND {where}"
        room = query.limit - len(pinned)
        sizes: dict[str | None, int] = {}
        if query.grouped:
            others = self._grouped_page(rest, params, order, room, sizes)
        else:
            others = [TraceSummary(**dict(row)) for row in db.execute(
                f"SELECT t.* FROM traces t WHERE {rest} ORDER BY {order} LIMIT ?",
                (*params, room))]
        if len(pinned) + len(others) < query.limit:
            total = len(pinned) + len(others)
        else:
            total = db.execute(f"SELECT count(*) FROM traces t WHERE {where}",
                               params).fetchone()[0]
        unindexed = (db.execute("SELECT count(*) FROM text_queue").fetchone()[0]
                     if query.filter.words else 0)
        summaries = self._mark_suspended(pinned + others)
        return TracePage(query, summaries, total, sizes, len(pinned), unindexed)

    def _grouped_page(self, where: str, params: list[object], order: str, room: int,
                      sizes: dict[str | None, int]) -> list[TraceSummary]:
        """Conversations by their newest matching run (as ``StoreReader._grouped`` orders
        them), taken until their runs fill ``room``; each keeps ``order`` inside."""
        groups = self._db.execute(
            f"WITH newest AS (SELECT DISTINCT ON (t.conversation_id) t.conversation_id, "
            f"t.start_ns, t.trace_id, count(*) OVER (PARTITION BY t.conversation_id) AS size "
            f"FROM traces t WHERE {where} "
            f"ORDER BY t.conversation_id, t.start_ns DESC, t.trace_id DESC) "
            f"SELECT conversation_id, size FROM newest ORDER BY start_ns DESC, trace_id DESC",
            params).fetchall()
        chosen: dict[str | None, int] = {}
        taken = 0
        for conversation, size in groups:
            if taken >= room:
                break
            chosen[conversation] = len(chosen)
            sizes[conversation] = size
            taken += size
        if not chosen:
            return []
        named = [c for c in chosen if c is not None]
        rows = [TraceSummary(**dict(row)) for row in self._db.execute(
            f"SELECT t.* FROM traces t WHERE {where} AND (t.conversation_id = ANY(?) "
            f"OR (? AND t.conversation_id IS NULL)) ORDER BY {order}",
            (*params, named, None in chosen))]
        rows.sort(key=lambda t: chosen[t.conversation_id])
        return rows[:room]

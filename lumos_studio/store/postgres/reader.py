"""The reader of a PostgreSQL store: ``StoreReader``'s queries on PostgreSQL.

What both engines read alike runs as ``store.queries`` wrote it (``rows.QmarkConnection``);
overridden here is what SQLite alone says: the trace list's search (FTS5 and temporary tables
there, ``span_texts``' tsvector here), ``CROSS JOIN … ON``, and the ``'\\uffff'`` prefix bounds
(which depend on a collation: ``starts_with`` here).

The trace list's page does not wait for its total, as on SQLite: words in most runs are walked
in the list's order (``trace_walk``), and a full page whose count reads every run comes
uncounted (``TracePage.counted`` False) for ``count_matches`` to total a moment later.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.records_codec import log_from_row, span_from_row
from lumos_studio.store.postgres import trace_walk
from lumos_studio.store.postgres.connect import PostgresUrl
from lumos_studio.store.postgres.rows import ConnectionPerThread
from lumos_studio.store.postgres.schema import check_schema
from lumos_studio.store.postgres.search import tsquery
from lumos_studio.store.postgres.trace_filter import SORTS, filter_sql, words_on_run_sql
from lumos_studio.store.queries import StoreReader, find_phrases
from lumos_studio.store.trace_page import (
    WALKED_SORTS,
    TracePage,
    TraceQuery,
    TraceSummary,
    failed_by_filter,
)

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

    def spans_with_words(self, trace_id: str, text: str) -> set[str]:
        """``StoreReader.spans_with_words`` on ``span_texts``' tsvector."""
        phrases = find_phrases(text, tsquery)
        if not phrases:
            return set()
        rows = self._db.execute(
            "SELECT span_id FROM span_texts WHERE trace_id = ? "
            "AND words @@ to_tsquery('simple', ?)",
            (trace_id, " & ".join(f"({phrase})" for phrase in phrases))).fetchall()
        return {span_id for (span_id,) in rows}

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
        """How many traces match ``query``: the total a page came without (``counted`` False:
        its words were walked, or its fields' count reads every run)."""
        where, params = filter_sql(query.filter)
        count: int = self._db.execute(
            f"SELECT count(*) FROM traces t WHERE {where}", params).fetchone()[0]
        return count

    def find_traces(self, query: TraceQuery) -> TracePage:
        """The trace list: ``StoreReader.find_traces``' page, from PostgreSQL's indexes, read
        in one snapshot (the pinned runs, the rest, their rows)."""
        raw = self._db.raw
        with raw.transaction():
            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return self._page(query)

    def _page(self, query: TraceQuery) -> TracePage:
        db = self._db
        words = query.filter.words
        if (words and not query.grouped and query.sort in WALKED_SORTS
                and trace_walk.worth_walking(db.raw)):
            walked = self._page_by_walk(query)
            if walked is not None:
                return walked
        where, params = filter_sql(query.filter)
        order = SORTS[query.sort]
        pinned = [TraceSummary(**dict(row)) for row in db.execute(
            f"SELECT t.* FROM traces t WHERE t.pinned_ns IS NOT NULL AND {where} "
            f"ORDER BY {order} LIMIT ?", (*params, query.limit))]
        rest = f"t.pinned_ns IS NULL AND {where}"
        room = query.limit - len(pinned)
        sizes: dict[str | None, int] = {}
        total: int | None = None
        if query.grouped:
            others = self._grouped_page(rest, params, order, room, sizes)
        elif words and room > 0:
            # A word's page semi-joins all its matches: they are counted in the same pass
            # (``count(*) OVER ()``: 40 ms for "paris" at 1M spans, with or without it).
            found = db.execute(
                f"SELECT t.trace_id, count(*) OVER () FROM traces t WHERE {rest} "
                f"ORDER BY {order} LIMIT ?", (*params, room)).fetchall()
            others = self._summaries([row[0] for row in found])
            total = len(pinned) + (found[0][1] if found else 0)
        else:
            others = [TraceSummary(**dict(row)) for row in db.execute(
                f"SELECT t.* FROM traces t WHERE {rest} ORDER BY {order} LIMIT ?",
                (*params, room))]
        counted = True
        if total is None:
            shown = len(pinned) + len(others)
            if shown < query.limit:
                total = shown
            elif not query.grouped and not query.filter.empty:
                # Counting reads every run the fields match: the page first, its total later
                # (``count_matches``), as on SQLite.
                total, counted = shown, False
            else:
                total = self.count_matches(query)
        summaries = self._mark_suspended(failed_by_filter(query.filter, pinned + others))
        return TracePage(query, summaries, total, sizes, len(pinned), self._unindexed(query),
                         counted)

    def _page_by_walk(self, query: TraceQuery) -> TracePage | None:
        """The page of words in most runs: the runs in the list's order, each asked for the
        words alone (``trace_walk``), until the page is full; its total is counted later. None
        when the walk's budget would not fill it (the plain page is read instead)."""
        db = self._db
        words = tuple(dict.fromkeys(query.filter.words))
        where, params = filter_sql(replace(query.filter, words=()))
        matched, matched_params = words_on_run_sql(words)
        pinned = [row[0] for row in db.execute(
            f"SELECT t.trace_id FROM traces t WHERE t.pinned_ns IS NOT NULL AND {where} "
            f"AND {matched} ORDER BY {SORTS[query.sort]} LIMIT ?",
            (*params, *matched_params, query.limit))]
        room = query.limit - len(pinned)
        walked = self._walk(query, words, (), room)
        if walked.ids is None and len(words) > 1:
            # The words that would fill the page alone, walked through the others' runs
            dense = tuple(word for word, share in zip(words, walked.shares, strict=True)
                          if share * trace_walk.WALK_BUDGET >= room)
            if 0 < len(dense) < len(words):
                walked = self._walk(query, dense, tuple(w for w in words if w not in dense),
                                    room)
        if walked.ids is None:
            return None
        summaries = self._mark_suspended(
            failed_by_filter(query.filter, self._summaries(pinned + walked.ids)))
        return TracePage(query, summaries, len(summaries), {}, len(pinned),
                         self._unindexed(query), walked.ran_out)

    def _walk(self, query: TraceQuery, walked: tuple[str, ...], read: tuple[str, ...],
              room: int) -> trace_walk.Walk:
        """The unpinned runs of ``query`` in its order, ``walked`` words asked run by run,
        ``read`` words matched as the plain page matches them (all their matches, once)."""
        where, params = filter_sql(replace(query.filter, words=read))
        flags = [words_on_run_sql((word,)) for word in walked]
        return trace_walk.walk(
            self._db.raw, f"SELECT t.trace_id, {', '.join(sql for sql, _ in flags)} "
            f"FROM traces t WHERE t.pinned_ns IS NULL AND {where} ORDER BY {SORTS[query.sort]}",
            [*(p for _, flag_params in flags for p in flag_params), *params], room, len(flags))

    def _summaries(self, trace_ids: list[str]) -> list[TraceSummary]:
        """The runs ``trace_ids``, in that order."""
        rows = {row["trace_id"]: TraceSummary(**dict(row)) for row in self._db.execute(
            "SELECT * FROM traces WHERE trace_id = ANY(?)", (trace_ids,))} if trace_ids else {}
        return [rows[trace_id] for trace_id in trace_ids]

    def _unindexed(self, query: TraceQuery) -> int:
        """Spans whose text a search cannot find yet (asked only when searching words)."""
        if not query.filter.words:
            return 0
        count: int = self._db.execute("SELECT count(*) FROM text_queue").fetchone()[0]
        return count

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

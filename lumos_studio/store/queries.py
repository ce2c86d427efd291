"""Every read the studio makes, in one module. Safe to call from any thread (one connection each).

Panes call these from Textual workers, never on the UI thread.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from lumos_core.telemetry.semconv import LUMOS_WORKFLOW_STATUS, OP_INVOKE_WORKFLOW
from lumos_studio.metrics import Metrics, session_metrics
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.records_codec import log_from_row, span_from_row
from lumos_studio.store import trace_index, trace_search
from lumos_studio.store.connection import StoreError, open_reader_connection
from lumos_studio.store.schema import check_store
from lumos_studio.store.span_headers import SpanHeaders, read_headers
from lumos_studio.store.trace_filter import (
    ROOT_FAILED_SQL,
    TEXT_MATCH_SQL,
    TraceFilter,
    filter_sql,
    fts_phrase,
    names_sql,
)


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One line of the trace list."""

    trace_id: str
    root_name: str
    agent_name: str | None
    service_name: str | None
    start_ns: int
    end_ns: int | None
    span_count: int
    error_count: int
    running_count: int
    input_tokens: int | None
    output_tokens: int | None
    conversation_id: str | None = None
    agents: str | None = None  # every agent, model and tool of the run, comma separated
    models: str | None = None
    tools: str | None = None
    pinned_ns: int | None = None
    text_seq: int | None = None  # the search index's number for it (``trace_index``)
    suspended: bool = False  # a workflow in it waits for a person (``mark_suspended``)
    root_failed: bool | None = None  # its root span failed (``_mark_failed``; None: not looked)

    @property
    def pinned(self) -> bool:
        return self.pinned_ns is not None

    @property
    def tokens(self) -> int:
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    @property
    def running(self) -> bool:
        return self.running_count > 0

    @property
    def failed(self) -> bool:
        """The run failed: its root span did (a child's error the run got past does not count);
        with no root looked at, any span's error counts."""
        return bool(self.error_count) if self.root_failed is None else self.root_failed

    @property
    def status(self) -> str:
        if self.failed:
            return "ERROR"
        if self.running:
            return "RUNNING"
        return "SUSPENDED" if self.suspended else "OK"

    @property
    def duration_ns(self) -> int | None:
        return None if self.end_ns is None or self.running else self.end_ns - self.start_ns


# The sorts other than by start, each served by an index on its expression (schema 13): SQLite
# uses one only for an ORDER BY written as the index is, so both are made from the same text.
_DURATION = "CASE WHEN {t}running_count = 0 THEN {t}end_ns - {t}start_ns END"
_TOKENS = "coalesce({t}input_tokens, 0) + coalesce({t}output_tokens, 0)"
_ERRED = "{t}error_count > 0"
SORT_INDEXES = tuple(
    f"CREATE INDEX IF NOT EXISTS traces_by_{name} ON traces({expression.format(t='')}, start_ns)"
    for name, expression in (("duration", _DURATION), ("tokens", _TOKENS), ("erred", _ERRED)))

SORTS: dict[str, str] = {
    "newest": "t.start_ns DESC",
    "oldest": "t.start_ns ASC",
    # Running traces have no duration yet: after every finished one.
    "slowest": f"{_DURATION.format(t='t.')} DESC, t.start_ns DESC",
    "tokens": f"{_TOKENS.format(t='t.')} DESC, t.start_ns DESC",
    "errors": f"{_ERRED.format(t='t.')} DESC, t.start_ns DESC",
}


# Sorts by the start index, whose runs' text_seq come close together (the order they were indexed
# in): a dense word's page walks them (``_walked_page``). Runs sorted by tokens, duration or errors
# come in any text_seq order, each looked up alone: read in full, as before.
WALKED_SORTS = frozenset({"newest", "oldest"})
_GROUP_CHUNK = 200  # runs read at a time while finding the page's conversations


@dataclass(frozen=True, slots=True)
class TraceQuery:
    """What the trace list asks for: a filter, an order, grouped by conversation or not."""

    filter: TraceFilter = field(default_factory=TraceFilter)
    sort: str = "newest"
    grouped: bool = False
    limit: int = 500


@dataclass(frozen=True, slots=True)
class TracePage:
    """The first ``query.limit`` matches (pinned first, then by group and sort) and the count."""

    query: TraceQuery
    summaries: list[TraceSummary]
    total: int
    group_sizes: dict[str | None, int] = field(default_factory=dict)  # conversation → matches
    pinned: int = 0  # pinned traces among the matches
    unindexed: int = 0  # finished spans whose messages a text search cannot find yet
    counted: bool = True  # False: ``total`` is only the page's; ``StoreReader.count_matches``

    @property
    def truncated(self) -> bool:
        return not self.counted or self.total > len(self.summaries)


def failed_by_filter(trace_filter: TraceFilter, summaries: list[TraceSummary]
                      ) -> list[TraceSummary]:
    """Matches of ``status:error`` alone all failed at their root, as the filter just found
    (in the same snapshot): not asked again (~20 ms for a page of 500 at 3M spans)."""
    if trace_filter.statuses != {"error"}:
        return summaries
    return [replace(t, root_failed=True) for t in summaries]


class StoreReader:
    """Read-only queries over a store file."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise StoreError(f"no store at {path}; record a run first or pass --db")
        check_store(path, current=True)  # readers cannot migrate: only a current store is read
        self.path = path
        self._local = threading.local()

    @property
    def _db(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = open_reader_connection(self.path)
        return connection

    def list_traces(self, limit: int = 500, offset: int = 0) -> list[TraceSummary]:
        """Traces, newest first."""
        rows = self._db.execute(
            "SELECT * FROM traces ORDER BY start_ns DESC LIMIT ? OFFSET ?", (limit, offset)
        ).fetchall()
        return self._mark_suspended([TraceSummary(**dict(row)) for row in rows])

    def _mark_suspended(self, summaries: list[TraceSummary]) -> list[TraceSummary]:
        """Mark the traces where a workflow suspended (its ``invoke_workflow`` span says
        ``lumos.workflow.status = suspended``). Read per page, not stored: the attribute may
        sit in a span's OTLP bytes, which SQL cannot look into, and only workflow spans of
        finished traces are decoded."""
        summaries = self._mark_failed(summaries)
        done = [t.trace_id for t in summaries if not t.running and not t.failed]
        if not done:
            return summaries
        suspended: set[str] = set()
        for start in range(0, len(done), 500):
            chunk = done[start : start + 500]
            rows = self._db.execute(  # the operation as written in the index ``spans_workflows``
                f"SELECT * FROM spans WHERE trace_id IN ({', '.join('?' * len(chunk))}) "
                f"AND operation = '{OP_INVOKE_WORKFLOW}'", chunk)
            suspended.update(
                span.trace_id for span in map(span_from_row, rows)
                if span.attributes.get(LUMOS_WORKFLOW_STATUS) == "suspended"
            )
        if not suspended:
            return summaries
        return [replace(t, suspended=True) if t.trace_id in suspended else t for t in summaries]

    def _mark_failed(self, summaries: list[TraceSummary]) -> list[TraceSummary]:
        """Say which traces with an error failed at their root (``trace_filter.ROOT_FAILED_SQL``,
        the same rule the ``status:`` filter uses), unless already said."""
        erred = [t.trace_id for t in summaries if t.error_count and t.root_failed is None]
        if not erred:
            return summaries
        failed: dict[str, bool] = {}
        for start in range(0, len(erred), 500):
            chunk = erred[start : start + 500]
            failed.update(self._db.execute(
                f"SELECT t.trace_id, {ROOT_FAILED_SQL} FROM traces t "
                f"WHERE t.trace_id IN ({', '.join('?' * len(chunk))})", chunk).fetchall())
        return [replace(t, root_failed=bool(failed[t.trace_id])) if t.trace_id in failed else t
                for t in summaries]

    def running_spans(self) -> list[tuple[SpanRecord, int]]:
        """Spans still running, each with the last time its trace knows of (its latest end).

        Read at every start (``sessions.interrupted``): CROSS JOIN keeps SQLite on the traces
        with a running span, then their spans by index (it scanned every span: 70 ms of CPU at
        1M spans, before the studio's first frame)."""
        rows = self._db.execute(
            "SELECT s.*, t.end_ns AS trace_end_ns FROM traces t CROSS JOIN spans s "
            "ON s.trace_id = t.trace_id WHERE t.running_count > 0 AND s.end_ns IS NULL"
        ).fetchall()
        return [(span_from_row(row), row["trace_end_ns"] or 0) for row in rows]

    def find_traces(self, query: TraceQuery) -> TracePage:
        """The trace list: matches of ``query.filter``, pinned ones on top.

        Pinned traces come first (they are few: read in full); the rest is one ordered, limited
        read, which the ``traces_by_start`` index serves for the default order. Grouped, the
        conversations are ordered by their newest run and each one keeps the chosen sort.
        """
        return self._in_snapshot(query, walk=True)

    def count_matches(self, query: TraceQuery) -> int:
        """How many traces match ``query``: the total a page came without (``counted`` False:
        a word in most message texts, or a count that reads every run), every word's matches
        read in full."""
        return self._in_snapshot(query, walk=False).total

    def _in_snapshot(self, query: TraceQuery, *, walk: bool) -> TracePage:
        db = self._db
        if db.in_transaction:
            return self._find_traces(query, walk)
        db.execute("BEGIN")  # one snapshot for the text matches, the page and the count
        try:
            return self._find_traces(query, walk)
        finally:
            db.execute("ROLLBACK")  # nothing to keep: the matches' tables are scratch

    def _find_traces(self, query: TraceQuery, walk: bool) -> TracePage:
        db = self._db
        names = {word: matched for word in query.filter.words
                 if (matched := trace_search.names_matching(db, word)) is not None}
        dense = {word: phrase for word in dict.fromkeys(query.filter.words)
                 if walk and not query.grouped and query.sort in WALKED_SORTS
                 and (phrase := fts_phrase(word)) is not None
                 and trace_search.is_dense(db, phrase)}
        # A thread: value's conversations, unless a word's few text matches lead the search
        # (reading them costs more than the LIKE on their runs: 26 → 40 ms at 3M spans).
        threads = {value: ids for value in query.filter.threads
                   if (dense or not query.filter.words)
                   and (ids := trace_search.threads_matching(db, value)) is not None}
        if dense and (walked := self._walked_page(query, dense, names, threads)) is not None:
            return walked
        texts = self._match_texts(query.filter)
        where, params = filter_sql(query.filter, texts, names, threads)
        order = SORTS[query.sort]
        # Words found only in message text: their runs, by id, when they are few.
        hits, found = None, 0
        if texts and len(texts) == len(query.filter.words) and not any(
                any(values.values()) for values in names.values()) and len(names) == len(texts):
            hits, found = trace_search.text_hits(db, list(texts.values()))
        pinned = [TraceSummary(**dict(row)) for row in db.execute(  # the few pinned first, by
            "WITH p AS MATERIALIZED (SELECT * FROM traces WHERE pinned_ns IS NOT NULL) "  # their
            f"SELECT t.* FROM p t WHERE {where} "  # index, not by walking every run in order
            f"ORDER BY {order} LIMIT ?", (*params, query.limit))]
        rest = f"t.pinned_ns IS NULL AND {where}"
        room = query.limit - len(pinned)
        sizes: dict[str | None, int] = {}
        if query.grouped:
            others = self._grouped(rest, params, order, room, sizes)
        elif hits is not None and found <= trace_search.SPARSE_HITS:
            others = [TraceSummary(**dict(row)) for row in db.execute(
                f"SELECT t.* FROM {hits} h CROSS JOIN traces t ON t.text_seq = h.text_seq "
                f"WHERE {rest} ORDER BY {order} LIMIT ?", (*params, room))]
        else:
            others = [TraceSummary(**dict(row)) for row in db.execute(
                f"SELECT t.* FROM traces t WHERE {rest} ORDER BY {order} LIMIT ?",
                (*params, room))]
        counted = True
        if len(pinned) + len(others) < query.limit:
            total = len(pinned) + len(others)
        elif walk and not query.grouped and not query.filter.empty and (
                hits is None or found > trace_search.SPARSE_HITS):
            # Counting reads every run ("status:error", "tool:x": a third of their time at 3M
            # spans, linear in the store): the page first, its total later (``count_matches``).
            total, counted = len(pinned) + len(others), False
        elif hits is not None and found <= trace_search.SPARSE_HITS:  # their runs, not all
            total = db.execute(
                f"SELECT count(*) FROM {hits} h CROSS JOIN traces t ON t.text_seq = h.text_seq "
                f"WHERE {where}", params).fetchone()[0]
        else:
            total = db.execute(f"SELECT count(*) FROM traces t WHERE {where}", params).fetchone()[0]
        unindexed = trace_index.pending_count(db) if query.filter.words else 0
        summaries = self._mark_suspended(failed_by_filter(query.filter, pinned + others))
        return TracePage(query, summaries, total, sizes, len(pinned), unindexed, counted)

    def _walked_page(self, query: TraceQuery, dense: dict[str, str],
                     names: dict[str, dict[str, list[str]]], threads: dict[str, list[str]]
                     ) -> TracePage | None:
        """The page of a search for words in most message texts (``dense``: word → phrase):
        the runs in the list's order, each chunk's texts looked up (``trace_search.walk``),
        until the page is full; the total is counted later (``count_matches``). None when the
        runs read did not fill it (the words are rarer than their texts said)."""
        db = self._db
        rest = replace(query.filter, words=tuple(w for w in query.filter.words if w not in dense))
        texts = self._match_texts(rest)
        where, params = filter_sql(rest, texts, names, threads)
        flags, flag_params = [], []
        for word in dense:
            sql, sql_params = names_sql(word, names.get(word))
            flags.append(sql)
            flag_params.extend(sql_params)
        head = f"SELECT t.trace_id, t.text_seq, {', '.join(flags)} FROM"
        order, phrases = SORTS[query.sort], list(dense.values())
        pinned = trace_search.walk(
            db, f"WITH p AS MATERIALIZED (SELECT * FROM traces WHERE pinned_ns IS NOT NULL) "
            f"{head} p t WHERE {where} ORDER BY {order}", [*flag_params, *params], phrases,
            query.limit)
        others = pinned and trace_search.walk(
            db, f"{head} traces t WHERE t.pinned_ns IS NULL AND {where} ORDER BY {order}",
            [*flag_params, *params], phrases, query.limit - len(pinned[0]))
        if not pinned or not others:
            return None
        (pinned_ids, all_pinned), (other_ids, all_others) = pinned, others
        ids = pinned_ids + other_ids
        rows: dict[str, TraceSummary] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows.update((row["trace_id"], TraceSummary(**dict(row))) for row in db.execute(
                f"SELECT * FROM traces WHERE trace_id IN ({', '.join('?' * len(chunk))})",
                chunk))
        summaries = self._mark_suspended(failed_by_filter(query.filter, [rows[i] for i in ids]))
        counted = all_pinned and all_others
        return TracePage(query, summaries, len(summaries), {}, len(pinned_ids),
                         trace_index.pending_count(db), counted)

    def _match_texts(self, trace_filter: TraceFilter) -> dict[str, str]:
        """Each searched word's message-text matches, as a temporary table of their traces'
        ``text_seq``: a statement with the match inside ran it again for each of the page, the
        count and the groups."""
        db = self._db
        tables: dict[str, str] = {}
        for word in trace_filter.words:
            phrase = fts_phrase(word)
            if phrase is None or word in tables:
                continue
            table = f"temp.text_match_{len(tables)}"
            db.execute(f"CREATE TABLE IF NOT EXISTS {table} (text_seq INTEGER PRIMARY KEY)")
            db.execute(f"DELETE FROM {table}")
            db.execute(f"INSERT OR IGNORE INTO {table} {TEXT_MATCH_SQL}", (phrase,))
            tables[word] = table
        return tables

    def _grouped(self, where: str, params: list[object], order: str, room: int,
                 sizes: dict[str | None, int]) -> list[TraceSummary]:
        """Conversations by their newest run, each in ``order``: the runs newest first (the
        start index, read in chunks) name the groups in their order until the groups found fill
        ``room``; then the runs of just those groups. What is read grows with the page, not
        with the store (grouping every conversation took 109 ms at 3M spans)."""
        chosen: dict[str | None, int] = {}  # conversation → its place
        taken, bound, bound_params = 0, "1", ()
        while taken < room:
            chunk = self._db.execute(
                f"SELECT t.conversation_id, t.start_ns, t.trace_id FROM traces t "
                f"WHERE {where} AND {bound} ORDER BY t.start_ns DESC, t.trace_id DESC LIMIT ?",
                (*params, *bound_params, _GROUP_CHUNK)).fetchall()
            for conversation, _, _ in chunk:
                if conversation in chosen or taken >= room:
                    continue
                chosen[conversation] = len(chosen)
                sizes[conversation] = size = self._group_size(where, params, conversation)
                taken += size
            if len(chunk) < _GROUP_CHUNK:
                break
            bound = "(t.start_ns, t.trace_id) < (?, ?)"
            bound_params = tuple(chunk[-1][1:])
        named = [c for c in chosen if c is not None]
        among = " OR ".join(
            ([f"t.conversation_id IN ({', '.join('?' * len(named))})"] if named else [])
            + (["t.conversation_id IS NULL"] if None in chosen else [])) or "0"
        rows = [TraceSummary(**dict(row)) for row in self._db.execute(
            f"SELECT t.* FROM traces t WHERE {where} AND ({among}) ORDER BY {order}",
            (*params, *named))]
        rows.sort(key=lambda t: chosen[t.conversation_id])  # stable: keeps ``order`` inside
        return rows[:room]

    def _group_size(self, where: str, params: list[object], conversation: str | None) -> int:
        """How many runs of a conversation match (its index, then the filter on each)."""
        same = "t.conversation_id IS NULL" if conversation is None else "t.conversation_id = ?"
        size: int = self._db.execute(
            f"SELECT count(*) FROM traces t WHERE {same} AND {where}",
            (*([] if conversation is None else [conversation]), *params)).fetchone()[0]
        return size

    def newest_trace(self) -> TraceSummary | None:
        """The most recent trace, whatever the list's filter (the app follows new runs)."""
        row = self._db.execute("SELECT * FROM traces ORDER BY start_ns DESC LIMIT 1").fetchone()
        return self._mark_failed([TraceSummary(**dict(row))])[0] if row else None

    def count_traces(self) -> int:
        count: int = self._db.execute("SELECT count(*) FROM traces").fetchone()[0]
        return count

    def trace_ids(self) -> list[str]:
        """All trace ids, oldest first (the order exports use)."""
        return [r[0] for r in self._db.execute("SELECT trace_id FROM traces ORDER BY start_ns")]

    def resolve_trace_id(self, prefix: str) -> list[str]:
        """Trace ids starting with ``prefix`` (like git's short hashes), at most a few."""
        cleaned = prefix.strip().lower()
        rows = self._db.execute(
            "SELECT trace_id FROM traces WHERE trace_id >= ? AND trace_id < ? LIMIT 5",
            (cleaned, cleaned + "g"),
        )
        return [r[0] for r in rows]

    def trace_spans(self, trace_id: str) -> list[SpanRecord]:
        """Every span of a trace, by start time."""
        rows = self._db.execute(
            "SELECT * FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id", (trace_id,)
        ).fetchall()
        return [span_from_row(row) for row in rows]

    def trace_headers(self, trace_id: str, first: int | None = None) -> SpanHeaders:
        """Every span of a trace as its tree shows it (no span decoded), by start time; or
        only the ``first`` ones."""
        return read_headers(self._db, trace_id, first)

    def span_count(self, trace_id: str) -> int:
        """How many spans the store holds of a trace (0 for one it does not know)."""
        row = self._db.execute(
            "SELECT span_count FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
        return int(row[0] or 0) if row else 0

    def spans_by_id(self, trace_id: str, span_ids: Sequence[str]) -> list[SpanRecord]:
        """Some spans of a trace, whole, by start time (those a pane asks for by id)."""
        spans: list[SpanRecord] = []
        for start in range(0, len(span_ids), 500):
            chunk = span_ids[start : start + 500]
            rows = self._db.execute(
                f"SELECT * FROM spans WHERE trace_id = ? AND span_id IN "
                f"({', '.join('?' * len(chunk))})", (trace_id, *chunk))
            spans.extend(map(span_from_row, rows))
        spans.sort(key=lambda s: (s.start_ns, s.span_id))
        return spans

    def trace_conversation(self, trace_id: str) -> str | None:
        """The conversation a trace belongs to, as the writer found it in its spans."""
        row = self._db.execute(
            "SELECT conversation_id FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
        return row[0] if row else None

    def roots_named(self, prefix: str, limit: int = 200) -> list[SpanRecord]:
        """The root spans of the newest traces whose root's name starts with ``prefix``
        (experiments: ``"experiment "``), newest first."""
        rows = self._db.execute(
            "SELECT s.* FROM traces t JOIN spans s ON s.trace_id = t.trace_id "
            "AND s.parent_span_id IS NULL AND s.name = t.root_name "
            "WHERE t.root_name >= ? AND t.root_name < ? ORDER BY t.start_ns DESC LIMIT ?",
            (prefix, prefix + "\uffff", limit),
        ).fetchall()
        return [span_from_row(row) for row in rows]

    def top_spans(self, trace_id: str) -> list[SpanRecord]:
        """A trace's root span and its children only (an experiment and its cases: a fifth of
        its spans), by start time."""
        rows = self._db.execute(
            "SELECT * FROM spans WHERE trace_id = ? AND (parent_span_id IS NULL OR "
            "parent_span_id IN (SELECT span_id FROM spans WHERE trace_id = ? "
            "AND parent_span_id IS NULL)) ORDER BY start_ns, span_id", (trace_id, trace_id)
        ).fetchall()
        return [span_from_row(row) for row in rows]

    def span(self, trace_id: str, span_id: str) -> SpanRecord | None:
        row = self._db.execute(
            "SELECT * FROM spans WHERE trace_id = ? AND span_id = ?", (trace_id, span_id)
        ).fetchone()
        return span_from_row(row) if row else None

    def logs(
        self,
        *,
        trace_id: str | None = None,
        span_id: str | None = None,
        limit: int = 1_000,
    ) -> list[LogRecord]:
        """The newest ``limit`` log records (of a trace or span when given), oldest first."""
        where, params = [], []
        if trace_id is not None:
            where.append("trace_id = ?")
            params.append(trace_id)
        if span_id is not None:
            where.append("span_id = ?")
            params.append(span_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._db.execute(
            f"SELECT * FROM logs {clause} ORDER BY time_ns DESC, id DESC LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [log_from_row(row) for row in reversed(rows)]

    def events(self, name_prefix: str, until_ns: int | None = None) -> list[LogRecord]:
        """Event log records whose name starts with ``name_prefix``, oldest first, up to a time."""
        rows = self._db.execute(
            "SELECT * FROM logs WHERE event_name >= ? AND event_name < ? AND time_ns <= ? "
            "ORDER BY time_ns, id",
            (name_prefix, name_prefix + "\uffff", until_ns if until_ns is not None else 2**63 - 1),
        ).fetchall()
        return [log_from_row(row) for row in rows]

    def metrics(self, since_ns: int = 0) -> Metrics:
        """Runs, errors, latency percentiles, tokens and cost since ``since_ns``."""
        return session_metrics(self._db, since_ns)

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

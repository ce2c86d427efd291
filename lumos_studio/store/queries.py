"""Every read the studio makes, through one reader. Safe to call from any thread (one connection
each).

Panes call these from Textual workers, never on the UI thread. The trace list's page and its
total are ``store.trace_finder``'s (``StoreReader`` inherits them), what it asks and gets
``store.trace_page``'s; the logs pane's reads are ``store.log_source``'s.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from lumos_studio.metrics import Metrics, session_metrics
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.records_codec import log_from_row, span_from_row
from lumos_studio.store.connection import StoreError, open_reader_connection
from lumos_studio.store.schema import check_store
from lumos_studio.store.span_headers import SpanHeaders, read_headers
from lumos_studio.store.text_ids import TEXT_ID_BITS
from lumos_studio.store.trace_filter import SPAN_SUSPENDED_FUNCTION, fts_phrase
from lumos_studio.store.trace_finder import TraceFinder, span_suspended
from lumos_studio.store.trace_page import TracePage, TraceQuery, TraceSummary

__all__ = ["StoreReader", "TracePage", "TraceQuery", "TraceSummary", "find_phrases"]

MAX_FIND_WORDS = 16  # words of a find in a trace's messages: the rest are left out


def find_phrases(text: str, phrase: Callable[[str], str | None]) -> list[str]:
    """The words of a find in a trace's messages (``spans_with_words``), each as the engine's
    ``phrase`` reads a searched word; words that hold none are left out."""
    return [found for word in text.split()[:MAX_FIND_WORDS]
            if (found := phrase(word)) is not None]


class StoreReader(TraceFinder):
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
            # ``status:ok`` and ``status:suspended`` ask it of workflow spans (``status_sql``).
            connection.create_function(SPAN_SUSPENDED_FUNCTION, 1, span_suspended,
                                       deterministic=True)
        return connection

    def list_traces(self, limit: int = 500, offset: int = 0) -> list[TraceSummary]:
        """Traces, newest first."""
        rows = self._db.execute(
            "SELECT * FROM traces ORDER BY start_ns DESC LIMIT ? OFFSET ?", (limit, offset)
        ).fetchall()
        return self._mark_suspended([TraceSummary(**dict(row)) for row in rows])

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

    def first_trace_id(self) -> str | None:
        """The trace that started first (a replay opens on it), or None in an empty store."""
        row = self._db.execute("SELECT trace_id FROM traces ORDER BY start_ns LIMIT 1").fetchone()
        return None if row is None else str(row[0])

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

    def spans_with_words(self, trace_id: str, text: str) -> set[str]:
        """The spans of a trace whose message text holds every word of ``text``, each read as
        the trace list's search reads one (``trace_filter.fts_phrase``): what the tree's find
        adds to the names it matches. Texts not indexed yet are not found."""
        phrases = find_phrases(text, fts_phrase)
        if not phrases:
            return set()
        row = self._db.execute(
            "SELECT text_seq FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
        if row is None or row[0] is None:
            return set()
        first = row[0] << TEXT_ID_BITS  # the trace's texts' ids (``text_ids``)
        rows = self._db.execute(
            "SELECT span_id FROM trace_texts WHERE id IN (SELECT rowid FROM trace_texts_fts "
            "WHERE trace_texts_fts MATCH ? AND rowid >= ? AND rowid < ?)",
            (" AND ".join(phrases), first, first + (1 << TEXT_ID_BITS)))
        return {span_id for (span_id,) in rows}

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

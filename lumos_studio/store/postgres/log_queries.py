"""The logs pane's queries on PostgreSQL: the same ``LogMatches`` and windows as
``store.log_queries``, from PostgreSQL's indexes.

A filter's meaning is ``log_filter``'s: level, loggers and services by their columns; free
words (the last a prefix) by the logs' generated ``tsvector`` (GIN), cut into words as SQLite's
FTS5 cuts them (``search``); a regex in Python over the message, its candidates narrowed by the
literal substrings any match must contain (``ILIKE``, which the ``pg_trgm`` index serves where
SQLite has its trigram table). Small results, and every regex result, are read whole and sorted
(``times``/``ids``, as SQLite's materialised results); larger ones are counted, and windows read
by key next to a known row or by offset.
"""

from __future__ import annotations

import contextlib
import threading
from array import array
from collections.abc import Iterable
from dataclasses import replace

from lumos_studio.store.log_filter import (
    LogFilter,
    compile_regex,
    field_conditions,
    regex_prefilter,
)
from lumos_studio.store.log_matches import (
    Anchor,
    Cancelled,
    LogMatches,
    LogRow,
    Progress,
    StopCheck,
    bisect_key,
    message_text,
    read_share,
)
from lumos_studio.store.log_queries import MATERIALIZE_LIMIT
from lumos_studio.store.postgres.connect import PostgresUrl
from lumos_studio.store.postgres.rows import QmarkConnection
from lumos_studio.store.postgres.search import searchable
from lumos_studio.store.trace_search import like_pattern

_ROW_COLUMNS = ("id, time_ns, severity_number, severity_text, body, scope_name, service_name, "
                "trace_id, span_id, event_name")
_FETCH = 5_000


def text_tsquery(text: str) -> str | None:
    """Every word of ``text`` (all its tokens adjacent), the last a prefix from two letters on
    (``log_filter.fts_query``'s rule); None without a word."""
    words = [searchable(word).split() for word in text.split()]
    words = [tokens for tokens in words if tokens]
    if not words:
        return None
    terms = [" <-> ".join(f"'{token.lower()}'" for token in tokens) for tokens in words]
    if sum(len(token) for token in words[-1]) > 1:
        terms[-1] += ":*"
    return " & ".join(f"({term})" for term in terms)


def _conditions(log_filter: LogFilter) -> tuple[list[str], list[object]]:
    where, params = field_conditions(
        log_filter, lambda column, values: (f"{column} = ANY(?)", [values]))
    query = text_tsquery(log_filter.text)
    if query is not None:
        where.append("words @@ to_tsquery('simple', ?)")
        params.append(query)
    if log_filter.regex:
        for literal in regex_prefilter(log_filter.regex)[1]:
            where.append("body ILIKE ?")
            params.append(like_pattern(literal))
    return where, params


def _where(*parts: Iterable[str]) -> str:
    conditions = [c for part in parts for c in part]
    return f"WHERE {' AND '.join(conditions)}" if conditions else ""


class PostgresLogSource:
    """The logs pane's reader (``store.log_source.LogSource``) over a PostgreSQL store."""

    errors: tuple[type[Exception], ...]

    def __init__(self, target: PostgresUrl) -> None:
        import psycopg

        self.target = target
        self.lock = threading.Lock()
        self.errors = (psycopg.Error,)
        self._connection: QmarkConnection | None = None

    @property
    def _db(self) -> QmarkConnection:
        if self._connection is None or self._connection.raw.closed:
            self._connection = QmarkConnection(self.target)
        return self._connection

    def _last_id(self) -> int:
        return int(self._db.execute("SELECT coalesce(max(id), 0) FROM logs").fetchone()[0])

    def match_logs(self, log_filter: LogFilter, should_stop: StopCheck | None = None,
                   progress: Progress | None = None) -> LogMatches:
        last_id = self._last_id()
        if not log_filter.regex:
            where, params = _conditions(log_filter)
            count = int(self._db.execute(
                f"SELECT count(*) FROM logs {_where(where, ['id <= ?'])}",
                (*params, last_id)).fetchone()[0])
            if count > MATERIALIZE_LIMIT:
                return LogMatches(log_filter, count, last_id)
        times, ids = self._materialize(log_filter, 0, last_id, should_stop, progress)
        return LogMatches(log_filter, len(ids), last_id, times, ids)

    def newest_matches(self, log_filter: LogFilter, limit: int,
                       should_stop: StopCheck | None = None, max_rows: int = 200_000
                       ) -> LogMatches:
        last_id = self._last_id()
        where, params = _conditions(log_filter)
        pattern = compile_regex(log_filter.regex) if log_filter.regex else None
        cursor = self._db.execute(
            f"SELECT time_ns, id, body FROM logs {_where(where, ['id <= ?'])} "
            f"ORDER BY time_ns DESC, id DESC LIMIT ?", (*params, last_id, max_rows))
        keys: list[tuple[int, int]] = []
        while len(keys) < limit and (batch := cursor.fetchmany(_FETCH)):
            if should_stop is not None and should_stop():
                raise Cancelled
            keys.extend((t, i) for t, i, body in batch
                        if pattern is None or pattern.search(message_text(body)))
        newest = sorted(keys[:limit])
        return LogMatches(log_filter, len(newest), last_id, array("q", (k[0] for k in newest)),
                          array("q", (k[1] for k in newest)))

    def update_matches(self, matches: LogMatches, should_stop: StopCheck | None = None
                       ) -> LogMatches:
        last_id = self._last_id()
        if last_id <= matches.last_id:
            return matches
        if matches.times is None or matches.ids is None:
            where, params = _conditions(matches.filter)
            added = int(self._db.execute(
                f"SELECT count(*) FROM logs {_where(where, ['id > ? AND id <= ?'])}",
                (*params, matches.last_id, last_id)).fetchone()[0])
            return replace(matches, count=matches.count + added, last_id=last_id)
        new_times, new_ids = self._materialize(matches.filter, matches.last_id, last_id,
                                               should_stop)
        times, ids = array("q", matches.times), array("q", matches.ids)
        for time_ns, log_id in zip(new_times, new_ids, strict=True):
            index = bisect_key(times, ids, time_ns, log_id)
            times.insert(index, time_ns)
            ids.insert(index, log_id)
        return replace(matches, count=len(ids), last_id=last_id, times=times, ids=ids)

    def _materialize(self, log_filter: LogFilter, after_id: int, last_id: int,
                     should_stop: StopCheck | None, progress: Progress | None = None
                     ) -> tuple[array[int], array[int]]:
        """The matches in display order; with ``progress``, told after each batch how far
        through the logs' times it has read."""
        where, params = _conditions(log_filter)
        pattern = compile_regex(log_filter.regex) if log_filter.regex else None
        columns = "time_ns, id, body" if pattern else "time_ns, id"
        first, last = (self._db.execute(
            "SELECT coalesce(min(time_ns), 0), coalesce(max(time_ns), 0) FROM logs").fetchone()
            if progress is not None else (0, 0))
        cursor = self._db.execute(
            f"SELECT {columns} FROM logs {_where(where, ['id > ? AND id <= ?'])} "
            "ORDER BY time_ns, id", (*params, after_id, last_id))
        times, ids = array("q"), array("q")
        while batch := cursor.fetchmany(_FETCH):
            if should_stop is not None and should_stop():
                raise Cancelled
            if progress is not None:
                progress(read_share(batch[-1][0], first, last))
            for row in batch:
                if pattern is None or pattern.search(message_text(row[2])):
                    times.append(row[0])
                    ids.append(row[1])
        return times, ids

    def fetch_window(self, matches: LogMatches, offset: int, limit: int,
                     anchors: Iterable[Anchor] = (), should_stop: StopCheck | None = None
                     ) -> list[LogRow]:
        offset, end = max(0, offset), min(matches.count, offset + limit)
        if end <= offset:
            return []
        if matches.ids is not None:
            return self._rows(list(matches.ids[offset:end]))
        where, params = _conditions(matches.filter)
        bound, bound_params, skip = ["id <= ?"], [matches.last_id], offset
        for anchor in anchors:  # next to a row already shown: by key, not by a long offset
            if anchor.position < offset and offset - anchor.position - 1 < skip:
                skip = offset - anchor.position - 1
                bound = ["id <= ?", "(time_ns, id) > (?, ?)"]
                bound_params = [matches.last_id, anchor.time_ns, anchor.id]
        rows = self._db.execute(
            f"SELECT id FROM logs {_where(where, bound)} ORDER BY time_ns, id LIMIT ? OFFSET ?",
            (*params, *bound_params, end - offset, skip)).fetchall()
        return self._rows([r[0] for r in rows])

    def _rows(self, ids: list[int]) -> list[LogRow]:
        if not ids:
            return []
        found = {r[0]: r for r in self._db.execute(
            f"SELECT {_ROW_COLUMNS} FROM logs WHERE id = ANY(?)", (ids,))}
        return [
            LogRow(r[0], r[1], r[2] or 0, r[3] or "", message_text(r[4]), r[5] or "", r[6] or "",
                   r[7], r[8], r[9] or "")
            for r in (found.get(i) for i in ids) if r is not None
        ]

    def first_log_of(self, trace_id: str, span_id: str | None) -> tuple[int, int] | None:
        row = self._db.execute(
            "SELECT time_ns, id FROM logs WHERE trace_id = ? AND (?::text IS NULL OR span_id = ?) "
            "ORDER BY time_ns, id LIMIT 1", (trace_id, span_id, span_id)).fetchone()
        return (row[0], row[1]) if row else None

    def position_at(self, matches: LogMatches, time_ns: int, log_id: int = 0) -> int:
        if matches.times is not None and matches.ids is not None:
            return bisect_key(matches.times, matches.ids, time_ns, log_id)
        where, params = _conditions(matches.filter)
        return int(self._db.execute(
            f"SELECT count(*) FROM logs {_where(where, ['id <= ?', '(time_ns, id) < (?, ?)'])}",
            (*params, matches.last_id, time_ns, log_id)).fetchone()[0])

    def interrupt(self) -> None:
        connection = self._connection
        if connection is not None:
            # Nothing to cancel, or the server is gone: the next query says so.
            with contextlib.suppress(Exception):
                connection.raw.cancel_safe(timeout=2)

    def close(self) -> None:
        with self.lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


"""What the logs pane reads through, whichever engine holds the store: a ``LogSource``.

The pane used ``store.log_queries`` on a SQLite connection of its own; the source holds that
connection (SQLite) or a PostgreSQL one (``store.postgres.log_queries``) and answers the same
calls with the same ``LogMatches`` and rows. One source serves one worker at a time (``lock``);
``errors`` are the exceptions a failed query raises, which the pane shows instead of crashing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from lumos_studio.store import log_queries as lq
from lumos_studio.store import log_windows
from lumos_studio.store.connection import open_reader_connection
from lumos_studio.store.log_filter import LogFilter
from lumos_studio.store.log_matches import Anchor, LogMatches, LogRow, Progress, StopCheck
from lumos_studio.store.postgres.connect import PostgresUrl

__all__ = ["LogSource", "SqliteLogSource", "log_source"]


class LogSource(Protocol):
    """The logs pane's reads (``store.log_queries`` and ``store.log_windows`` document each)."""

    lock: threading.Lock
    errors: tuple[type[Exception], ...]

    def newest_matches(self, log_filter: LogFilter, limit: int,
                       should_stop: StopCheck | None = None) -> LogMatches: ...

    def match_logs(self, log_filter: LogFilter, should_stop: StopCheck | None = None,
                   progress: Progress | None = None) -> LogMatches: ...

    def update_matches(self, matches: LogMatches, should_stop: StopCheck | None = None
                       ) -> LogMatches: ...

    def fetch_window(self, matches: LogMatches, offset: int, limit: int,
                     anchors: Iterable[Anchor] = ()) -> list[LogRow]: ...

    def first_log_of(self, trace_id: str, span_id: str | None) -> tuple[int, int] | None:
        """The first log of a span (or of a trace, with no span), as (time_ns, id)."""

    def position_at(self, matches: LogMatches, time_ns: int, log_id: int = 0) -> int: ...

    def interrupt(self) -> None:
        """Abort the query running now (a filter already replaced)."""

    def close(self) -> None: ...


class SqliteLogSource:
    """One read-only SQLite connection, opened when first asked for."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = open_reader_connection(self.path, plain_rows=True)
        return self._connection

    def newest_matches(self, log_filter: LogFilter, limit: int,
                       should_stop: StopCheck | None = None) -> LogMatches:
        return lq.newest_matches(self.connection(), log_filter, limit, should_stop)

    def match_logs(self, log_filter: LogFilter, should_stop: StopCheck | None = None,
                   progress: Progress | None = None) -> LogMatches:
        return lq.match_logs(self.connection(), log_filter, should_stop, progress)

    def update_matches(self, matches: LogMatches, should_stop: StopCheck | None = None
                       ) -> LogMatches:
        return lq.update_matches(self.connection(), matches, should_stop)

    def fetch_window(self, matches: LogMatches, offset: int, limit: int,
                     anchors: Iterable[Anchor] = ()) -> list[LogRow]:
        return log_windows.fetch_window(self.connection(), matches, offset, limit, anchors)

    def first_log_of(self, trace_id: str, span_id: str | None) -> tuple[int, int] | None:
        row = self.connection().execute(
            "SELECT time_ns, id FROM logs WHERE trace_id = ? AND (? IS NULL OR span_id = ?) "
            "ORDER BY time_ns, id LIMIT 1", (trace_id, span_id, span_id)).fetchone()
        return (row[0], row[1]) if row else None

    def position_at(self, matches: LogMatches, time_ns: int, log_id: int = 0) -> int:
        return log_windows.position_at(self.connection(), matches, time_ns, log_id)

    def interrupt(self) -> None:
        if self._connection is not None:
            self._connection.interrupt()

    def close(self) -> None:
        with self.lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def log_source(target: Path | PostgresUrl) -> LogSource:
    """A source over the store at ``target``; no connection is made until the first query."""
    if isinstance(target, PostgresUrl):
        from lumos_studio.store.postgres.log_queries import PostgresLogSource

        return PostgresLogSource(target)
    return SqliteLogSource(target)

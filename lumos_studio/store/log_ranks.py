"""Positions among a filter's matches from id order, exact with the few logs that came late.

A log's id follows its arrival, which is nearly its time. The writer marks the logs whose time
is before that of a log written earlier (``logs_late``, filled with the indexes by
``mark_late_logs``): the others, in id order, are in display order (time_ns, id) too. So the
matches before a key K are the hits with an id up to X (the last unmarked log before K, found
by one step of the time index), corrected by the marked ones, which are few::

    position(K) = hits(id <= X) - marked hits with id <= X + marked hits before K

The hits below an id are counted without reading ``logs`` or the whole time index: FTS5
counts a text filter's from its rowids (``TextHits``, in C), the level index holds the
level and the id (``IndexHits``), and with no filter a store
without gaps in its ids counts them by subtraction (``EveryLog``). So a position costs at
most the hits' count, not the store's size. Over a fully indexed snapshot only; with more
marked logs than ``OUT_OF_ORDER_LIMIT`` to read, None, and ``log_windows`` walks.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Protocol

OUT_OF_ORDER_LIMIT = 50_000  # marked logs read on either side of a key: beyond, None

CREATE_LATE_TABLE = (
    "CREATE TABLE logs_late (id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL)",
    "CREATE INDEX logs_late_by_time ON logs_late(time_ns, id)",
    """CREATE TRIGGER logs_late_delete AFTER DELETE ON logs BEGIN
        DELETE FROM logs_late WHERE id = old.id;
    END""",
)
# A log is late when a log with a lower id has a later time (ties keep id order): the running
# maximum of the times before it, within the new logs and of the last unmarked one before them.
_MARK_LATE_ABOVE = """INSERT OR REPLACE INTO logs_late (id, time_ns)
    SELECT id, time_ns FROM (
        SELECT id, time_ns, max(time_ns) OVER (
            ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier
        FROM logs WHERE id > :upto)
    WHERE time_ns < max(coalesce(earlier, :frontier), :frontier)"""
_UNMARKED = "NOT EXISTS (SELECT 1 FROM logs_late WHERE logs_late.id = logs.id)"


def mark_late_logs(connection: sqlite3.Connection, upto: int) -> None:
    """Mark the late logs among those with an id above ``upto`` (the ones below are marked):
    the writer calls it with the indexes (``log_index.index_new_logs``), in the same transaction."""
    row = connection.execute(
        f"SELECT time_ns FROM logs WHERE id <= ? AND {_UNMARKED} ORDER BY id DESC LIMIT 1",
        (upto,),
    ).fetchone()
    frontier = row[0] if row else -(2**63)
    connection.execute(_MARK_LATE_ABOVE, {"upto": upto, "frontier": frontier})


class HitCount(Protocol):
    """A filter's hits counted in id order: below an id, and among a few given ids."""

    def below(self, split: int) -> int: ...

    def among(self, ids: list[int]) -> int: ...

    def near(self, rank: int, last_id: int, count: int, low: tuple[int, int],
             high: tuple[int, int]) -> tuple[int, bool] | None:
        """A hit's id at ``rank`` in id order among ids up to ``last_id`` (``count`` hits), and
        True if it is the hit of that very rank; False if only near it, guessed between
        ``low`` and ``high`` (an id and its position, known around the rank)."""
        ...


GUESS_RANGE = 50_000  # logs read after a guessed id for a hit: none, and the filter walks


def position(
    connection: sqlite3.Connection,
    hits: HitCount,
    last_id: int,
    time_ns: int,
    log_id: int,
    hits_below: tuple[int, int] | None = None,
) -> int | None:
    """How many hits among ids up to ``last_id`` come before (time_ns, log_id) in display
    order; None when too many marked logs would have to be counted one by one.

    ``hits_below`` (an id, and how many hits have a lower id), when known, spares the count
    if that id is where the unmarked logs pass the key (a hit found by its rank in id order).
    """
    after = connection.execute(
        "SELECT id FROM logs INDEXED BY logs_by_time WHERE (time_ns, id) >= (?, ?) "
        f"AND +id <= ? AND {_UNMARKED} ORDER BY time_ns, id LIMIT 1",
        (time_ns, log_id, last_id),
    ).fetchone()
    split = after[0] - 1 if after else last_id  # unmarked ids up to here come before the key
    marked_below = [r[0] for r in connection.execute(
        "SELECT id FROM logs_late WHERE id <= ? LIMIT ?", (split, OUT_OF_ORDER_LIMIT + 1))]
    marked_before = [r[0] for r in connection.execute(
        "SELECT id FROM logs_late WHERE (time_ns, id) < (?, ?) AND +id <= ? LIMIT ?",
        (time_ns, log_id, last_id, OUT_OF_ORDER_LIMIT + 1))]
    if max(len(marked_below), len(marked_before)) > OUT_OF_ORDER_LIMIT:
        return None
    if hits_below is not None and after is not None and after[0] == hits_below[0]:
        below = hits_below[1]
    else:
        below = hits.below(split)
    # A marked log in both lists cancels out: only the others are asked whether they are hits.
    both = set(marked_below).intersection(marked_before)
    return (below - hits.among([i for i in marked_below if i not in both])
            + hits.among([i for i in marked_before if i not in both]))


@dataclass(frozen=True, slots=True)
class TextHits:
    """An FTS5 query's hits: counted in C from the index's rowids."""

    connection: sqlite3.Connection
    fts: str

    def below(self, split: int) -> int:
        found: int = self.connection.execute(
            "SELECT count(*) FROM logs_fts WHERE logs_fts MATCH ? AND rowid <= ?",
            (self.fts, split)).fetchone()[0]
        return found

    def among(self, ids: list[int]) -> int:
        return _count_among(self.connection, "SELECT count(*) FROM logs_fts WHERE logs_fts "
                            "MATCH ? AND rowid IN", (self.fts,), ids)

    def near(self, rank: int, last_id: int, count: int, low: tuple[int, int],
             high: tuple[int, int]) -> tuple[int, bool] | None:
        log_id = nth_hit(self.connection, self.fts, last_id, count, rank)
        return None if log_id is None else (log_id, True)


@dataclass(frozen=True, slots=True)
class IndexHits:
    """Logs passing ``where`` (a level): counted through ``index``, which holds the columns
    ``where`` reads and the id, so no row is read."""

    connection: sqlite3.Connection
    where: str
    params: tuple[object, ...]
    index: str

    def below(self, split: int) -> int:
        found: int = self.connection.execute(
            f"SELECT count(*) FROM logs INDEXED BY {self.index} WHERE {self.where} "
            "AND id <= ?", (*self.params, split)).fetchone()[0]
        return found

    def among(self, ids: list[int]) -> int:
        return _count_among(self.connection, f"SELECT count(*) FROM logs WHERE {self.where} "
                            "AND id IN", self.params, ids)

    def near(self, rank: int, last_id: int, count: int, low: tuple[int, int],
             high: tuple[int, int]) -> tuple[int, bool] | None:
        """The first hit after the id of the rank's share between ``low`` and ``high``."""
        share = (rank - low[1]) / max(1, high[1] - low[1])
        guess = low[0] + int((high[0] - low[0]) * share)
        row = self.connection.execute(
            f"SELECT id FROM logs NOT INDEXED WHERE id >= ? AND id <= ? AND {self.where} "
            "ORDER BY id LIMIT 1",
            (guess, min(last_id, guess + GUESS_RANGE), *self.params)).fetchone()
        return None if row is None else (row[0], False)


@dataclass(frozen=True, slots=True)
class EveryLog:
    """Every log, in a store whose ids have no gap from ``first_id`` (``every_log``): the logs
    up to an id are counted by subtraction."""

    first_id: int

    def below(self, split: int) -> int:
        return max(0, split - self.first_id + 1)

    def among(self, ids: list[int]) -> int:
        return len(ids)  # marked logs are present ones (a trigger forgets the deleted)

    def near(self, rank: int, last_id: int, count: int, low: tuple[int, int],
             high: tuple[int, int]) -> tuple[int, bool] | None:
        return (self.first_id + rank, True) if rank < count else None


def every_log(connection: sqlite3.Connection) -> EveryLog | None:
    """``EveryLog`` when no id between the lowest and the highest is missing (deletes of the
    oldest logs keep it so; SQLite counts a whole table from its pages), else None."""
    # Two statements: SQLite reads min() or max() alone from one end, but scans for both.
    low = connection.execute("SELECT min(id) FROM logs").fetchone()[0]
    high = connection.execute("SELECT max(id) FROM logs").fetchone()[0]
    if low is None:
        return None
    total: int = connection.execute("SELECT count(*) FROM logs").fetchone()[0]
    return EveryLog(low) if total == high - low + 1 else None


def text_position(
    connection: sqlite3.Connection, fts: str, last_id: int, time_ns: int, log_id: int
) -> int | None:
    """``position`` among the hits of the FTS5 query ``fts``."""
    return position(connection, TextHits(connection, fts), last_id, time_ns, log_id)


def nth_hit(connection: sqlite3.Connection, fts: str, last_id: int, count: int, rank: int
            ) -> int | None:
    """The id of the hit at ``rank`` (0-based) in rowid order among ids up to ``last_id``
    (``count`` of them), read from whichever end of the doclist is nearer."""
    if not 0 <= rank < count:
        return None
    forward = rank <= count - 1 - rank
    row = connection.execute(
        "SELECT rowid FROM logs_fts WHERE logs_fts MATCH ? AND rowid <= ? "
        f"ORDER BY rowid{'' if forward else ' DESC'} LIMIT 1 OFFSET ?",
        (fts, last_id, rank if forward else count - 1 - rank),
    ).fetchone()
    return row[0] if row else None


def _count_among(connection: sqlite3.Connection, head: str, params: tuple[object, ...],
                 ids: list[int]) -> int:
    """``head`` (a count ending in ``IN``, after ``params``) over ``ids``, 500 at a time."""
    found = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found += connection.execute(
            f"{head} ({', '.join('?' * len(chunk))})", (*params, *chunk)).fetchone()[0]
    return found

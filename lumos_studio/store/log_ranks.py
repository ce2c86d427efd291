"""Positions among a free-text filter's matches, read from the FTS5 index's rowids.

A log's id follows its arrival, which is nearly its time: the k-th FTS5 hit by rowid is close
to the k-th match in display order (time_ns, id), and FTS5 counts its hits below a rowid in C
(~15 ns a hit), without reading ``logs``. What makes it exact are the logs whose id and time
disagree about a key K: those with an id at most the split id X but a key at or after K (a
clock ahead), and those above X with a key before K (a late log). One pass of the time index
finds them (an index-only scan comparing two integers, ~30 ns a log, against ~200 ns when each
entry is checked against the hits); FTS5 then says which of them are hits::

    position(K) = hits(rowid <= X) - hits among the first + hits among the second

Only for a text filter alone (no level, logger or service: FTS5 cannot count those) over a
fully indexed snapshot; a store with more out-of-order logs than ``OUT_OF_ORDER_LIMIT`` around
K gets None, and ``log_queries`` walks as before.
"""

from __future__ import annotations

import sqlite3

OUT_OF_ORDER_LIMIT = 5_000  # logs whose id and time disagree about a key: beyond, None


def text_position(
    connection: sqlite3.Connection, fts: str, last_id: int, time_ns: int, log_id: int
) -> int | None:
    """How many hits of ``fts`` among ids up to ``last_id`` come before (time_ns, log_id) in
    display order; None when too many logs are out of id order to count them one by one."""
    after = connection.execute(
        "SELECT id FROM logs INDEXED BY logs_by_time WHERE (time_ns, id) >= (?, ?) "
        "AND +id <= ? ORDER BY time_ns, id LIMIT 1",
        (time_ns, log_id, last_id),
    ).fetchone()
    split = after[0] - 1 if after else last_id  # ids up to here are expected before the key
    key = (time_ns, log_id)
    # Logs with an id above the split but a key before K, and at most the split but not before
    # (the scans compare plain columns, twice as fast as a row value; ties sorted out here).
    early = connection.execute(
        "SELECT time_ns, id FROM logs INDEXED BY logs_by_time "
        "WHERE time_ns <= ? AND id > ? AND id <= ? LIMIT ?",
        (time_ns, split, last_id, OUT_OF_ORDER_LIMIT + 1),
    ).fetchall()
    late = connection.execute(
        "SELECT time_ns, id FROM logs INDEXED BY logs_by_time "
        "WHERE time_ns >= ? AND id <= ? LIMIT ?",
        (time_ns, split, OUT_OF_ORDER_LIMIT + 1),
    ).fetchall()
    if len(early) > OUT_OF_ORDER_LIMIT or len(late) > OUT_OF_ORDER_LIMIT:
        return None
    early_ids = [i for t, i in early if (t, i) < key]
    late_ids = [i for t, i in late if (t, i) >= key]
    below: int = connection.execute(
        "SELECT count(*) FROM logs_fts WHERE logs_fts MATCH ? AND rowid <= ?", (fts, split)
    ).fetchone()[0]
    return below + _hits_among(connection, fts, early_ids) - _hits_among(connection, fts, late_ids)


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


def _hits_among(connection: sqlite3.Connection, fts: str, ids: list[int]) -> int:
    found = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found += connection.execute(
            f"SELECT count(*) FROM logs_fts WHERE logs_fts MATCH ? "
            f"AND rowid IN ({', '.join('?' * len(chunk))})",
            (fts, *chunk),
        ).fetchone()[0]
    return found

"""A search's first page on PostgreSQL by walking the runs in the list's order, when its words
are in most runs: PostgreSQL's form of ``trace_search.walk``.

The plain page semi-joins every text that matches a word ("w12": 366,000 of 500,000 span texts
at 1M spans, read from the heap: ~400 ms) and sorts what it found. Walked, a cursor reads the
runs in the list's order (``traces_by_start``), each run's words looked up by its id in
``span_texts``' primary key (~12 µs a run), until the page is full: its cost follows the runs
read, not the word's matches in the store. The share of runs holding the words, learnt from a
first small chunk, says whether ``WALK_BUDGET`` runs would fill the page; if not, the walk gives
up and the plain page is read instead ("paris": one run in 12, "paris london": one in 170).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lumos_studio.store.postgres.rows import postgres_sql

# Runs a walk may read (~35 ms at ~12 µs a run): a page whose words fill it within that (a word
# in one run in six or more) is walked; a rarer word's page comes from its matches (the plain
# page: 40 ms for "paris", in one run in 12, at 1M spans, where walking its 6,300 runs took 75;
# "refund status:error" walked 2,100 of the 2,483 failed runs, 45 ms, before giving up at 5,000).
WALK_BUDGET = 3_000
# Fewer runs than this in the store: a word's matches are read whole (a few ms) and the page
# comes counted, as SQLite's does below ``trace_search.DENSE_TEXTS`` texts.
WALK_MIN_RUNS = 2_000
FIRST_CHUNK = 64  # runs read first, to learn the share of them holding the words
WALK_CHUNK = 2_048  # most runs fetched at a time


def worth_walking(raw: Any) -> bool:
    """The store holds ``WALK_MIN_RUNS`` runs or more (counted no further)."""
    row = raw.execute("SELECT count(*) FROM (SELECT 1 FROM traces LIMIT %s) r",
                      (WALK_MIN_RUNS,)).fetchone()
    return bool(row[0] >= WALK_MIN_RUNS)


def walk(raw: Any, sql: str, params: Sequence[object], room: int
         ) -> tuple[list[str], bool] | None:
    """The first ``room`` runs of ``sql`` that match, and whether ``sql`` ran out (then they are
    all its matches); None when ``WALK_BUDGET`` runs would not fill ``room`` at the share of
    matches found so far. ``sql`` (``?`` parameters) gives each run's id and whether it
    matches, in the list's order; it runs as a server-side cursor on ``raw`` (a psycopg
    connection in a transaction), so PostgreSQL looks up only the runs fetched."""
    if room <= 0:
        return [], False
    budget = WALK_BUDGET
    cursor = raw.cursor(name="lumos_trace_walk")
    try:
        cursor.execute(postgres_sql(f"{sql} LIMIT ?"), [*params, budget + 1])
        chosen: list[str] = []
        size, read = min(FIRST_CHUNK, WALK_CHUNK), 0
        while len(chosen) < room:
            if read and (not chosen or read + (room - len(chosen)) * read / len(chosen)
                         > budget):
                return None
            rows = cursor.fetchmany(size)
            read += len(rows)
            matched = [row[0] for row in rows if row[1]]
            taken = matched[: room - len(chosen)]
            chosen.extend(taken)
            if len(rows) < size:
                if read > budget and len(chosen) < room:  # cut by the LIMIT, not the end
                    return None
                return chosen, len(taken) == len(matched) and read <= budget
            # Enough runs for the rest of the page at the share found so far, or twice as many
            needed = -(-(room - len(chosen)) * read // len(chosen)) if chosen else 0
            size = min(max(size * 2, needed + needed // 4), WALK_CHUNK)
        return chosen, False
    finally:
        cursor.close()

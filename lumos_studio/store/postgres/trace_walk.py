"""A search's first page on PostgreSQL by walking the runs in the list's order, when its words
are in most runs: PostgreSQL's form of ``trace_search.walk``.

The plain page semi-joins every text that matches a word ("w12": 366,000 of 500,000 span texts
at 1M spans, read from the heap: ~400 ms) and sorts what it found. Walked, a cursor reads the
runs in the list's order (``traces_by_start``), each run's words looked up by its id in
``span_texts``' primary key (~12 µs a run), until the page is full: its cost follows the runs
read, not the word's matches in the store. The share of runs holding the words, learnt from a
first small chunk, says whether ``WALK_BUDGET`` runs would fill the page; if not, the walk gives
up and the plain page is read instead ("paris": one run in 12, "paris london": one in 170).
Of several words, those that would fill the page alone are walked through the runs of the
others, whose few matches are read whole ("w12 refund": 377 → ~45 ms at 1M spans).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Walk:
    """What a walk found: the first runs that hold every flag, in order (None when it gave up:
    its budget would not fill the page), whether they are all (the runs ran out), and each
    flag's share of the runs read (a word in many of them fills a page alone)."""

    ids: list[str] | None
    ran_out: bool
    shares: tuple[float, ...]


def walk(raw: Any, sql: str, params: Sequence[object], room: int, flags: int = 1) -> Walk:
    """The first ``room`` runs of ``sql`` that hold every flag (see ``Walk``). ``sql`` (``?``
    parameters) gives each run's id and ``flags`` booleans, in the list's order; it runs as a
    server-side cursor on ``raw`` (a psycopg connection in a transaction), so PostgreSQL looks
    up only the runs fetched. It gives up when ``WALK_BUDGET`` runs would not fill ``room`` at
    the share of matches found so far."""
    if room <= 0:
        return Walk([], False, (0.0,) * flags)
    budget = WALK_BUDGET
    held = [0] * flags
    chosen: list[str] = []
    read = 0

    def result(ids: list[str] | None, ran_out: bool = False) -> Walk:
        return Walk(ids, ran_out, tuple(count / max(read, 1) for count in held))

    cursor = raw.cursor(name="lumos_trace_walk")
    try:
        cursor.execute(postgres_sql(f"{sql} LIMIT ?"), [*params, budget + 1])
        size = min(FIRST_CHUNK, WALK_CHUNK)
        while len(chosen) < room:
            if read and (not chosen or read + (room - len(chosen)) * read / len(chosen)
                         > budget):
                return result(None)
            rows = cursor.fetchmany(size)
            read += len(rows)
            for k in range(flags):
                held[k] += sum(1 for row in rows if row[k + 1])
            matched = [row[0] for row in rows if all(row[1:])]
            taken = matched[: room - len(chosen)]
            chosen.extend(taken)
            if len(rows) < size:
                if read > budget and len(chosen) < room:  # cut by the LIMIT, not the end
                    return result(None)
                return result(chosen, len(taken) == len(matched) and read <= budget)
            # Enough runs for the rest of the page at the share found so far, or twice as many
            needed = -(-(room - len(chosen)) * read // len(chosen)) if chosen else 0
            size = min(max(size * 2, needed + needed // 4), WALK_CHUNK)
        return result(chosen)
    finally:
        cursor.close()

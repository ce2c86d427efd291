"""A free word's matches in the trace list without reading every trace.

A word matches a run by its agents, root name or models (a substring, as LIKE finds it) or by
its message text (the full-text index). Those three columns hold few distinct values, each
indexed (schema 10): ``names_matching`` reads the distinct values through the index, a seek each,
and keeps those that contain the word, so the word's condition becomes ``IN`` lists (usually
empty) instead of three LIKEs on every trace. When no word names anything, ``text_hits``
intersects the words' text matches into one table: a few matching runs are then read by their
``text_seq`` and sorted, not found by walking every run ("paris london": 297 of 50,000).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from lumos_studio.store.text_ids import TEXT_ID_BITS

NAME_COLUMNS = ("agents", "root_name", "models")
MAX_NAMES = 200  # distinct values of a column read at most; more: the word keeps its LIKE
SPARSE_HITS = 20_000  # matching runs up to this many are read by their ids and sorted


def like_pattern(value: str) -> str:
    """``%value%`` for LIKE with ``ESCAPE '\\'``: the value's own wildcards are literal."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def names_matching(connection: sqlite3.Connection, word: str) -> dict[str, list[str]] | None:
    """For each name column, its distinct values that contain ``word`` (as LIKE finds them),
    read by index seeks; None when a column has more than ``MAX_NAMES`` distinct values."""
    pattern = like_pattern(word)
    found: dict[str, list[str]] = {}
    for column in NAME_COLUMNS:
        matching: list[str] = []
        value: str | None = ""
        for _ in range(MAX_NAMES + 1):
            row = connection.execute(
                f"SELECT v, v LIKE ? ESCAPE '\\' FROM (SELECT min({column}) AS v FROM traces "
                f"WHERE {column} > ?)", (pattern, value)).fetchone()
            value = row[0]
            if value is None:
                break
            if row[1]:
                matching.append(value)
        else:
            return None
        found[column] = matching
    return found


MAX_THREADS = 2_000  # conversations a ``thread:`` value may name; more: it keeps its LIKE


def threads_matching(connection: sqlite3.Connection, value: str) -> list[str] | None:
    """The conversation ids that contain ``value`` (as LIKE finds them), read from the index
    ``traces_by_conversation`` alone (~60 ns an entry), not from every run in the list's order
    (``thread:thread-42`` matched 1 run in 100 at 10M spans: 83 ms); None past
    ``MAX_THREADS``."""
    values = [v for (v,) in connection.execute(
        "SELECT DISTINCT conversation_id FROM traces INDEXED BY traces_by_conversation "
        "WHERE conversation_id LIKE ? ESCAPE '\\' LIMIT ?",
        (like_pattern(value), MAX_THREADS + 1))]
    return None if len(values) > MAX_THREADS else values


def text_hits(connection: sqlite3.Connection, tables: Sequence[str]) -> tuple[str, int]:
    """The ``text_seq`` found in every one of ``tables`` (each a word's text matches), as a
    temporary table (the one table when there is one), and how many: read from the smallest,
    looked up in the others."""
    sizes = sorted((connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0], t)
                   for t in tables)
    if len(sizes) == 1:
        return sizes[0][1], sizes[0][0]
    smallest = sizes[0][1]
    others = " AND ".join(f"text_seq IN {t}" for _, t in sizes[1:]) or "1"
    connection.execute("CREATE TABLE IF NOT EXISTS temp.text_hits (text_seq INTEGER PRIMARY KEY)")
    connection.execute("DELETE FROM temp.text_hits")
    connection.execute(
        f"INSERT INTO temp.text_hits SELECT text_seq FROM {smallest} WHERE {others}")
    count: int = connection.execute("SELECT count(*) FROM temp.text_hits").fetchone()[0]
    return "temp.text_hits", count


# A word in more message texts than this, and than one run in ``DENSE_SHARE``, is not read in
# full for the first page: the list walks the runs in its order and asks the index only about
# the runs it reads (``walk``), which fill a page after ~``DENSE_SHARE`` × its room runs at most
# (unless a run holds the word many times). Reading every match of "w12" (366,000 texts in
# 50,000 runs at 1M spans) took 60 ms of the 75, and grows with the store; up to
# ``DENSE_TEXTS`` texts are in as many runs at most, which are read by their ids and sorted
# (``text_hits``, ``SPARSE_HITS``) in ≤ 40 ms whatever the store ("refund status:error" at 3M
# spans: 39 ms so, 91 ms walked through the errors for the 8 % of them with the word).
DENSE_TEXTS = SPARSE_HITS
DENSE_SHARE = 40
_WALK_BUDGET = 20_000  # runs a walk may read: past it (or bound to, at the share found so far)
# it leaves the page to the plain path ("paris london": both words in 8 % of the runs, together
# in 0.6 %, were walked through 40,000 runs at 3M spans, 95 ms, before the plain path's 22)
# Runs' text_seq this far apart (over the share of runs found holding the word) are looked up in
# one range read of the index: a read's set-up costs ~0.2 ms (~1 ms for a prefix: FTS5 merges its
# terms' matches first), a run in the range ~1 µs (a word in every run's texts, "w12" at 3M
# spans). A gap of 64 broke "w12 status:error"'s 545 errors into ~20 reads of a prefix: 24 ms,
# 10 in one read.
_RANGE_GAP = 256
_PREFIX_GAP = 4  # times ``_RANGE_GAP`` for a prefix phrase (``"w12"*``)
# Runs ``walk`` reads first: few, to learn the share of them holding the words before reading
# more (a first chunk of the page's room, 500 runs asked with no share known, was 22 ms of range
# reads, most of "refund status:error"'s walk, whose errors with the word are 8 % of them).
_FIRST_CHUNK = 64
_WALK_CHUNK = 4_096  # most runs read at a time by ``walk``
_TEXTS_IN_RANGE = (
    f"SELECT DISTINCT rowid >> {TEXT_ID_BITS} FROM trace_texts_fts "
    "WHERE trace_texts_fts MATCH ? AND rowid >= ? AND rowid < ?"
)


def is_dense(connection: sqlite3.Connection, phrase: str) -> bool:
    """More texts match ``phrase`` than ``DENSE_TEXTS`` and than the indexed runs (their
    highest ``text_seq``) over ``DENSE_SHARE``; counted no further."""
    runs: int = connection.execute("SELECT coalesce(max(text_seq), 0) FROM traces").fetchone()[0]
    threshold = max(DENSE_TEXTS, runs // DENSE_SHARE)
    count: int = connection.execute(
        "SELECT count(*) FROM (SELECT 1 FROM trace_texts_fts WHERE trace_texts_fts MATCH ? "
        "LIMIT ?)", (phrase, threshold + 1)).fetchone()[0]
    return count > threshold


def seqs_with_text(connection: sqlite3.Connection, phrase: str, seqs: Iterable[int],
                   gap: int = _RANGE_GAP) -> set[int]:
    """Which of the runs ``seqs`` (their ``text_seq``) have a text matching ``phrase``: one read
    of the index's rowid range per cluster of close numbers (a query per run cost ~0.3 ms, its
    set-up; a range of 500 neighbours ~5 ms for "w12")."""
    wanted = set(seqs)
    ordered = sorted(wanted)
    found: set[int] = set()
    start = 0
    for end in range(1, len(ordered) + 1):
        if end < len(ordered) and ordered[end] - ordered[end - 1] <= gap:
            continue
        low, high = ordered[start], ordered[end - 1]
        found.update(seq for (seq,) in connection.execute(
            _TEXTS_IN_RANGE, (phrase, low << TEXT_ID_BITS, (high + 1) << TEXT_ID_BITS))
            if seq in wanted)
        start = end
    return found


def walk(connection: sqlite3.Connection, sql: str, params: Sequence[object],
         phrases: Sequence[str], room: int) -> tuple[list[str], bool] | None:
    """The first ``room`` runs of ``sql`` that match every phrase, and whether ``sql`` ran out
    (then they are all its matches); None when ``_WALK_BUDGET`` runs would not fill ``room``
    at the share of matches found so far.
    ``sql`` gives, in the list's order, each run's id, its ``text_seq`` and, per phrase,
    whether the run matches it by name (then its text is not looked at). Runs are read in
    growing chunks, each chunk's texts looked up by range: the cost follows the runs read, not
    the word's matches in the whole store."""
    if room <= 0:
        return [], False
    cursor = connection.execute(sql, params)
    chosen: list[str] = []
    size = min(_FIRST_CHUNK, _WALK_CHUNK)
    read = 0
    looked, held = [0] * len(phrases), [0] * len(phrases)  # per phrase: runs asked, found
    gaps = [_RANGE_GAP * (_PREFIX_GAP if p.endswith("*") else 1) for p in phrases]
    try:
        while len(chosen) < room:
            if read and (not chosen or read + (room - len(chosen)) * read / len(chosen)
                         > _WALK_BUDGET):
                return None
            rows = cursor.fetchmany(size)
            read += len(rows)
            alive = list(rows)
            for k, phrase in enumerate(phrases):
                asked = [r[1] for r in alive if not r[k + 2] and r[1] is not None]
                share = (held[k] + 1) / (looked[k] + 1)  # of runs holding it, so far
                found = seqs_with_text(connection, phrase, asked,
                                       min(int(gaps[k] / share), 1 << 20))
                looked[k] += len(asked)
                held[k] += len(found)
                alive = [r for r in alive if r[k + 2] or r[1] in found]
            taken = alive[: room - len(chosen)]
            chosen.extend(r[0] for r in taken)
            if len(rows) < size:
                return chosen, len(taken) == len(alive)
            # Enough runs for the rest of the page at the share found so far, or twice as many
            needed = -(-(room - len(chosen)) * read // len(chosen)) if chosen else 0
            size = min(max(size * 2, needed + needed // 4), _WALK_CHUNK)
        return chosen, False
    finally:
        cursor.close()

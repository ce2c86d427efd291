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
from collections.abc import Sequence

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

"""The logs' indexes, filled by the writer in the transaction that inserts the logs: what the
full-text index sees of a row, and the one call that adds new logs to the words', the trigrams'
(``log_trigrams``) and the late marks' (``log_ranks``) indexes, up to one watermark.

Apart from the schema (``store.schema``): the writer and the log queries use it on every batch
and every filter; the migrations only to build the index once.
"""

from __future__ import annotations

import sqlite3

from lumos_studio.store.log_ranks import mark_late_logs
from lumos_studio.store.log_trigrams import INDEX_TRIGRAMS_ABOVE

__all__ = ["index_new_logs", "indexed_up_to"]


# What the full-text index sees of a row: the JSON text with its escapes (\n, \t, \r) turned into
# spaces, so "...\nTraceback" indexes "traceback" and not "ntraceback". Indexing and deleting must
# feed FTS5 the very same text, hence one expression for both.
def _fts_columns(row: str) -> str:
    def unescape(column: str) -> str:
        return (
            f"replace(replace(replace(coalesce({row}.{column}, ''), '\\n', ' '), "
            f"'\\t', ' '), '\\r', ' ')"
        )

    return f"{unescape('body')}, coalesce({row}.event_name, '') || ' ' || {unescape('attributes')}"


_INDEX_NEW_LOGS = (
    f"INSERT INTO logs_fts(rowid, body, extra) SELECT id, {_fts_columns('logs')} FROM logs "
    "WHERE id > (SELECT coalesce(max(id), 0) FROM logs_fts_docsize)"
)


_INDEX_LOGS_ABOVE = (
    f"INSERT INTO logs_fts(rowid, body, extra) SELECT id, {_fts_columns('logs')} FROM logs "
    "WHERE id > ?"
)


def index_new_logs(connection: sqlite3.Connection) -> None:
    """Add the logs written since the last call to the full-text index and, from schema 10, to
    the trigram index (``log_trigrams``): two statements over the same ids; from schema 12,
    mark those of them that came late (``log_ranks``).

    The writer calls this in the transaction that inserted them. Why not a trigger: FTS5 flushes
    its pending terms at every statement's savepoint, so a per-row trigger writes one tiny segment
    per log: measured 2x slower log writes (see ``bench/logs_filter.py``), and its shadow-table
    writes would inflate ``total_changes``. Rows not indexed yet are still found by
    ``log_queries`` (by a slower scan), so a writer that never calls this stays correct.
    """
    upto = indexed_up_to(connection)
    mark_late_logs(connection, upto)
    connection.execute(INDEX_TRIGRAMS_ABOVE, (upto,))
    connection.execute(_INDEX_LOGS_ABOVE, (upto,))


def indexed_up_to(connection: sqlite3.Connection) -> int:
    """The highest log id in the full-text (and trigram) index; rows above it are not indexed
    yet."""
    last: int = connection.execute(
        "SELECT coalesce(max(id), 0) FROM logs_fts_docsize").fetchone()[0]
    return last

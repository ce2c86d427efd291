"""Compressing stored spans when the writer is idle: those stored before the store had its
dictionary, which is trained here.

A span is stored as its OTLP bytes (``records_codec``). Once the store has a dictionary the
writer compresses each span as it stores it (``write_packing``); the spans that came before (a
new store's first ~1,000, a store of an older studio's) are compressed here, between batches,
once message text is indexed: a stored span is either form, which ``records_codec.unpack``
tells apart, and a span already compressed is passed over.
``compaction.upto`` is the last ``spans`` rowid looked at; a span written since has a higher one
(a span's later copy keeps its rowid: it stays as it came, which reads the same). Whether a span
is compressed already is asked in SQL (its frame's first bytes), so that of the spans the writer
compressed itself only the rowids are walked: read into Python, 100,000 of them cost 72 ms of
CPU after each burst, in SQL 12. In a store made with incremental auto-vacuum (every new one)
the pages that frees go back to the disk.
"""

from __future__ import annotations

import sqlite3

from lumos_studio import span_compression
from lumos_studio.span_compression import ZSTD_MAGIC, pack, unpack

__all__ = [
    "compact_pending",
    "create_compaction_table",
    "create_dictionary_table",
    "give_back_pages",
]

# Pages a step gives back to the file system (4 MB of the store's 64 KB pages): moving pages to
# the file's end holds the writer's transaction, so a few at a time.
PAGES_PER_STEP = 64
# A store's spans get a dictionary (``span_compression``) once it holds this many; it is trained
# on its newest ``TRAINING_SPANS`` (~0.3 s, once). Training that fails (too few, too alike) is
# tried again once ``RETRY_AFTER_SPANS`` more came.
MIN_TRAINING_SPANS = 1_000
TRAINING_SPANS = 2_000
RETRY_AFTER_SPANS = 10_000
# Rowids one step looks at, at most, for spans still to compress: the writer compressed most of
# them already, and those are passed over in SQL (~0.1 µs each: ~2 ms a step).
ROWIDS_PER_STEP = 20_000


def create_compaction_table(connection: sqlite3.Connection) -> None:
    """The one-row table of how far compaction got (a migration creates it)."""
    connection.execute("CREATE TABLE compaction (upto INTEGER NOT NULL)")
    connection.execute("INSERT INTO compaction (upto) VALUES (0)")


def create_dictionary_table(connection: sqlite3.Connection) -> None:
    """The store's compression dictionaries, and when training one last failed (a migration)."""
    connection.execute("CREATE TABLE span_dicts (id INTEGER PRIMARY KEY, dict BLOB NOT NULL)")
    connection.execute(
        "ALTER TABLE compaction ADD COLUMN dict_tried_at INTEGER NOT NULL DEFAULT 0")


def compact_pending(connection: sqlite3.Connection, limit: int) -> int:
    """Compress up to ``limit`` spans written uncompressed since the last call (in the
    caller's transaction), with the store's dictionary once it has one, looking at up to
    ``ROWIDS_PER_STEP`` rowids; returns ``limit`` while more are left to look at, fewer once
    all were."""
    upto: int = connection.execute("SELECT upto FROM compaction").fetchone()[0]
    top: int = connection.execute("SELECT coalesce(max(rowid), 0) FROM spans").fetchone()[0]
    end = upto + ROWIDS_PER_STEP
    rows = connection.execute(
        "SELECT rowid, span FROM spans WHERE rowid > ? AND rowid <= ? "
        "AND substr(span, 1, 4) IS NOT ? ORDER BY rowid LIMIT ?", (upto, end, ZSTD_MAGIC, limit)
    ).fetchall()
    if len(rows) == limit:  # more may follow within the window
        looked, done = rows[-1][0], limit
    else:
        looked = min(end, top)
        done = limit if end < top else len(rows)
    if rows:
        _compress(connection, rows, top)
    if looked > upto:
        connection.execute("UPDATE compaction SET upto = ?", (looked,))
    return done


def _compress(connection: sqlite3.Connection, rows: list[tuple[int, bytes | None]],
              top: int) -> None:
    """Compress these (rowid, span) rows with the store's dictionary, if it has one.

    A compressed row moves to the table's end (a new rowid): shrunk in place it would leave its
    page two-thirds empty, a space no later span fills; moved, its old pages empty out and are
    reused or given back (``give_back_pages``)."""
    dict_id = store_dictionary(connection)
    updates = []
    for rowid, span in rows:
        if span:
            packed = pack(span, dict_id)
            if packed is not span:
                top += 1
                updates.append((top, packed, rowid))
    connection.executemany("UPDATE spans SET rowid = ?, span = ? WHERE rowid = ?", updates)


def store_dictionary(connection: sqlite3.Connection) -> int | None:
    """The id of the store's dictionary (known to ``span_compression`` from here on), trained
    now if it has none and holds enough spans; None without one."""
    row = connection.execute("SELECT id FROM span_dicts ORDER BY id DESC LIMIT 1").fetchone()
    if row is not None:  # its bytes (64 KB) are read once a process, not at every step
        if not span_compression.knows(row[0]):
            span_compression.add_dictionaries(
                connection.execute("SELECT id, dict FROM span_dicts WHERE id = ?", row))
        return row[0] if span_compression.knows(row[0]) else None
    newest = connection.execute("SELECT max(rowid) FROM spans").fetchone()[0] or 0
    if newest < MIN_TRAINING_SPANS:  # rowids only grow: fewer spans than that (a cheap look)
        return None
    tried: int = connection.execute("SELECT dict_tried_at FROM compaction").fetchone()[0]
    if tried and newest < tried + RETRY_AFTER_SPANS:
        return None
    samples = [unpack(span) for (span,) in connection.execute(
        "SELECT span FROM spans WHERE span IS NOT NULL ORDER BY rowid DESC LIMIT ?",
        (TRAINING_SPANS,))]
    if len(samples) < MIN_TRAINING_SPANS:
        return None
    try:
        content = span_compression.train(samples)
    except (span_compression.zstd.ZstdError, ValueError):
        connection.execute("UPDATE compaction SET dict_tried_at = ?", (newest,))
        return None
    dict_id = span_compression.dictionary_id(content)
    connection.execute("INSERT OR REPLACE INTO span_dicts (id, dict) VALUES (?, ?)",
                       (dict_id, content))
    span_compression.add_dictionaries([(dict_id, content)])
    return dict_id


def give_back_pages(connection: sqlite3.Connection) -> bool:
    """Shrink the file by up to ``PAGES_PER_STEP`` of the pages compression freed (a store made
    with incremental auto-vacuum; another keeps them for the spans to come). True while more
    are left."""
    if connection.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:  # INCREMENTAL
        return False
    free: int = connection.execute("PRAGMA freelist_count").fetchone()[0]
    for _ in range(min(free, PAGES_PER_STEP)):  # sqlite3 steps the pragma once: one page a call
        connection.execute("PRAGMA incremental_vacuum(1)")
    return free > PAGES_PER_STEP

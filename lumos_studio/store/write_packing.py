"""Spans compressed as the writer stores them, once the store has its dictionary.

A span written as it came and compressed later (``compaction``, in idle time) costs its row
twice: ~8 µs of zstd, and ~11 µs to move the row to the table's end (its old pages empty out;
shrunk in place they would stay two-thirds empty), besides writing the raw bytes to the WAL and
the file first. Compressed before its first write, it costs the zstd alone (which runs without
the GIL; a batch's spans in one call, ``span_compression.pack_many``). ``bench ingest``,
interleaved against b9246cd: CPU 63–71 → 54–62 ms per 1k spans, durable ingest 58,000–69,000 →
48,000–57,000 spans/s (the writer's thread does more of the work), the whole load searchable
1.8–2.6 → 1.8–2.3 s after the last acknowledgement. So the writer compresses each span with the
store's dictionary (``span_compression``) in the transaction that stores it; the spans a store
gets before it has one (its first ~1,000, ``compaction.MIN_TRAINING_SPANS``) are compressed in
idle time, with the dictionary trained on them.

The dictionary is trained, or found, in a transaction of its own before a batch's: a batch
rolled back must not take with it a dictionary its spans were not the only ones to use.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

from lumos_studio.span_compression import pack_many
from lumos_studio.store.compaction import store_dictionary

__all__ = ["LOOK_EVERY_SPANS", "SpanPacker"]

log = logging.getLogger(__name__)

# Spans written between two looks for a dictionary while the store has none (a look is a few
# indexed reads; a training, ~0.1 s once, happens in one of them).
LOOK_EVERY_SPANS = 1_000


class SpanPacker:
    """The writer's: ``prepare`` before a batch's transaction, ``rows`` in it."""

    def __init__(self) -> None:
        self.dict_id: int | None = None
        self._next_look = 0  # ``written`` at which the store is next asked for a dictionary

    def prepare(self, connection: sqlite3.Connection, written: int) -> None:
        """Find or train the store's dictionary when due (its own transaction); a failure
        leaves the spans to be written as they came."""
        if self.dict_id is not None or written < self._next_look:
            return
        self._next_look = written + LOOK_EVERY_SPANS
        try:
            with connection:
                connection.execute("BEGIN IMMEDIATE")
                found = store_dictionary(connection)
        except sqlite3.Error as exc:  # a full disk, a busy store: the spans go as they came
            log.debug("no span dictionary this time: %s", exc)
            return
        except Exception:  # a store on disk is untrusted: its batch is written all the same
            log.exception("could not train or read the store's span dictionary")
            return
        self.dict_id = found

    def rows(self, rows: Sequence[tuple[Any, ...]]) -> Sequence[tuple[Any, ...]]:
        """``rows`` (``SPAN_COLUMNS`` order: the span's bytes last) with those bytes
        compressed, when the store has a dictionary."""
        dict_id = self.dict_id
        if dict_id is None:
            return rows
        try:
            packed = iter(pack_many([row[-1] for row in rows if row[-1]], dict_id))
        except Exception:  # never the batch's loss: it goes as it came, compaction retries
            log.exception("could not compress a batch's spans; they are stored as they came")
            return rows
        return [(*row[:-1], next(packed)) if row[-1] else row for row in rows]

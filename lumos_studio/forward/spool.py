"""A bounded queue on disk of what waits to be forwarded, so a collector that is down loses
nothing and a restarted studio sends what was left.

One SQLite file per target (WAL, ``synchronous=NORMAL``: a request survives the process being
killed, as the store's own records do). The bound is in bytes of request bodies: past it, a new
request is dropped and its records counted, never an older one (what was accepted first is sent
first). Bodies are kept as received; consecutive protobuf bodies of one signal are joined into one
request when taken (an OTLP export request is a single repeated field, so concatenated messages
parse as one holding them all).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

PROTOBUF = "application/x-protobuf"
DEFAULT_SPOOL_BYTES = 256 << 20
DEFAULT_BATCH_BYTES = 4 << 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS waiting (
    id INTEGER PRIMARY KEY,
    signal TEXT NOT NULL,
    media TEXT NOT NULL,
    records INTEGER NOT NULL,
    body BLOB NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Batch:
    """What one request sends: bodies of one signal and media, joined; ``ids`` to delete once
    the target took it."""

    signal: str
    media: str
    body: bytes
    records: int
    ids: tuple[int, ...]


class Spool:
    """The queue of one target. Thread-safe: receiver threads ``put``, the sender ``take``s."""

    def __init__(self, path: Path, *, limit_bytes: int = DEFAULT_SPOOL_BYTES) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.limit_bytes = limit_bytes
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute(_SCHEMA)
        size, records = self._connection.execute(
            "SELECT coalesce(sum(length(body)), 0), coalesce(sum(records), 0) FROM waiting"
        ).fetchone()
        self.queued_bytes: int = size
        self.queued_records: int = records
        self.dropped_records = 0
        self.has_work = threading.Event()
        if size:
            self.has_work.set()

    def put(self, signal: str, media: str, body: bytes, records: int) -> bool:
        """Queue one request's body; False (and counted as dropped) when it would pass the bound."""
        with self._lock:
            if self.queued_bytes + len(body) > self.limit_bytes:
                self.dropped_records += records
                return False
            self._connection.execute(
                "INSERT INTO waiting (signal, media, records, body) VALUES (?, ?, ?, ?)",
                (signal, media, records, body),
            )
            self.queued_bytes += len(body)
            self.queued_records += records
        self.has_work.set()
        return True

    def take(self, max_bytes: int = DEFAULT_BATCH_BYTES) -> Batch | None:
        """The oldest waiting request, joined with the protobuf ones after it of the same signal
        up to ``max_bytes``; None when nothing waits. Nothing leaves the queue until ``done``."""
        with self._lock:
            cursor = self._connection.execute(
                "SELECT id, signal, media, records, body FROM waiting ORDER BY id LIMIT 256"
            )
            rows = cursor.fetchmany(256)
            if not rows:
                self.has_work.clear()
                return None
        first_id, signal, media, records, body = rows[0]
        ids, bodies, size = [first_id], [body], len(body)
        if media == PROTOBUF:
            for row_id, row_signal, row_media, row_records, row_body in rows[1:]:
                if row_signal != signal or row_media != media or size + len(row_body) > max_bytes:
                    break
                ids.append(row_id)
                bodies.append(row_body)
                records += row_records
                size += len(row_body)
        return Batch(signal, media, b"".join(bodies), records, tuple(ids))

    def done(self, batch: Batch) -> None:
        """Remove a batch the target took (or refused for good)."""
        with self._lock:
            marks = ",".join("?" * len(batch.ids))
            self._connection.execute(f"DELETE FROM waiting WHERE id IN ({marks})", batch.ids)
            self.queued_bytes -= len(batch.body)
            self.queued_records -= batch.records

    def close(self) -> None:
        with self._lock:
            self._connection.close()

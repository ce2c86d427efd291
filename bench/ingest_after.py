"""After the acknowledgement (part of ``bench ingest``): until the load is searchable, the
receiver's CPU until it is idle again, and the bytes the load takes on disk; beside them, the
physical references: protobuf parsing alone, and plain SQLite storing the same spans.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from lumos_studio.store import StoreReader, TraceQuery
from lumos_studio.store.trace_filter import parse_filter

POLL_SECONDS = 0.25  # a search is ~20-80 ms of CPU: polling faster would slow the indexer
IDLE_CPU_SECONDS = 0.02  # less CPU than this in IDLE_WINDOW: the receiver is idle
IDLE_WINDOW = 0.5


def wait_until_searchable(db: Path, words: list[str], timeout: float = 120) -> float | None:
    """When the trace list's search (as the app runs it) first finds every one of ``words``
    (to ``POLL_SECONDS``: each word is searched for until found)."""
    deadline = time.perf_counter() + timeout
    reader = StoreReader(db)
    waiting = list(words)
    try:
        while waiting:
            waiting = [w for w in waiting
                       if not reader.find_traces(TraceQuery(parse_filter(w))).summaries]
            if not waiting:
                break
            if time.perf_counter() > deadline:
                return None
            time.sleep(POLL_SECONDS)
        return time.perf_counter()
    finally:
        reader.close()


def cpu_until_idle(cpu_seconds: Callable[[], float], timeout: float = 120) -> float:
    """The process's CPU seconds once it stops working (its idle tail left out)."""
    deadline = time.perf_counter() + timeout
    used = cpu_seconds()
    while time.perf_counter() < deadline:
        time.sleep(IDLE_WINDOW)
        now = cpu_seconds()
        if now - used < IDLE_CPU_SECONDS:
            return now
        used = now
    return used


@dataclass(frozen=True, slots=True)
class DiskUse:
    """The store's files after a checkpoint, and its largest tables and indexes."""

    total: int
    largest: list[tuple[str, int]]


def disk_use(db: Path) -> DiskUse:
    """Checkpoint (truncating the WAL), then the bytes of the database and WAL files."""
    connection = sqlite3.connect(db)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try:
            largest = connection.execute(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 6"
            ).fetchall()
        except sqlite3.OperationalError:  # SQLite built without dbstat
            largest = []
    finally:
        connection.close()
    total = sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    return DiskUse(total, [(str(name), int(size)) for name, size in largest])


@dataclass(frozen=True, slots=True)
class References:
    """What the machine does with the same spans without our code around it."""

    parse_spans_per_second: float  # ExportTraceServiceRequest.FromString alone
    sqlite_spans_per_second: float  # each span's bytes into a plain table, WAL, 1,000 a commit
    sqlite_bytes_per_span: float  # that table on disk
    wire_bytes_per_span: float
    zlib_bytes_per_span: float  # each span's protobuf bytes, zlib level 1


def references(bodies: list[bytes], spans_each: int) -> References:
    sample = bodies[:40]
    spans = len(sample) * spans_each
    started = time.perf_counter()
    requests = [ExportTraceServiceRequest.FromString(body) for body in sample]
    parse = time.perf_counter() - started
    rows = [
        (span.trace_id, span.span_id, span.SerializeToString())
        for request in requests
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    with tempfile.TemporaryDirectory(prefix="lumos-bench-sqlite-") as tmp:
        path = Path(tmp) / "plain.db"
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("CREATE TABLE spans (trace_id BLOB, span_id BLOB, body BLOB, "
                           "PRIMARY KEY (trace_id, span_id)) WITHOUT ROWID")
        started = time.perf_counter()
        for start in range(0, len(rows), 1_000):
            connection.execute("BEGIN")
            connection.executemany("INSERT INTO spans VALUES (?, ?, ?)",
                                   rows[start:start + 1_000])
            connection.execute("COMMIT")
        written = time.perf_counter() - started
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        size = path.stat().st_size
    return References(
        parse_spans_per_second=spans / parse,
        sqlite_spans_per_second=len(rows) / written,
        sqlite_bytes_per_span=size / len(rows),
        wire_bytes_per_span=sum(len(body) for body in sample) / spans,
        zlib_bytes_per_span=sum(len(zlib.compress(row[2], 1)) for row in rows) / len(rows),
    )

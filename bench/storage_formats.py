"""Candidate stored forms of a span, measured side by side: ``python -m bench.storage_formats``.

Why the store keeps a span as it does (``lumos_studio.records_codec``). For the realistic GenAI
load of ``bench.ingest`` (16–25 attributes, two ~1.1 KB messages, 2–3 events), each form is:

- made from a record (the in-process processor's and the OTLP/JSON receiver's path), and from a
  span that came as OTLP protobuf (the receiver's path: nothing, or compressing its bytes);
- written into a ``spans``-like table (the store's hot columns + the stored form, its 64 KB
  pages), WAL,
  ``synchronous=NORMAL``, 1,000 rows per transaction, as the store's writer does;
- measured on disk (bytes per span, the table and its key);
- read back: the rows of one 10,000-span trace, every span's attributes and events decoded.

CPU µs are the best of ``ROUNDS`` (this machine's speed varies run to run); the header prints the
load average. Through the real receiver, the chosen form is what ``python -m bench ingest``
measures.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from bench import python_loop_ms
from bench.ingest import genai_trace
from lumos_studio.otlp.proto_encode import encode_span
from lumos_studio.otlp.proto_span import decode_span_attributes, decode_span_events
from lumos_studio.records import SpanRecord
from lumos_studio.store.connection import PAGE_SIZE

try:  # the standard library's from Python 3.14, its backport before
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd

SPANS = 20_000
TRACE_SPANS = 10_000
ROUNDS = 3


@dataclass(frozen=True)
class Form:
    """One stored form: how a record and an OTLP span's bytes become it, and how it is read."""

    name: str
    from_record: Callable[[SpanRecord], Any]
    from_otlp: Callable[[bytes], Any]
    read: Callable[[Any], tuple[Any, Any]]


def _json(record: SpanRecord) -> str:
    events = [[e.name, e.time_ns, e.attributes] for e in record.events]
    return orjson.dumps([record.attributes, events]).decode()


def _json_from_otlp(otlp: bytes) -> str:
    attributes = decode_span_attributes(otlp)
    events = [[e.name, e.time_ns, e.attributes] for e in decode_span_events(otlp)]
    return orjson.dumps([attributes, events]).decode()


def _read_json(column: str) -> tuple[Any, Any]:
    attributes, events = orjson.loads(column)
    return attributes, events


def _read_otlp(column: bytes) -> tuple[Any, Any]:
    return decode_span_attributes(column), decode_span_events(column)


def _zlib(data: bytes) -> bytes:
    return zlib.compress(data, 1)


def _zstd(data: bytes) -> bytes:
    compressed: bytes = zstd.compress(data, 1)
    return compressed


FORMS = (
    Form("JSON text", _json, _json_from_otlp, _read_json),
    Form("OTLP Span protobuf", encode_span, lambda otlp: otlp, _read_otlp),
    Form("OTLP + zlib level 1", lambda r: _zlib(encode_span(r)), _zlib,
         lambda c: _read_otlp(zlib.decompress(c))),
    Form("OTLP + zstd level 1", lambda r: _zstd(encode_span(r)), _zstd,
         lambda c: _read_otlp(zstd.decompress(c))),
)

_TABLE = """CREATE TABLE spans (trace_id TEXT NOT NULL, span_id TEXT NOT NULL,
    parent_span_id TEXT, name TEXT NOT NULL, kind TEXT, start_ns INTEGER NOT NULL, end_ns INTEGER,
    status_code TEXT, operation TEXT, agent_name TEXT, model TEXT, tool_name TEXT,
    input_tokens INTEGER, output_tokens INTEGER, span BLOB, PRIMARY KEY (trace_id, span_id))"""


def _rows(records: list[SpanRecord], stored: list[Any]) -> list[tuple[Any, ...]]:
    rows = []
    for record, column in zip(records, stored, strict=True):
        get = record.attributes.get
        rows.append((
            record.trace_id, record.span_id, record.parent_span_id, record.name, record.kind,
            record.start_ns, record.end_ns, record.status_code, get("gen_ai.operation.name"),
            get("gen_ai.agent.name"), get("gen_ai.request.model"), get("gen_ai.tool.name"),
            get("gen_ai.usage.input_tokens"), get("gen_ai.usage.output_tokens"), column,
        ))
    return rows


def _write(path: Path, rows: list[tuple[Any, ...]]) -> float:
    """CPU seconds to write the rows, 1,000 per transaction; the file is left checkpointed."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute(f"PRAGMA page_size={PAGE_SIZE}")  # the store's
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(_TABLE)
    insert = f"INSERT INTO spans VALUES ({', '.join('?' * len(rows[0]))})"
    cpu = time.process_time()
    for start in range(0, len(rows), 1_000):
        connection.execute("BEGIN")
        connection.executemany(insert, rows[start : start + 1_000])
        connection.execute("COMMIT")
    cpu = time.process_time() - cpu
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return cpu


def _read_trace(path: Path, read: Callable[[Any], tuple[Any, Any]], trace_id: str) -> float:
    """Seconds to select one trace's rows and decode every span's attributes and events."""
    connection = sqlite3.connect(path)
    started = time.perf_counter()
    for (column,) in connection.execute("SELECT span FROM spans WHERE trace_id = ?", (trace_id,)):
        read(column)
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def _best(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        cpu = time.process_time()
        work()
        best = min(best, time.process_time() - cpu)
    return best


@dataclass(frozen=True)
class Figures:
    from_record_us: float
    from_otlp_us: float
    write_us: float
    bytes_per_span: float
    column_bytes: float
    read_trace_ms: float


def measure(form: Form, records: list[SpanRecord], otlp: list[bytes], tmp: Path) -> Figures:
    count = len(records)
    from_record = _best(lambda: [form.from_record(r) for r in records]) / count * 1e6
    from_otlp = _best(lambda: [form.from_otlp(o) for o in otlp]) / count * 1e6
    stored = [form.from_otlp(o) for o in otlp]
    size = sum(len(c) for c in stored) / count
    rows = _rows(records, stored)
    writes = []
    for attempt in range(ROUNDS):
        path = tmp / f"{form.name.replace(' ', '_')}-{attempt}.db"
        writes.append(_write(path, rows))
    on_disk = path.stat().st_size / count
    # One 10,000-span trace: the first TRACE_SPANS rows under one trace id.
    trace_id = "f" * 32
    big = [(trace_id, f"{n:016x}", *row[2:]) for n, row in enumerate(rows[:TRACE_SPANS])]
    trace_path = tmp / f"{form.name.replace(' ', '_')}-trace.db"
    _write(trace_path, big)
    read = min(_read_trace(trace_path, form.read, trace_id) for _ in range(ROUNDS))
    return Figures(from_record, from_otlp, min(writes) / count * 1e6, on_disk, size, read * 1e3)


def main(console: Console) -> None:
    rng = random.Random(7)
    start = time.time_ns()
    records = [
        span for t in range(SPANS // 20) for span in genai_trace(rng, f"{t + 1:032x}", start)
    ]
    otlp = [encode_span(r) for r in records]
    table = Table(
        title=f"{len(records):,} GenAI spans (bench.ingest's load), stored four ways; CPU "
        f"best of {ROUNDS}", title_justify="left", title_style="bold",
    )
    for column in ("stored form", "from a record µs", "from OTLP bytes µs", "write µs",
                   "column B", "on disk B/span", "read 10k-span trace ms"):
        table.add_column(column, justify="left" if column == "stored form" else "right")
    with tempfile.TemporaryDirectory(prefix="lumos-bench-formats-") as tmp:
        for form in FORMS:
            f = measure(form, records, otlp, Path(tmp))
            table.add_row(form.name, f"{f.from_record_us:.1f}", f"{f.from_otlp_us:.1f}",
                          f"{f.write_us:.1f}", f"{f.column_bytes:,.0f}",
                          f"{f.bytes_per_span:,.0f}", f"{f.read_trace_ms:.0f}")
    console.print(table)
    console.print(
        "[dim]from a record: the in-process processor's and the JSON receiver's conversion; "
        "from OTLP bytes: what the protobuf receiver adds to a span it keeps as it came; write: "
        "CPU of the inserting thread (SQLite's work), 1,000 rows a transaction; on disk: the "
        "checkpointed file (hot columns, key and the stored form)[/]"
    )


if __name__ == "__main__":
    console = Console(highlight=False, width=None if os.isatty(1) else 120)
    console.print(f"load {os.getloadavg()[0]:.2f} · a fixed Python loop: {python_loop_ms():.0f} ms")
    main(console)

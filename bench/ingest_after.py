"""After the acknowledgement (part of ``bench ingest``): until the load is searchable, the
receiver's CPU until it is idle again, and the bytes the load takes on disk; beside them, the
physical references: protobuf parsing alone, and plain SQLite storing the same spans.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench import insert_by_thousand, wal_connection
from lumos_studio import span_compression
from lumos_studio.ingest.proto_rows import decode_trace_rows
from lumos_studio.records_codec import SPAN_COLUMNS
from lumos_studio.store import StoreReader, TraceQuery
from lumos_studio.store.trace_filter import parse_filter
from lumos_studio.store.trace_index import stored_span_text

_SCOPE_NAME = SPAN_COLUMNS.index("scope_name")  # in a row of ``PendingRows.spans``
POLL_SECONDS = 0.25  # a search is ~3-80 ms of CPU: polling faster would slow the indexer
PEEK_SECONDS = 0.01  # a look into the full-text index between two searches
IDLE_CPU_SECONDS = 0.02  # less CPU than this in IDLE_WINDOW: the receiver is idle
IDLE_WINDOW = 0.5


def wait_until_searchable(db: Path, words: list[str], timeout: float = 120) -> float | None:
    """When the trace list's search (as the app runs it) first finds every one of ``words``.

    Searching every ``POLL_SECONDS`` alone measured to a quarter of a second: a search costs
    ~3–80 ms of CPU, and polling that faster slows the indexer it waits for. So a look into
    the full-text index (~0.1 ms) is taken every ``PEEK_SECONDS``; once it holds every word,
    the app's search is run, and the time is the look's if it finds them all (else the
    search goes on, each ``POLL_SECONDS``)."""
    deadline = time.perf_counter() + timeout
    reader = StoreReader(db)
    peek = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    waiting = list(words)
    next_search = time.perf_counter() + POLL_SECONDS
    try:
        while True:
            now = time.perf_counter()
            if now >= next_search or _indexed(peek, waiting):
                waiting = [w for w in waiting
                           if not reader.find_traces(TraceQuery(parse_filter(w))).summaries]
                if not waiting:
                    return now
                next_search = time.perf_counter() + POLL_SECONDS
            if now > deadline:
                return None
            time.sleep(PEEK_SECONDS)
    finally:
        peek.close()
        reader.close()


def _indexed(connection: sqlite3.Connection, words: list[str]) -> bool:
    """Whether the full-text index of message text holds each word (a hint: the search
    decides)."""
    return all(connection.execute(
        "SELECT EXISTS (SELECT 1 FROM trace_texts_fts WHERE trace_texts_fts MATCH ?)",
        (f'"{word}"',)).fetchone()[0] for word in words)


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
    # CPU ms per 1k spans of each part alone, the floor under the receiver's CPU figure:
    parse_cpu_ms: float  # the protobuf parse above
    sqlite_cpu_ms: float  # the plain table above, commits included
    fts_cpu_ms: float  # FTS5 (as the store's: contentless, no prefix index) indexing the text
    # FTS5 indexing as many texts of the same lengths in Zipf-distributed words, as people's
    # messages are: the load's messages repeat one sentence's 28 words, which index cheaper.
    fts_zipf_cpu_ms: float
    zstd_cpu_ms: float  # each span's bytes compressed as the writer does (``pack_many``)

    @property
    def floor_cpu_ms(self) -> float:
        return self.parse_cpu_ms + self.sqlite_cpu_ms + self.fts_cpu_ms + self.zstd_cpu_ms

    def ceiling_spans_per_second(self, cores: int) -> float:
        """Spans a second that ``cores`` fully busy could take at the floor: every part alone,
        nothing between them, no core ever idle. A durable rate beyond it is out of reach."""
        return cores * 1_000_000 / self.floor_cpu_ms if self.floor_cpu_ms else float("inf")


def references(bodies: list[bytes], spans_each: int) -> References:
    sample = bodies[:40]
    spans = len(sample) * spans_each
    started, cpu = time.perf_counter(), time.process_time()
    requests = [ExportTraceServiceRequest.FromString(body) for body in sample]
    parse, parse_cpu = time.perf_counter() - started, time.process_time() - cpu
    rows = [
        (span.trace_id, span.span_id, span.SerializeToString())
        for request in requests
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    with tempfile.TemporaryDirectory(prefix="lumos-bench-sqlite-") as tmp:
        path = Path(tmp) / "plain.db"
        connection = wal_connection(path)
        connection.execute("CREATE TABLE spans (trace_id BLOB, span_id BLOB, body BLOB, "
                           "PRIMARY KEY (trace_id, span_id)) WITHOUT ROWID")
        started, cpu = time.perf_counter(), time.process_time()
        insert_by_thousand(connection, "INSERT INTO spans VALUES (?, ?, ?)", rows)
        written, written_cpu = time.perf_counter() - started, time.process_time() - cpu
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        size = path.stat().st_size
        texts = [_texts(body) for body in sample]
        fts_cpu = _fts_alone(Path(tmp) / "fts.db", texts)
        fts_zipf_cpu = _fts_alone(Path(tmp) / "fts-zipf.db", zipf_like(texts))
    content = span_compression.train([row[2] for row in rows[:2_000]])
    dict_id = span_compression.dictionary_id(content)
    span_compression.add_dictionaries([(dict_id, content)])
    cpu = time.process_time()
    for start in range(0, len(rows), 500):  # a request's spans a call, as the writer packs
        span_compression.pack_many([row[2] for row in rows[start:start + 500]], dict_id)
    zstd_cpu = time.process_time() - cpu
    per_1k = 1e6 / spans
    return References(
        parse_spans_per_second=spans / parse,
        sqlite_spans_per_second=len(rows) / written,
        sqlite_bytes_per_span=size / len(rows),
        wire_bytes_per_span=sum(len(body) for body in sample) / spans,
        zlib_bytes_per_span=sum(len(zlib.compress(row[2], 1)) for row in rows) / len(rows),
        parse_cpu_ms=parse_cpu * per_1k,
        sqlite_cpu_ms=written_cpu * per_1k,
        fts_cpu_ms=fts_cpu * per_1k,
        fts_zipf_cpu_ms=fts_zipf_cpu * per_1k,
        zstd_cpu_ms=zstd_cpu * per_1k,
    )


def _fts_alone(path: Path, texts: list[list[str]]) -> float:
    """CPU seconds FTS5 alone takes to index requests' search texts (made beforehand, as the
    store's idle indexer makes them), a request a transaction."""
    connection = wal_connection(path)
    connection.execute("CREATE VIRTUAL TABLE texts USING fts5(text, content='', "
                       "tokenize='unicode61')")
    rowid = 0
    cpu = time.process_time()
    for request in texts:
        connection.execute("BEGIN")
        rows = []
        for text in request:
            rowid += 1
            rows.append((rowid, text))
        connection.executemany("INSERT INTO texts (rowid, text) VALUES (?, ?)", rows)
        connection.execute("COMMIT")
    used = time.process_time() - cpu
    connection.close()
    return used


ZIPF_WORDS = 8_000  # a vocabulary whose rank-frequency follows 1/rank, as a language's does


def zipf_like(requests: list[list[str]], seed: int = 11) -> list[list[str]]:
    """Texts as long as ``requests``' ones, of words drawn with Zipf's law from a made-up
    vocabulary (syllables, 1-4 each): in 2.3 KB, ~60 % of the words are distinct, as in prose,
    against ~7 % in the load's messages."""
    rng = random.Random(seed)
    syllables = [a + b for a in "bcdfghklmnprstvz" for b in "aeiou"]
    vocabulary = list(dict.fromkeys(
        "".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(ZIPF_WORDS * 2)
    ))[:ZIPF_WORDS]
    weights = list(itertools.accumulate(1 / rank for rank in range(1, len(vocabulary) + 1)))
    made = []
    for request in requests:
        texts = []
        for text in request:
            words = rng.choices(vocabulary, cum_weights=weights, k=max(len(text) // 6, 1))
            texts.append(" ".join(words)[:len(text)])
        made.append(texts)
    return made


def _texts(body: bytes) -> list[str]:
    """The search text of a request's spans that the store indexes (``trace_index``)."""
    pending = decode_trace_rows(body)
    rows = [pending.spans[key] for key in pending.facts.to_index]
    return [text for row in rows if (text := stored_span_text(row[-1], row[_SCOPE_NAME]))]

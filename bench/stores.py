"""Big stores for the query and UI benchmarks, built once through the real writer and cached.

A store of scale ``n`` holds ``n`` × 50,000 agent runs of 20 spans (``n`` million spans, with
messages to search), three big traces of 1,000, 10,000 and 100,000 spans (the newest traces: the
top of the trace list), and ``n`` million log records. Spans and big traces go through
``StoreWriter`` as fast as it takes them (flushed: committed and searchable); logs go through the
writer for the first 100,000 and are then copied in SQL with shifted times and ids (the writer
takes logs far slower than the copy, and the copies have the writer's row shape).

Stores live in ``.bench-cache/`` (``LUMOS_BENCH_CACHE`` to move it), named by a hash of the store
package's source, of the generators and ``CONTENT_VERSION``: a change to any builds them again;
older files of the same scale are removed. ``LUMOS_BENCH_SCALE=1,3,10`` picks the scales the
query benchmarks use. ``LUMOS_BENCH_UPGRADE=1`` opens an older cached store of the same scale
and content with the studio instead (its schema migrated, as a user's store is) when the store
package changed: minutes instead of the ×10 store's ~40 minute build.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from bench.corpus import T0, AgentRuns, generate_logs
from bench.ui_waterfall import generated_trace
from lumos_studio.store import Store
from lumos_studio.store.compaction import compact_pending, give_back_pages
from lumos_studio.store.connection import open_writer_connection
from lumos_studio.store.log_index import index_new_logs
from lumos_studio.store.schema import LOG_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
RUNS_PER_SCALE = 50_000  # × 20 spans: a million spans
LOGS_PER_SCALE = 1_000_000
LOGS_VIA_WRITER = 100_000
BIG_TRACES = (1_000, 10_000, 100_000)
CONTENT_VERSION = 1  # raise when what a store holds changes (the cache key includes it)
_SOURCES = (
    *sorted((ROOT / "lumos_studio" / "store").glob("*.py")),
    ROOT / "lumos_studio" / "records.py",
    ROOT / "bench" / "corpus.py",
    ROOT / "bench" / "ui_waterfall.py",
)


def big_trace_id(spans: int) -> str:
    """The id of the big trace of ``spans`` spans in every bench store."""
    return f"{spans:016x}".rjust(32, "b")


def scales() -> list[int]:
    """The store sizes (millions of spans and of logs) to measure: ``LUMOS_BENCH_SCALE``."""
    text = os.environ.get("LUMOS_BENCH_SCALE", "1")
    try:
        chosen = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise SystemExit(f"LUMOS_BENCH_SCALE={text!r}: give whole numbers, e.g. 1,3,10") from None
    return chosen or [1]


def cache_dir() -> Path:
    path = Path(os.environ.get("LUMOS_BENCH_CACHE", ROOT / ".bench-cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _source_key() -> str:
    digest = hashlib.sha256(f"{CONTENT_VERSION}".encode())
    for source in _SOURCES:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class BenchStore:
    """A cached store and what is in it; ``built_in`` is None when it came from the cache."""

    path: Path
    scale: int
    spans: int
    logs: int
    built_in: float | None

    @property
    def traces(self) -> int:
        return self.scale * RUNS_PER_SCALE + len(BIG_TRACES)

    def describe(self) -> str:
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*")
                   if p.suffix != ".json")
        if self.built_in is not None:
            origin = f"built in {self.built_in:.0f} s"
        else:
            try:
                built = json.loads(_note_path(self.path).read_text())
                origin = f"from the cache (built on {built['on']} in {built['seconds']:.0f} s"
                origin += f", upgraded on {built['upgraded']})" if "upgraded" in built else ")"
            except (OSError, ValueError, KeyError):
                origin = "from the cache"
        return (f"store ×{self.scale}: {self.spans:,} spans, {self.logs:,} logs, "
                f"{size / 1e9:.2f} GB, {origin}: {self.path}")


def bench_store(scale: int, console: Console) -> BenchStore:
    """The store of ``scale``, from the cache or built now (the build's rates are printed)."""
    name = f"store-x{scale}-{_source_key()}.db"
    path = cache_dir() / name
    spans = scale * RUNS_PER_SCALE * 20 + sum(BIG_TRACES)
    logs = scale * LOGS_PER_SCALE
    if path.exists():
        if _complete(path, spans, logs):
            return BenchStore(path, scale, spans, logs, None)
        console.print(f"[yellow]the cached {name} is incomplete (a build stopped or its files "
                      "removed while it ran): building it again[/]")
    if os.environ.get("LUMOS_BENCH_UPGRADE") == "1" and (older := _older_store(scale)):
        return _upgraded(older, path, scale, spans, logs, console)
    for stale in cache_dir().glob(f"store-x{scale}-*"):
        stale.unlink()
    building = path.with_name(name + ".building")
    _remove_files_of(building)
    console.print(f"building the ×{scale} store ({spans:,} spans, {logs:,} logs) in {building}…")
    began = time.perf_counter()
    _write_spans(building, scale, console)
    _write_logs(building, logs, console)
    finish_idle_work(building, console)
    built_in = time.perf_counter() - began
    building.rename(path)
    _remove_files_of(building)  # its -wal and -shm, left under the old name (all closed)
    _note_path(path).write_text(json.dumps(
        {"on": time.strftime("%Y-%m-%d %H:%M"), "seconds": round(built_in, 1),
         "content": CONTENT_VERSION}))
    store = BenchStore(path, scale, spans, logs, built_in)
    console.print(store.describe())
    return store


def _remove_files_of(building: Path) -> None:
    """A build's files: its database, its -wal and -shm."""
    for leftover in building.parent.glob(building.name + "*"):
        leftover.unlink(missing_ok=True)


def _complete(path: Path, spans: int, logs: int) -> bool:
    """Whether a cached store holds its spans and logs: rowids only grow, so a store holding
    ``spans`` spans has a rowid that high (read at once from each table's end)."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            highest: list[int] = [connection.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}")
                       .fetchone()[0] for table in ("spans", "logs")]
        finally:
            connection.close()
    except sqlite3.Error:
        return False
    return highest[0] >= spans and highest[1] >= logs


def _older_store(scale: int) -> Path | None:
    """A finished store of ``scale`` cached by other sources (of the same content version)."""
    for older in sorted(cache_dir().glob(f"store-x{scale}-*.db")):
        try:
            note = json.loads(_note_path(older).read_text())
        except (OSError, ValueError):
            continue
        if note.get("content", 1) == CONTENT_VERSION:
            return older
    return None


def _upgraded(older: Path, path: Path, scale: int, spans: int, logs: int,
              console: Console) -> BenchStore:
    """The older store, migrated by opening it with the studio, under the current name."""
    console.print(f"upgrading the cached ×{scale} store {older.name} (LUMOS_BENCH_UPGRADE=1)…")
    began = time.perf_counter()
    Store(older).close()
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{older}{suffix}").exists():
            Path(f"{older}{suffix}").rename(f"{path}{suffix}")
    note = json.loads(_note_path(older).read_text())
    _note_path(older).unlink()
    took = time.perf_counter() - began
    note["upgraded"] = f"{time.strftime('%Y-%m-%d %H:%M')} in {took:.0f} s"
    _note_path(path).write_text(json.dumps(note))
    console.print(f"  migrated in {took:.0f} s")
    return BenchStore(path, scale, spans, logs, None)


def _note_path(path: Path) -> Path:
    """Beside a cached store: when it was built and how long that took."""
    return path.with_name(path.name + ".json")


def _write_spans(path: Path, scale: int, console: Console) -> None:
    runs = AgentRuns()
    count = scale * RUNS_PER_SCALE
    with Store(path) as store:
        began = time.perf_counter()
        for number in range(count):
            store.writer.submit_many(runs.trace(number))
        newest = T0 + count * 10**9
        for offset, size in enumerate(BIG_TRACES):
            spans = generated_trace(size, trace_id=big_trace_id(size),
                                    start_ns=newest + (offset + 1) * 10**9)
            store.writer.submit_many(spans)
        if not store.writer.flush(24 * 3600):
            raise RuntimeError("the writer did not flush the bench store")
        took = time.perf_counter() - began
    written = count * 20 + sum(BIG_TRACES)
    console.print(f"  spans through StoreWriter: {written:,} in {took:.1f} s = "
                  f"{written / took:,.0f} spans/s (committed and their text searchable)")


def _write_logs(path: Path, total: int, console: Console) -> None:
    began = time.perf_counter()
    via_writer = min(total, LOGS_VIA_WRITER)
    with Store(path) as store:
        store.writer.submit_many(generate_logs(via_writer))
        store.writer.flush(3600)
    took = time.perf_counter() - began
    console.print(f"  logs through StoreWriter: {via_writer:,} in {took:.1f} s = "
                  f"{via_writer / took:,.0f} logs/s")
    connection = open_writer_connection(path)
    try:
        grow_logs(connection, total, console)
        began = time.perf_counter()
        with connection:
            connection.execute("BEGIN")
            index_new_logs(connection)
        console.print(f"  FTS5 index of {total:,} logs filled in "
                      f"{time.perf_counter() - began:.1f} s (index_new_logs)")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def finish_idle_work(path: Path, console: Console) -> None:
    """Do now what a writer would do in its idle time (compress the stored spans, give back the
    pages that frees) and empty the write-ahead log: left to the first studio that opens the
    store, it compressed 1.1M spans while the benchmarks measured it (a 3 GB WAL, 514 MB RSS
    and first paints ~250 ms slower in the run after a build)."""
    began = time.perf_counter()
    connection = open_writer_connection(path)
    try:
        while True:
            with connection:
                connection.execute("BEGIN IMMEDIATE")
                if compact_pending(connection, 20_000) < 20_000:
                    break
        while True:
            with connection:
                connection.execute("BEGIN IMMEDIATE")
                if not give_back_pages(connection):
                    break
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    console.print(f"  spans compressed, pages given back in {time.perf_counter() - began:.1f} s")


def grow_logs(connection: sqlite3.Connection, total: int, console: Console) -> None:
    """Copy the logs until there are ``total``: later times, other ids, same shape.

    The log indexes are dropped during the copy and built again after (sorted builds are faster
    than millions of random inserts); the queries then see exactly the schema's indexes.
    """
    started = time.perf_counter()
    indexes = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'logs' "
        "AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        connection.execute(f"DROP INDEX {name}")
    columns = ", ".join(LOG_COLUMNS)
    copy = {  # copy k: later times, other trace/span ids, its own fingerprints
        "fingerprint": "-(id + :k * :base)",
        "time_ns": "time_ns + :k * :span",
        "trace_id": "substr(trace_id, 1, 28) || printf('%04x', :k)",
        "span_id": "substr(span_id, 1, 12) || printf('%04x', :k)",
    }
    shifted = ", ".join(copy.get(c, c) for c in LOG_COLUMNS)
    low, high = connection.execute("SELECT min(time_ns), max(time_ns) FROM logs").fetchone()
    base = connection.execute("SELECT max(id) FROM logs").fetchone()[0]
    k = 1
    while (rows := connection.execute("SELECT count(*) FROM logs").fetchone()[0]) < total:
        with connection:
            connection.execute("BEGIN")
            connection.execute(
                f"INSERT INTO logs ({columns}) SELECT {shifted} FROM logs "
                f"WHERE id <= :base LIMIT :room",
                {"k": k, "span": high - low + 1_000_000, "base": base, "room": total - rows},
            )
        k += 1
    copied = time.perf_counter() - started
    for _, sql in indexes:
        connection.execute(sql)
    console.print(
        f"  grown to {rows:,} logs by SQL copies in {copied:.1f} s, "
        f"indexes rebuilt in {time.perf_counter() - started - copied:.1f} s"
    )

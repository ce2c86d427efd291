"""The shared store on PostgreSQL beside SQLite: ingest with 1 and 3 ``serve`` processes into one
database, and the trace list's queries on a million spans.

Ingest: the ingest bench's GenAI load (protobuf, ``BATCH_SPANS`` a request, ``CLIENTS``
keep-alive clients per receiver) into a fresh store each: one ``serve`` on a SQLite file, one
on a PostgreSQL database, three on the same database (the load split between them, sent at
once); then, once, the same load as one live trace into one ``serve``. The figure is spans
acknowledged (durable) per second, first send to last answer.

Trace list: the 1M-span SQLite bench store (``bench.stores``) is copied into PostgreSQL with COPY
(spans, traces, and the message text made from the spans; not the logs), once: the cluster
lives in the cache (``pg-x1-…``) and is started again on later runs. Each query is run on both
through the studio's readers, median of three: the page the list shows, and, when it came
without its total ("≥ 500 matches, counting…": a word in most runs' texts, a filter whose count
reads every run), the total counted after it (``count_matches``), as ``bench/trace_list.py``
times them.

The cluster is a throwaway one on this machine (``tests/postgres_cluster.py``): fsync off, as a
test server; a team's server with fsync on writes slower. ``LUMOS_BENCH_PG_SQLITE`` names a
SQLite bench store to copy from (read only) instead of ``bench_store(1)``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import check
from bench.ingest import BATCH_SPANS, Sent, encoded_batches, one_trace, send_all, start_serve
from bench.stores import cache_dir
from bench.trace_list import TARGET_COUNT_MS
from lumos_studio import span_compression
from lumos_studio.records_codec import SPAN_COLUMNS
from lumos_studio.store import StoreReader, TraceQuery, parse_target
from lumos_studio.store.trace_filter import parse_filter
from tests.postgres_cluster import Cluster, ClusterUnavailable, start_cluster

REQUESTS = 60  # × BATCH_SPANS = 30,000 spans a configuration
SEND_SECONDS = 300.0
ROUNDS = 3
# Targets: one PostgreSQL receiver keeps up with a busy team's agents; three share its work
# (each transaction locks its traces, not the table), so together they take more.
TARGET_PG_ONE_SPANS_PER_SECOND = 10_000
TARGET_PG_THREE_SPANS_PER_SECOND = 12_000
TARGET_QUERY_MS = 300.0  # the page of every trace-list query, on both engines
CASES: tuple[tuple[str, str, dict[str, object]], ...] = (
    ("sort: newest", "", {}),
    ("sort: slowest", "", {"sort": "slowest"}),
    ("sort: tokens", "", {"sort": "tokens"}),
    ("grouped by thread", "", {"grouped": True}),
    ("search 'agent:weather'", "agent:weather", {}),
    ("search 'status:error'", "status:error", {}),
    ("search 'paris'", "paris", {}),
    ("search 'pari'", "pari", {}),
    ("search 'paris london'", "paris london", {}),
    ("search 'w12'", "w12", {}),
    ("search 'w123'", "w123", {}),
    ("search 'w123 status:error'", "w123 status:error", {}),
)


# ------------------------------------------------------------------------------------ ingest


def _ingest(targets: list[str], bodies: list[bytes]) -> tuple[float, Sent]:
    """Spans/s acknowledged by ``serve`` processes on ``targets`` (one each), the load split
    between them and sent at once."""
    served = [start_serve(target) for target in targets]
    results: list[Sent] = []
    try:
        shares = [bodies[k::len(served)] for k in range(len(served))]
        threads = [threading.Thread(target=lambda s=s, b=b: results.append(
            send_all(s.endpoint, b, SEND_SECONDS))) for s, b in zip(served, shares, strict=True)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = max(r.last_ack for r in results) - began
    finally:
        for process in served:
            process.stop()
    total = Sent(spans=sum(r.spans for r in results), failures=sum(r.failures for r in results),
                 retries=sum(r.retries for r in results))
    return total.spans / elapsed if elapsed > 0 else 0.0, total


def ingest_table(cluster: Cluster) -> Table:
    bodies, _ = encoded_batches(REQUESTS)
    spans = REQUESTS * BATCH_SPANS
    table = Table(title=f"ingest into one store: {spans:,} spans a round, median of {ROUNDS} "
                  "(spans/s acknowledged)", title_justify="left", title_style="bold")
    for column in ("store", "receivers", "spans/s", "target", ""):
        table.add_column(column, justify="left" if column == "store" else "right")
    rates: dict[str, list[float]] = {"sqlite": [], "pg1": [], "pg3": []}
    with tempfile.TemporaryDirectory(prefix="lumos-bench-pg-") as tmp:
        for round_number in range(ROUNDS):  # interleaved: the same load for each, in turn
            rates["sqlite"].append(_ingest([str(Path(tmp) / f"s{round_number}.db")], bodies)[0])
            url = cluster.create_database(f"bench_one_{round_number}")
            rates["pg1"].append(_ingest([url], bodies)[0])
            url = cluster.create_database(f"bench_three_{round_number}")
            rate, sent = _ingest([url] * 3, bodies)
            rates["pg3"].append(rate if sent.failures == 0 else 0.0)
        # The same load as one live trace (``ingest.one_trace``): each request adds to it.
        url = cluster.create_database("bench_one_trace")
        one_trace_rate, sent = _ingest([url], one_trace(bodies))
    sqlite_rate = statistics.median(rates["sqlite"])
    table.add_row("SQLite", "1", f"{sqlite_rate:,.0f}", "", "")
    for key, receivers, target in (("pg1", 1, TARGET_PG_ONE_SPANS_PER_SECOND),
                                   ("pg3", 3, TARGET_PG_THREE_SPANS_PER_SECOND)):
        rate = statistics.median(rates[key])
        table.add_row("PostgreSQL", str(receivers), f"{rate:,.0f}", f"≥ {target:,}",
                      check(f"PostgreSQL ingest, {receivers} serve process(es) into one database",
                            rate, target, "spans/s", higher_is_better=True))
    table.add_row("PostgreSQL, one live trace", "1",
                  f"{one_trace_rate if sent.failures == 0 else 0.0:,.0f}",
                  f"≥ {TARGET_PG_ONE_SPANS_PER_SECOND:,}",
                  check("PostgreSQL ingest, the load as one live trace, 1 serve process",
                        one_trace_rate if sent.failures == 0 else 0.0,
                        TARGET_PG_ONE_SPANS_PER_SECOND, "spans/s", higher_is_better=True))
    return table


# -------------------------------------------------------------------------- the 1M-span copy


def _sqlite_source(console: Console) -> Path:
    given = os.environ.get("LUMOS_BENCH_PG_SQLITE")
    if given:
        return Path(given)
    from bench.stores import bench_store

    return bench_store(1, console).path


def _schema_key(source: Path) -> str:
    """The copy's cache key: the SQLite store it came from and the PostgreSQL schema version."""
    from lumos_studio.store.postgres.schema import SCHEMA_VERSION

    digest = hashlib.sha256(f"{source.name} schema {SCHEMA_VERSION}".encode())
    return digest.hexdigest()[:12]


def _remove_older_copies(kept: Path) -> None:
    """Copies of older SQLite stores (~2.5 GB each): a change to the store's code names a new
    source store, and each copy stayed behind until the disk filled."""
    for older in kept.parent.glob("pg-x1-*"):
        if older != kept and older.is_dir():
            shutil.rmtree(older, ignore_errors=True)


def bulk_load(source: Path, url: str, console: Console) -> float:
    """Copy the SQLite store at ``source`` (read only) into the empty store at ``url``."""
    import psycopg

    from lumos_studio.store import Store
    from lumos_studio.store.postgres.others import OwnRows
    from lumos_studio.store.postgres.writer import _index_texts

    began = time.perf_counter()
    Store.open(parse_target(url)).close()  # the schema
    lite = sqlite3.connect(f"file:{source}?immutable=1", uri=True)
    with contextlib.suppress(sqlite3.OperationalError):  # a store from before schema 11
        span_compression.add_dictionaries(lite.execute("SELECT id, dict FROM span_dicts"))
    with psycopg.connect(url) as connection:
        for table, columns in (("spans", SPAN_COLUMNS), ("traces", _TRACE_COLUMNS)):
            names = ", ".join(columns)
            with connection.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in lite.execute(f"SELECT {names} FROM {table}"):
                    if table == "spans" and row[-1]:  # SQLite's dictionary stays in SQLite
                        row = (*row[:-1], span_compression.unpack(row[-1]))
                    copy.write_row(row)
            console.print(f"  copied {table} ({time.perf_counter() - began:.0f} s)")
        keys = lite.execute(
            "SELECT trace_id, span_id FROM spans WHERE end_ns IS NOT NULL AND (operation IN "
            "('chat', 'invoke_agent', 'text_completion', 'generate_content', 'invoke_workflow') "
            "OR parent_span_id IS NULL)").fetchall()
        cursor = connection.cursor()
        loaded = OwnRows()  # no writer here hears others' commits: the count goes unread
        for start in range(0, len(keys), 2_000):
            _index_texts(cursor, keys[start : start + 2_000], loaded)
        connection.execute("ANALYZE")
    lite.close()
    console.print(f"  made the message text of {len(keys):,} spans "
                  f"({time.perf_counter() - began:.0f} s)")
    return time.perf_counter() - began


_TRACE_COLUMNS = ("trace_id", "root_name", "agent_name", "service_name", "start_ns", "end_ns",
                  "span_count", "error_count", "running_count", "input_tokens", "output_tokens",
                  "conversation_id", "agents", "models", "tools", "pinned_ns")


@dataclass(frozen=True, slots=True)
class Listed:
    """A case on one engine: the page's median time, and the total's when the page came
    without it (``counted`` False: shown "≥ 500 matches, counting…", then ``count_matches``)."""

    page_ms: float
    shown: str
    count_ms: float | None = None


def _listed(reader: StoreReader, text: str, options: dict[str, object]) -> Listed:
    times, counts, shown = [], [], ""
    for _ in range(ROUNDS):
        began = time.perf_counter()
        page = reader.find_traces(TraceQuery(parse_filter(text), **options))  # type: ignore[arg-type]
        times.append(time.perf_counter() - began)
        total = page.total
        if not page.counted:
            began = time.perf_counter()
            total = reader.count_matches(page.query)
            counts.append(time.perf_counter() - began)
        shown = f"{len(page.summaries)} / {total:,}"
    return Listed(statistics.median(times) * 1000, shown,
                  statistics.median(counts) * 1000 if counts else None)


def query_table(source: Path, url: str) -> Table:
    from lumos_studio.store.postgres.reader import PostgresReader

    readers = {"SQLite": StoreReader(source),
               "PostgreSQL": PostgresReader(parse_target(url))}  # type: ignore[arg-type]
    table = Table(title=f"trace list on the 1M-span store, median of {ROUNDS} (ms: each engine's "
                  f"page, target ≤ {TARGET_QUERY_MS:.0f}; 'total': counting a page that came "
                  f"without it, ≤ {TARGET_COUNT_MS:.0f})", title_justify="left",
                  title_style="bold")
    columns = [(engine, part) for engine in readers for part in ("page", "total")]
    table.add_column("query", no_wrap=True)
    for column in ("rows", *(engine if part == "page" else part for engine, part in columns), ""):
        table.add_column(column, justify="right")
    slowest = {(engine, part): ("", 0.0) for engine in readers for part in ("page", "total")}
    try:
        for label, text, options in CASES:
            listed = {engine: _listed(reader, text, options) for engine, reader in readers.items()}
            cells: list[str] = []
            for engine, found in listed.items():
                slowest[engine, "page"] = max(slowest[engine, "page"], (label, found.page_ms),
                                              key=lambda p: p[1])
                cells.append(f"{found.page_ms:.0f}")
                if found.count_ms is None:
                    cells.append("")
                    continue
                slowest[engine, "total"] = max(slowest[engine, "total"], (label, found.count_ms),
                                               key=lambda p: p[1])
                cells.append(f"{found.count_ms:.0f}")
            lite, pg = listed["SQLite"].shown, listed["PostgreSQL"].shown
            table.add_row(label, lite if lite == pg else f"{lite} vs {pg}", *cells, "")
    finally:
        for reader in readers.values():
            reader.close()
    for (engine, part), (label, ms) in slowest.items():
        if not label:
            continue
        target = TARGET_QUERY_MS if part == "page" else TARGET_COUNT_MS
        what = "page" if part == "page" else "total counted after its page"
        cells = [f"{ms:.0f}" if column == (engine, part) else "" for column in columns]
        table.add_row(f"slowest {part} on {engine}", label, *cells,
                      check(f"trace list on {engine}, the slowest {what} of {len(CASES)} "
                            f"queries ({label}), 1M spans", ms, target))
    return table


def main(console: Console) -> None:
    try:
        cluster = start_cluster()
    except ClusterUnavailable as exc:
        console.print(f"[yellow]skipped: {exc}[/]")
        return
    try:
        console.print(ingest_table(cluster))
    finally:
        cluster.stop()
    source = _sqlite_source(console)
    kept = cache_dir() / f"pg-x1-{_schema_key(source)}"
    built = (kept / "loaded").exists()
    if not built:
        _remove_older_copies(kept)
    cluster = start_cluster(keep=kept)
    try:
        url = cluster.url("bench_1m")
        if not built:
            console.print(f"copying {source.name} into PostgreSQL in {kept} (once)…")
            cluster.create_database("bench_1m")
            seconds = bulk_load(source, url, console)
            (kept / "loaded").write_text(f"{seconds:.0f} s\n")
        console.print(query_table(source, url))
    finally:
        cluster.stop()

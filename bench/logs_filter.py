"""Filtering a million log records: count + first window per filter, the issue's "feels instant".

The store is built through the real ``StoreWriter`` (its write rate is reported), then grown to
1,000,000 rows by copying them in SQL with shifted times and ids, so the bench stays under a
minute on two cores; ``LUMOS_BENCH_LOGS_VIA_WRITER=1000000`` writes them all through the writer.
The full-text index is filled by ``schema.index_new_logs`` (what the writer calls per batch).
Each query runs on a fresh read-only connection, as a pane's worker does: count, then the
window a view shows first (the newest 40 lines), against 100 ms.

Also measured, on a small store: keeping FTS5 in sync with a per-row trigger vs one
``INSERT ... SELECT`` per writer batch (why the schema does the latter).
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lumos_studio.records import LogRecord
from lumos_studio.records_codec import log_row
from lumos_studio.store import Store
from lumos_studio.store.connection import open_reader_connection, open_writer_connection
from lumos_studio.store.log_filter import LogFilter
from lumos_studio.store.log_queries import (
    LogMatches,
    fetch_window,
    match_logs,
    newest_matches,
    position_at,
    update_matches,
)
from lumos_studio.store.schema import LOG_COLUMNS, _fts_columns, ensure_schema, index_new_logs

TOTAL = 1_000_000
VIA_WRITER = int(os.environ.get("LUMOS_BENCH_LOGS_VIA_WRITER", "100000"))
TARGET_MS = 100.0  # count + first window, "feels instant"
WINDOW = 40  # lines a logs pane shows at once
T0 = 1_764_000_000_000_000_000

LEVELS = ((5, "DEBUG", 30), (9, "INFO", 50), (13, "WARN", 12), (17, "ERROR", 7), (21, "FATAL", 1))
LOGGERS = (
    "app.agent", "app.tools", "app.memory", "app.http", "app.db", "app.cache", "app.rag",
    "httpx", "openai", "lumos_core.agent", "worker.output",
)
SERVICES = ("studio", "weather-agent", "billing-api")
WORDS = (
    "request", "user", "session", "token", "cache", "miss", "hit", "retry", "timeout",
    "connection", "refused", "accepted", "query", "embedding", "vector", "document", "chunk",
    "model", "prompt", "completion", "stream", "tool", "call", "result", "weather", "paris",
    "london", "tokyo", "berlin", "budget", "invoice", "payment", "failed", "succeeded", "queued",
    "worker", "thread", "lock", "acquired", "released", "memory", "updated", "deleted", "created",
    "loaded", "saved",
)


def generate(count: int, seed: int = 7) -> Iterator[LogRecord]:
    """Logs like a busy agent service's: 70 % in spans (5 per span), mixed levels and loggers."""
    rng = random.Random(seed)
    weights = [w for *_, w in LEVELS]
    levels = rng.choices(LEVELS, weights, k=count)
    trace_id = span_id = None
    time_ns = T0
    for i in range(count):
        if i % 20 == 0:
            inside = rng.random() < 0.7
            trace_id = f"{rng.getrandbits(128):032x}" if inside else None
        if i % 5 == 0:
            span_id = f"{rng.getrandbits(64):016x}" if trace_id else None
        number, text, _ = levels[i]
        words = " ".join(rng.choices(WORDS, k=rng.randint(4, 14)))
        body = f"{words} id={rng.randint(0, 99_999)} took {rng.random() * 100:.1f}ms"
        attributes = (
            {"code.function": rng.choice(WORDS), "code.lineno": rng.randint(1, 900)}
            if i % 2
            else {}
        )
        time_ns += rng.randint(1, 2_000_000)
        yield LogRecord(
            time_ns, body, number, text, trace_id, span_id, attributes=attributes,
            resource={"service.name": SERVICES[i % 3]}, scope_name=LOGGERS[i % len(LOGGERS)],
        )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def _within(seconds: float) -> str:
    return "[bold green]PASS[/]" if seconds * 1000 <= TARGET_MS else "[bold red]BELOW[/]"


def _build(path: Path, console: Console) -> None:
    started = time.perf_counter()
    with Store(path) as store:
        store.writer.submit_many(generate(VIA_WRITER))
        store.writer.flush(600)
        elapsed = time.perf_counter() - started
        written = store.writer.logs_written
    console.print(
        f"StoreWriter: {written:,} logs in {elapsed:.1f} s = "
        f"[bold]{written / elapsed:,.0f} logs/s[/] (generated, converted, 7 indexes)"
    )
    connection = open_writer_connection(path)
    try:
        _grow(connection, console)
        started = time.perf_counter()
        with connection:
            connection.execute("BEGIN")
            index_new_logs(connection)
        took = time.perf_counter() - started
        console.print(f"FTS5 index of {TOTAL:,} logs filled in {took:.1f} s (index_new_logs)")
    finally:
        connection.close()


def _grow(connection: sqlite3.Connection, console: Console) -> None:
    """Copy the rows until there are ``TOTAL``: later times, other ids, same shape.

    The log indexes are dropped during the copy and built again after (sorted builds are faster
    than a million random inserts); the queries then see exactly the schema's indexes.
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
    while (rows := connection.execute("SELECT count(*) FROM logs").fetchone()[0]) < TOTAL:
        with connection:
            connection.execute("BEGIN")
            connection.execute(
                f"INSERT INTO logs ({columns}) SELECT {shifted} FROM logs "
                f"WHERE id <= :base LIMIT :room",
                {"k": k, "span": high - low + 1_000_000, "base": base, "room": TOTAL - rows},
            )
        k += 1
    copied = time.perf_counter() - started
    for _, sql in indexes:
        connection.execute(sql)
    console.print(
        f"Grown to {rows:,} logs by SQL copies in {copied:.1f} s, "
        f"indexes rebuilt in {time.perf_counter() - started - copied:.1f} s"
    )


def _reader(path: Path) -> sqlite3.Connection:
    connection = open_reader_connection(path)
    connection.row_factory = None
    return connection


Scenario = tuple[str, LogFilter]


def _scenarios(path: Path) -> list[Scenario]:
    connection = _reader(path)
    trace_id, span_id = connection.execute(
        "SELECT trace_id, span_id FROM logs WHERE span_id IS NOT NULL LIMIT 1 OFFSET 500000"
    ).fetchone()
    connection.close()
    return [
        ("no filter", LogFilter()),
        ("level ≥ ERROR", LogFilter(min_severity=17)),
        ("level ≥ WARN, logger app.db", LogFilter(min_severity=13, loggers=frozenset({"app.db"}))),
        ("text: timeout (common word)", LogFilter(text="timeout")),
        ("text: connection refused", LogFilter(text="connection refused")),
        ("text: 12345 (rare)", LogFilter(text="12345")),
        ("text as typed: tim", LogFilter(text="tim")),
        ("regex: timeout \\w+ refused", LogFilter(regex=r"timeout \w+ refused")),
        ("regex, no word: took 9\\d\\.5ms", LogFilter(regex=r"took 9\d\.5ms")),
        ("logs of one span", LogFilter(trace_id=trace_id, span_id=span_id)),
        ("logs of one trace", LogFilter(trace_id=trace_id)),
    ]


def _timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _query_table(path: Path, console: Console) -> None:
    table = Table(title=f"Filtering {TOTAL:,} logs (ms)", title_justify="left", title_style="bold")
    for column in ("filter", "matches", "count", "first window", "count + window", "goal",
                   "middle window", "jump to time"):
        table.add_column(column, justify="left" if column == "filter" else "right")
    for label, log_filter in _scenarios(path):
        connection = _reader(path)
        counted, matches = _timed(lambda f=log_filter, c=connection: match_logs(c, f))
        assert isinstance(matches, LogMatches)
        first, _ = _timed(lambda m=matches, c=connection: fetch_window(
            c, m, max(0, m.count - WINDOW), WINDOW))
        middle, _ = _timed(lambda m=matches, c=connection: fetch_window(
            c, m, m.count // 2, WINDOW))
        jump, _ = _timed(lambda m=matches, c=connection: position_at(
            c, m, T0 + 500_000_000_000))
        connection.close()
        table.add_row(
            label, f"{matches.count:,}", _ms(counted), _ms(first), _ms(counted + first),
            _within(counted + first), _ms(middle), _ms(jump),
        )
    console.print(table)
    for label, log_filter in _scenarios(path):
        if log_filter.regex:  # what the pane paints while the count is still running
            connection = _reader(path)
            took, first = _timed(lambda f=log_filter, c=connection: newest_matches(c, f, WINDOW))
            assert isinstance(first, LogMatches)
            shown, _ = _timed(lambda m=first, c=connection: fetch_window(c, m, 0, WINDOW))
            connection.close()
            console.print(
                f"{label}: newest {first.count} matches before counting in "
                f"{_ms(took + shown)} ms {_within(took + shown)}"
            )


def _live_refresh(path: Path, console: Console) -> None:
    """A following view's refresh: 100 new logs, then ``update_matches`` + the new tail."""
    connection = _reader(path)
    matches = match_logs(connection, LogFilter(text="timeout"))
    with Store(path) as store:
        store.writer.submit_many(
            LogRecord(T0 * 2 + i, f"late timeout {i}", 9, "INFO") for i in range(100)
        )
        store.writer.flush()
        writer = open_writer_connection(path)
        with writer:
            writer.execute("BEGIN")
            index_new_logs(writer)
        writer.close()
    took, updated = _timed(lambda: update_matches(connection, matches))
    assert isinstance(updated, LogMatches)
    window, _ = _timed(lambda: fetch_window(connection, updated, updated.count - WINDOW, WINDOW))
    connection.close()
    console.print(
        f"Live refresh (text filter, +{updated.count - matches.count} matches): update "
        f"{_ms(took)} ms + tail window {_ms(window)} ms"
    )


def _sync_comparison(console: Console, count: int = 10_000) -> None:
    """Per-row trigger vs one INSERT ... SELECT per batch, writing the same rows."""
    rows = [log_row(r) for r in generate(count, seed=3)]
    insert = (f"INSERT OR IGNORE INTO logs ({', '.join(LOG_COLUMNS)}) "
              f"VALUES ({', '.join('?' * len(LOG_COLUMNS))})")
    rates = {}
    for label in ("no FTS", "trigger per row", "writer per batch"):
        with tempfile.TemporaryDirectory(prefix="lumos-bench-") as tmp:
            connection = open_writer_connection(Path(tmp) / "s.db")
            ensure_schema(connection)
            if label == "trigger per row":
                connection.execute(
                    "CREATE TRIGGER bench_fts AFTER INSERT ON logs BEGIN INSERT INTO logs_fts"
                    f"(rowid, body, extra) VALUES (new.id, {_fts_columns('new')}); END"
                )
            started = time.perf_counter()
            for start in range(0, count, 1_000):
                with connection:
                    connection.execute("BEGIN")
                    connection.executemany(insert, rows[start : start + 1_000])
                    if label == "writer per batch":
                        index_new_logs(connection)
            rates[label] = count / (time.perf_counter() - started)
            connection.close()
    console.print(
        "FTS5 sync, logs/s written: "
        + " · ".join(f"{label} [bold]{rate:,.0f}[/]" for label, rate in rates.items())
    )


def main(console: Console) -> None:
    with tempfile.TemporaryDirectory(prefix="lumos-bench-") as tmp:
        path = Path(tmp) / "logs.db"
        _build(path, console)
        console.print(f"Querying: {len(_scenarios(path))} filters…")
        _query_table(path, console)
        _live_refresh(path, console)
    _sync_comparison(console)
    console.print(
        f"[dim]Goal: count + first window ≤ {TARGET_MS:.0f} ms. Middle window: a scrollbar jump "
        "to the middle; jump to time: the position of the log nearest a time.[/]"
    )

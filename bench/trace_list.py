"""The trace list's queries on stores of 1M spans (3M and 10M with ``LUMOS_BENCH_SCALE``), and
the studio's memory with such a store open.

The stores come from ``bench.stores`` (built once through the real ``StoreWriter`` and cached:
50,000 agent runs of 20 spans per million, with messages, conversation ids, 5 % errors). Then:

- each sort, qualifier and text search of the trace list, as the list's worker runs it, on a
  fresh read-only connection each round, the median of 3 rounds against 100 ms: the page the
  list shows; when it came uncounted ("≥ 500 matches, counting…": a word in most message
  texts, a filter whose count reads every run), the total counted after it by the same worker
  (``count_matches``), against 500 ms; beside the
  searches and sorts, what SQLite alone does for the same rows (the FTS5 index counting the
  words' matches; the ordered index read of a page and the count) — "n/a" when the schema no
  longer has the table the reference reads;
- the studio's peak RSS (``VmHWM``) in a subprocess that opens the studio on the ×1 store,
  lists the traces, opens the newest agent run (below the big traces) and scrolls its tree,
  next to the same on an empty store, against 150 MB.

At scale 10 the store takes about 40 minutes to build on two cores (once; then it is cached).
"""

from __future__ import annotations

import functools
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import check, verdict
from bench.stores import bench_store, scales
from lumos_studio.store import Store, StoreReader, TracePage, TraceQuery
from lumos_studio.store.trace_filter import parse_filter

TARGET_MS = 100.0
TARGET_COUNT_MS = 500.0  # the total of an uncounted page, shown a moment after it
TARGET_RSS_MB = 150.0
ROUNDS = 3

# What SQLite alone does for the same rows: the query a case's reference runs (None: none).
_REFERENCES: dict[str, str] = {
    "sort: newest": "SELECT * FROM traces ORDER BY start_ns DESC LIMIT 500",
    "grouped by thread": "SELECT conversation_id, max(start_ns), count(*) FROM traces "
                         "GROUP BY conversation_id ORDER BY 2 DESC LIMIT 500",
    "count every trace": "SELECT count(*) FROM traces",
    "search 'paris'": "SELECT count(*) FROM trace_texts_fts WHERE trace_texts_fts MATCH 'paris'",
    "search 'paris london'": "SELECT count(*) FROM trace_texts_fts "
                             "WHERE trace_texts_fts MATCH 'paris london'",
    "search 'w12'": "SELECT count(*) FROM trace_texts_fts WHERE trace_texts_fts MATCH 'w12'",
    "search 'w123'": "SELECT count(*) FROM trace_texts_fts WHERE trace_texts_fts MATCH 'w123*'",
}


def _median_ms(action: Callable[[], object], rounds: int = ROUNDS) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        began = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000, result


def _reference_ms(path: Path, label: str) -> str:
    sql = _REFERENCES.get(label)
    if sql is None:
        return ""

    def run() -> None:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            connection.execute(sql).fetchall()
        finally:
            connection.close()

    try:
        ms, _ = _median_ms(run)
    except sqlite3.Error:
        return "n/a"
    return f"{ms:.0f}"


def query_table(path: Path, title: str, spans_label: str = "") -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for column in ("query", "rows shown / matching", "median ms", "", "total after ms", "",
                   "SQLite alone ms"):
        table.add_column(column, justify="left" if column == "query" else "right")

    def run(text: str, **options: object) -> TracePage:
        reader = StoreReader(path)
        try:
            return reader.find_traces(TraceQuery(parse_filter(text), **options))  # type: ignore[arg-type]
        finally:
            reader.close()

    def count(query: TraceQuery) -> int:
        reader = StoreReader(path)
        try:
            return reader.count_matches(query)
        finally:
            reader.close()

    sorts: list[tuple[str, str, dict[str, object]]] = [
        (f"sort: {sort}", "", {"sort": sort})
        for sort in ("newest", "oldest", "slowest", "tokens", "errors")
    ]
    cases: list[tuple[str, str, dict[str, object]]] = [
        *sorts,
        ("grouped by thread", "", {"grouped": True}),
        *((f"search {text!r}", text, {}) for text in (
            "agent:weather", "model:gpt-4o-mini", "tool:get_weather", "status:error",
            "dur:>1500ms", "thread:thread-42", "paris", "pari", "paris london",
            "refund status:error", "w", "w1", "w12", "w123",
            # a prefix in most runs' texts with a selective qualifier: walked at every scale, as
            # "refund status:error" is only at 10M spans (where "refund" becomes that common)
            "w123 status:error",
        )),
    ]
    slowest, slowest_count = ("", 0.0), ("", 0.0)
    for label, text, options in cases:
        ms, page = _median_ms(functools.partial(run, text, **options))
        assert isinstance(page, TracePage)
        slowest = max(slowest, (label, ms), key=lambda pair: pair[1])
        total, count_ms, count_verdict = page.total, "", ""
        if not page.counted:
            counted_ms, counted = _median_ms(functools.partial(count, page.query))
            assert isinstance(counted, int)
            total, count_ms = counted, f"{counted_ms:.0f}"
            count_verdict = verdict(-counted_ms, -TARGET_COUNT_MS)
            slowest_count = max(slowest_count, (label, counted_ms), key=lambda pair: pair[1])
        table.add_row(label, f"{len(page.summaries)} / {total:,}", f"{ms:.0f}",
                      verdict(-ms, -TARGET_MS), count_ms, count_verdict,
                      _reference_ms(path, label))
    check(f"trace list, the slowest of {len(cases)} queries ({slowest[0]}), {spans_label}",
          slowest[1], TARGET_MS)
    if slowest_count[0]:
        check(f"trace list, the slowest total counted after its page ({slowest_count[0]}), "
              f"{spans_label}", slowest_count[1], TARGET_COUNT_MS)
    table.add_row("count every trace (reference only)", "", "", "", "", "",
                  _reference_ms(path, "count every trace"))
    return table


_STUDIO_SCRIPT = textwrap.dedent("""
    import asyncio, re, sys
    from pathlib import Path
    from lumos_studio.app import StudioApp
    from lumos_studio.sessions.discovery import load_demo
    from lumos_studio.sessions.in_process import InProcessSession
    from lumos_studio.store import Store
    from lumos_studio.ui.widgets.trace_list import TraceList
    from lumos_studio.ui.widgets.waterfall import TraceWaterfall

    async def main() -> None:
        store = Store(Path(sys.argv[1]))
        app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer),
                        layout_path=Path(sys.argv[1] + ".layout.json"))
        async with app.run_test(size=(200, 60)) as pilot:
            traces = app.query_one(TraceList)
            for _ in range(400):
                await pilot.pause(0.05)
                if traces.row_count or sys.argv[2] == "empty":
                    break
            if traces.row_count:
                traces.focus()
                if sys.argv[2] == "big":  # the newest run, below the bench's three big traces
                    await pilot.press("down", "down", "down")
                await pilot.press("enter")
                tree = app.query_one(TraceWaterfall)
                for _ in range(400):
                    await pilot.pause(0.05)
                    if tree.spans:
                        break
                tree.focus()
                await pilot.press(*["down"] * 15, "pagedown", "end", "home")
                await pilot.press(*["down"] * 20)  # the trace list scrolls too
            await pilot.pause(0.2)
        store.close()
        status = Path("/proc/self/status").read_text()
        print(re.search(r"VmHWM:\\s+(\\d+)", status).group(1))

    asyncio.run(main())
""")


def studio_peak_rss_mb(path: Path, label: str) -> float:
    """Peak RSS of a studio process that opened ``path`` and browsed it."""
    done = subprocess.run([sys.executable, "-c", _STUDIO_SCRIPT, str(path), label],
                          capture_output=True, text=True, timeout=300, check=False)
    match = re.search(r"^(\d+)$", done.stdout, re.MULTILINE)
    if done.returncode or match is None:
        raise RuntimeError(f"the studio process failed: {done.stderr[-2_000:]}")
    return int(match.group(1)) / 1024


def main(console: Console) -> None:
    for scale in scales():
        store = bench_store(scale, console)
        console.print(store.describe())
        console.print(query_table(store.path, f"trace list queries on {store.spans:,} spans "
                                  f"(fresh read-only connection, median of {ROUNDS}; "
                                  f"target ≤ {TARGET_MS:.0f} ms)", f"{store.spans:,} spans"))
    store = bench_store(1, console)
    with tempfile.TemporaryDirectory(prefix="lumos-bench-traces-") as tmp:
        empty = Path(tmp) / "empty.db"
        Store(empty).close()
        baseline = studio_peak_rss_mb(empty, "empty")
        loaded = studio_peak_rss_mb(store.path, "big")
    table = Table(title="studio memory: open, list, open the newest run, scroll (200x60)",
                  title_justify="left", title_style="bold")
    for column in ("store", "peak RSS", "our budget", ""):
        table.add_column(column, justify="left" if column == "store" else "right")
    table.add_row("empty", f"{baseline:.0f} MB", "", "")
    table.add_row(f"{store.spans:,} spans", f"{loaded:.0f} MB", f"≤ {TARGET_RSS_MB:.0f} MB",
                  check(f"studio peak RSS on {store.spans:,} spans", loaded, TARGET_RSS_MB,
                        "MB"))
    console.print(table)

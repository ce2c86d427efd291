"""The studio open while an agent's spans stream in: how fast its in-process writer takes them,
and the process's CPU per 1k spans, on a copy of the ×1 bench store (1.1M spans) and on an
empty one; and, for reference, while the spans of one long run stream in with 300 runs listed
(the run's row changes with each commit, not the list's rows).

The real ``StudioApp`` (the demo session) runs under ``App.run_test`` with the studio's GC
settings; a thread commits 50,000 spans (20-span runs) through the app's own writer, 500 at a
time, 20 ms apart, as an agent process's exporter would deliver them. Every commit makes the
trace list, the metrics strip and the open trace candidates for a read (``ui/paced_reads.py``);
read back to back, those reads took the writer's GIL and a core. The figure is spans/s from the
first commit to the last one committed, and the process's CPU from then until a second after,
per 1k spans; one round each (the copy of the store costs a few seconds).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import check
from bench.stores import bench_store
from lumos_studio.app import StudioApp
from lumos_studio.process_settings import studio_process_settings
from lumos_studio.records import SpanRecord
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store

SPANS = 50_000
BATCH = 500
GAP = 0.02  # seconds between two commits
SPANS_PER_RUN = 20
# Within ~25 % of what it takes with an empty store shown (~13.5k spans/s, ~55 ms): session 17
# measured 7.9k spans/s and 141 ms before the list and the strip were paced, 12.6k and 62 after.
TARGET_SPANS_PER_SECOND = 10_000.0
TARGET_CPU_MS_PER_1K = 100.0
LISTED_RUNS = 300  # the list's runs while one long run streams in (the reference row)


@dataclass(frozen=True, slots=True)
class LiveRound:
    spans_per_second: float
    cpu_ms_per_1k: float


def batches(count: int = SPANS) -> list[list[SpanRecord]]:
    """``count`` spans of fresh 20-span runs, in commits of ``BATCH``."""
    t0 = time.time_ns()
    made = [SpanRecord(trace_id=f"{n // SPANS_PER_RUN + 1:08x}{'f' * 24}", span_id=f"{n + 1:016x}",
                 parent_span_id=None if n % SPANS_PER_RUN == 0
                 else f"{n - n % SPANS_PER_RUN + 1:016x}",
                 name=f"step {n % SPANS_PER_RUN}", start_ns=t0 + n * 1_000,
                 end_ns=t0 + n * 1_000 + 500, attributes={"gen_ai.operation.name": "chat"})
            for n in range(count)]
    return [made[i:i + BATCH] for i in range(0, count, BATCH)]


def one_run(count: int = SPANS) -> list[list[SpanRecord]]:
    """``count`` spans of one run (a long agent's), in commits of ``BATCH``: its row in the
    list changes with every commit, the others stay as they are."""
    t0 = time.time_ns()
    root = f"{1:016x}"
    made = [SpanRecord(trace_id="e" * 32, span_id=f"{n + 1:016x}",
                       parent_span_id=None if n == 0 else root, name=f"step {n % SPANS_PER_RUN}",
                       start_ns=t0 + n * 1_000, end_ns=t0 + n * 1_000 + 500,
                       attributes={"gen_ai.operation.name": "chat"})
            for n in range(count)]
    return [made[i:i + BATCH] for i in range(0, count, BATCH)]


def listing_runs(path: Path, runs: int = LISTED_RUNS) -> Path:
    """A store of ``runs`` finished runs, for the list to show while one more streams in."""
    store = Store(path)
    try:
        for batch in batches(runs * SPANS_PER_RUN):
            store.writer.commit(batch)
    finally:
        store.close()
    return path


async def stream_into_studio(path: Path, commits: list[list[SpanRecord]]) -> LiveRound:
    """Open the studio on ``path``, commit ``commits`` through its writer, and measure."""
    store = Store(path)
    try:
        app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(1.0)  # its first list, strip and trace read
            cpu = time.process_time()

            def feed() -> None:
                for batch in commits:
                    store.writer.commit(batch)
                    time.sleep(GAP)

            thread = threading.Thread(target=feed)
            started = time.perf_counter()
            thread.start()
            while thread.is_alive():
                await asyncio.sleep(0.02)
            took = time.perf_counter() - started
            await pilot.pause(1.0)
            cpu = time.process_time() - cpu
    finally:
        store.close()
    spans = sum(len(batch) for batch in commits)
    return LiveRound(spans / took, cpu / spans * 1e6)


def main(console: Console) -> None:
    source = bench_store(1, console)
    commits = batches()
    with studio_process_settings(), tempfile.TemporaryDirectory(prefix="lumos-bench-live-") as tmp:
        copy = Path(tmp) / "copy.db"
        shutil.copyfile(source.path, copy)  # the cached store stays as built
        big = asyncio.run(stream_into_studio(copy, commits))
        empty = asyncio.run(stream_into_studio(Path(tmp) / "empty.db", batches()))
        long_run = asyncio.run(stream_into_studio(listing_runs(Path(tmp) / "listed.db"),
                                                  one_run()))
    table = Table(title=f"the studio open while {SPANS:,} spans stream in through its writer "
                  f"({BATCH} a commit, {GAP * 1000:.0f} ms apart)", title_justify="left",
                  title_style="bold")
    for column in ("store shown", "spans/s", "target", "", "CPU ms per 1k spans", "target", ""):
        table.add_column(column, justify="left" if column == "store shown" else "right")
    label = f"{source.spans:,} spans (a copy of the ×1 store)"
    table.add_row(label, f"{big.spans_per_second:,.0f}", f"≥ {TARGET_SPANS_PER_SECOND:,.0f}",
                  check("studio open on 1.1M spans: spans/s its writer takes as they stream in",
                        big.spans_per_second, TARGET_SPANS_PER_SECOND, "spans/s",
                        higher_is_better=True),
                  f"{big.cpu_ms_per_1k:.0f}", f"≤ {TARGET_CPU_MS_PER_1K:.0f}",
                  check("studio open on 1.1M spans: its CPU per 1k spans streamed in",
                        big.cpu_ms_per_1k, TARGET_CPU_MS_PER_1K))
    table.add_row("an empty store (reference)", f"{empty.spans_per_second:,.0f}", "", "",
                  f"{empty.cpu_ms_per_1k:.0f}", "", "")
    table.add_row(f"{LISTED_RUNS} runs, the spans all of one run (reference)",
                  f"{long_run.spans_per_second:,.0f}", "", "", f"{long_run.cpu_ms_per_1k:.0f}",
                  "", "")
    console.print(table)
    console.print("[dim]spans/s: from the first commit to the last one committed (each waits "
                  f"for its transaction, then {GAP * 1000:.0f} ms: {BATCH / GAP:,.0f} spans/s at "
                  "most); CPU: the whole process's, until a second after the last commit[/]")

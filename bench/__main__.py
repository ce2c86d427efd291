"""``python -m bench [name ...]``: run every benchmark in turn, or only the ones named, then a
summary of every figure held to a target.

A new benchmark is a module in ``bench/`` with ``main(console)``, added to ``BENCHMARKS``; its
figures go through ``bench.check`` to reach the summary. Each benchmark runs in a process of its
own, so none measures what an earlier one left behind. Checks that run long and give no figure
(``fuzz``) run only when named.

Environment: ``LUMOS_BENCH_SCALE=1,3,10`` runs the query benchmarks on 1M, 3M and 10M spans and
logs (default 1; building the ×10 store takes ~40 minutes, once); ``LUMOS_BENCH_CACHE`` moves the
cached stores from ``.bench-cache/``; ``LUMOS_BENCH_UPGRADE=1`` migrates a cached store of older
sources (as the studio migrates a user's store) instead of building it again.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from bench import (
    FIGURES,
    SQLITE_ROWS,
    Figure,
    python_loop_ms,
    sqlite_rows_ms,
    usable_cpus,
)

# Name → module, in the order a full run goes through them.
BENCHMARKS: dict[str, str] = {
    "agent_runs": "bench.agent_runs",
    "agent_vs_pydantic_ai": "bench.agent_vs_pydantic_ai",
    "evals": "bench.evals",
    "ingest": "bench.ingest",
    "startup": "bench.startup",
    "ui_app": "bench.ui_app",
    "studio_live": "bench.studio_live",
    "reload": "bench.reload",
    "ui_waterfall": "bench.ui_waterfall",
    "logs_filter": "bench.logs_filter",
    "trace_list": "bench.trace_list",
    "forward": "bench.forward",
    "postgres": "bench.postgres",
    "fuzz": "bench.fuzz",
}
ONLY_WHEN_NAMED = frozenset({"fuzz"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="name", help=f"benchmarks to run: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--figures-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    # Wide enough for the tables when piped (make bench | tee), a real terminal's width otherwise.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 110)
    if args.figures_to is not None:  # one benchmark, in a process of its own (``_run_alone``)
        (name,) = args.names
        importlib.import_module(BENCHMARKS[name]).main(console)
        args.figures_to.write_bytes(orjson.dumps([asdict(f) for f in FIGURES]))
        return 0
    console.print(
        f"[bold]Lumos Studio benchmarks[/] · Python {platform.python_version()} · "
        f"{platform.machine()} · {usable_cpus()} CPUs{_load()} · a fixed Python loop: "
        f"{python_loop_ms():.0f} ms · {SQLITE_ROWS:,} SQLite rows: {sqlite_rows_ms():.0f} ms "
        "(the machine's speed now, in the CPU's cache and out of it; compare runs only when "
        "both match)"
    )
    for name in args.names or [n for n in BENCHMARKS if n not in ONLY_WHEN_NAMED]:
        settled = _settle()
        started = time.perf_counter()
        console.rule(f"[bold]{name}")
        if settled is not None:
            console.print(f"[dim]waited {settled:.1f} s for the machine to settle (dirty pages "
                          f"written, CPU ≤ {SETTLED_BUSY:.0%} busy for a second){_load()}[/]")
        _run_alone(name)
        console.print(f"[dim]{name} took {time.perf_counter() - started:.1f} s{_load()}[/]")
    if FIGURES:
        console.print(_summary())
    return 0


def _run_alone(name: str) -> None:
    """Run one benchmark in a fresh process and take its figures: in one process, what an
    earlier benchmark left on the heap (ingest's 300 MB of requests, a store's build) counted in
    a later one's memory figures (the studio's RSS read 442 instead of ~130 MB)."""
    sys.stdout.flush()  # what this process printed comes before what the benchmark prints
    with tempfile.TemporaryDirectory(prefix="lumos-bench-") as tmp:
        figures = Path(tmp) / "figures.json"
        done = subprocess.run(
            [sys.executable, "-m", "bench", name, "--figures-to", str(figures)], check=False)
        if done.returncode != 0:
            FIGURES.append(Figure(f"{name}: the benchmark failed (exit {done.returncode})",
                                  1, 0, "", False))
            return
        FIGURES.extend(Figure(**figure) for figure in orjson.loads(figures.read_bytes()))


SETTLED_BUSY = 0.15  # the share of every CPU busy below which the machine counts as quiet
SETTLE_LIMIT_S = 30.0


def _settle() -> float | None:
    """Wait until the previous benchmark's leftovers are done, so they are not billed to the
    next: its dirty pages written (ingest leaves a GB of them) and the CPU quiet for a second,
    at most ``SETTLE_LIMIT_S``. None where ``/proc/stat`` is not there."""
    started = time.perf_counter()
    os.sync()
    try:
        before = _cpu_times()
        while time.perf_counter() - started < SETTLE_LIMIT_S:
            time.sleep(1.0)
            after = _cpu_times()
            total, idle = after[0] - before[0], after[1] - before[1]
            if total > 0 and 1 - idle / total <= SETTLED_BUSY:
                break
            before = after
    except OSError:
        return None
    return time.perf_counter() - started


def _cpu_times() -> tuple[int, int]:
    """All CPUs' jiffies since boot, and those idle or waiting for I/O (``/proc/stat``)."""
    with open("/proc/stat", "rb") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]


def _summary() -> Table:
    passed = sum(f.passed for f in FIGURES)
    table = Table(title=f"summary: {passed} of {len(FIGURES)} figures reach their target"
                  f"{_load()} · at the end, a fixed Python loop {python_loop_ms():.0f} ms, "
                  f"{SQLITE_ROWS:,} SQLite rows {sqlite_rows_ms():.0f} ms",
                  title_justify="left", title_style="bold")
    for column in ("figure", "value", "target", ""):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for figure in FIGURES:
        sign = "≥" if figure.higher_is_better else "≤"
        table.add_row(figure.label, f"{figure.value:,.1f} {figure.unit}",
                      f"{sign} {figure.target:,.0f} {figure.unit}",
                      "[bold green]PASS[/]" if figure.passed else "[bold red]BELOW[/]")
    return table


def _load() -> str:
    """The 1-minute load average: figures taken on a busy machine say so next to them."""
    if not hasattr(os, "getloadavg"):
        return ""
    load = os.getloadavg()[0]
    busy = (
        " [bold yellow](busy machine: figures will be low)[/]" if load > 0.5 * usable_cpus() else ""
    )
    return f" · load {load:.2f}{busy}"


if __name__ == "__main__":
    sys.exit(main())

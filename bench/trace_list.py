"""A store of a million spans: trace list queries, and the studio's memory with it open.

The store is written through the real ``StoreWriter`` (50,000 traces of 20 spans: an agent
span over nine chat + tool pairs, with messages, conversation ids, 5 % errors), and its write
rate is printed. Then:

- each sort, qualifier and text search of the trace list, as the list's worker runs it (a
  fresh read-only connection, best of three), against 100 ms;
- the studio's peak RSS (``VmHWM``) in a subprocess that opens the studio on that store,
  lists the traces, opens the newest run and scrolls its tree, next to the same on an empty
  store, against 150 MB.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from bench import verdict
from lumos_core.telemetry import semconv as sc
from lumos_studio.records import SpanRecord
from lumos_studio.store import Store, StoreReader, TraceQuery
from lumos_studio.store.trace_filter import parse_filter

TRACES = int(os.environ.get("LUMOS_BENCH_TRACES", "50000"))  # × 20 spans
TARGET_MS = 100.0
TARGET_RSS_MB = 150.0
T0 = 1_764_000_000_000_000_000
MS = 1_000_000
AGENTS = ("weather", "support", "trip planner", "researcher", "coder")
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet", "llama3", "scripted")
TOOLS = ("get_weather", "search", "lookup_order", "send_email", "calc")
WORDS = (*(f"w{i}" for i in range(5_000)), "paris", "london", "refund", "invoice", "weather",
         "timeout", "booking", "train", "delay", "password")


class _Runs:
    """Deterministic agent runs: what a busy week of development leaves in a store."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)

    def _words(self, count: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(count))

    @staticmethod
    def _messages(role: str, text: str) -> str:
        return orjson.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}]).decode()

    def trace(self, number: int) -> list[SpanRecord]:
        rng = self.rng
        trace_id = f"{number:032x}"
        root_id = f"{number:08x}00000001"
        start = T0 + number * 10**9
        agent, model = rng.choice(AGENTS), rng.choice(MODELS)
        conversation = f"thread-{number // 5}"
        question = self._words(20)
        resource = {"service.name": "bench"}
        spans: list[SpanRecord] = []
        moment = start + MS
        for step in range(9):
            chat_id, tool_id = f"{number:08x}{2 * step + 2:08x}", f"{number:08x}{2 * step + 3:08x}"
            spans.append(SpanRecord(
                trace_id, chat_id, root_id, f"chat {model}", moment,
                moment + rng.randint(50, 2_000) * MS, "CLIENT", "OK",
                attributes={
                    sc.OPERATION_NAME: "chat", sc.REQUEST_MODEL: model,
                    sc.CONVERSATION_ID: conversation,
                    sc.USAGE_INPUT_TOKENS: rng.randint(10, 2_000),
                    sc.USAGE_OUTPUT_TOKENS: rng.randint(10, 500),
                    sc.INPUT_MESSAGES: self._messages("user", question),
                    sc.OUTPUT_MESSAGES: self._messages("assistant", self._words(40)),
                },
                resource=resource, scope_name="lumos_core",
            ))
            tool = rng.choice(TOOLS)
            spans.append(SpanRecord(
                trace_id, tool_id, root_id, f"execute_tool {tool}", moment, moment + 5 * MS,
                "INTERNAL", "OK", attributes={sc.OPERATION_NAME: "execute_tool",
                                              sc.TOOL_NAME: tool},
                resource=resource, scope_name="lumos_core",
            ))
            moment += 100 * MS
        spans.append(SpanRecord(
            trace_id, f"{number:08x}00000099", root_id, "search_memory", start, start + MS,
            "INTERNAL", "OK", attributes={sc.OPERATION_NAME: "search_memory"},
            resource=resource, scope_name="lumos_core",
        ))
        root = SpanRecord(
            trace_id, root_id, None, f"invoke_agent {agent}", start, moment + MS, "INTERNAL",
            "ERROR" if rng.random() < 0.05 else "OK",
            attributes={
                sc.OPERATION_NAME: "invoke_agent", sc.AGENT_NAME: agent, sc.REQUEST_MODEL: model,
                sc.CONVERSATION_ID: conversation,
                sc.INPUT_MESSAGES: self._messages("user", question),
                sc.OUTPUT_MESSAGES: self._messages("assistant", self._words(30)),
            },
            resource=resource, scope_name="lumos_core",
        )
        return [root, *spans]


def build(path: Path, traces: int) -> tuple[int, float]:
    """Write ``traces`` runs through the writer; (spans, seconds until flushed and searchable)."""
    runs = _Runs()
    spans = 0
    with Store(path) as store:
        began = time.perf_counter()
        for number in range(traces):
            batch = runs.trace(number)
            spans += len(batch)
            store.writer.submit_many(batch)
        store.writer.flush(1_200)
        return spans, time.perf_counter() - began


def _best_ms(action: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        began = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - began)
    return best * 1000, result


def query_table(path: Path) -> Table:
    table = Table(title="trace list queries (fresh read-only connection, best of 3)",
                  title_justify="left", title_style="bold")
    for column in ("query", "rows shown / matching", "ms", ""):
        table.add_column(column, justify="left" if column == "query" else "right")

    def run(text: str, **options: object) -> str:
        reader = StoreReader(path)
        try:
            page = reader.find_traces(TraceQuery(parse_filter(text), **options))  # type: ignore[arg-type]
        finally:
            reader.close()
        return f"{len(page.summaries)} / {page.total:,}"

    cases: list[tuple[str, str, dict[str, object]]] = [
        *((f"sort: {sort}", "", {"sort": sort})
          for sort in ("newest", "oldest", "slowest", "tokens", "errors")),
        ("grouped by thread", "", {"grouped": True}),
        *((f"search {text!r}", text, {}) for text in (
            "agent:weather", "model:gpt-4o-mini", "tool:get_weather", "status:error",
            "dur:>1500ms", "thread:thread-42", "paris", "pari", "paris london",
            "refund status:error", "w", "w1", "w12",
        )),
    ]
    for label, text, options in cases:
        ms, shown = _best_ms(lambda text=text, options=options: run(text, **options))
        table.add_row(label, str(shown), f"{ms:.0f}", verdict(-ms, -TARGET_MS))
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
    kept = os.environ.get("LUMOS_BENCH_TRACE_STORE")  # reuse a store between runs when set
    with tempfile.TemporaryDirectory(prefix="lumos-bench-traces-") as tmp:
        path = Path(kept) if kept else Path(tmp) / "big.db"
        if path.exists():
            with Store(path) as store:
                spans = sum(t.span_count for t in store.reader.list_traces(limit=10**9))
            console.print(f"store: {path} (kept), {spans:,} spans")
        else:
            console.print(f"writing {TRACES:,} traces through the store writer…")
            spans, seconds = build(path, TRACES)
            console.print(
                f"store: {spans:,} spans in {TRACES:,} traces, {path.stat().st_size / 1e9:.2f} "
                f"GB; written and indexed in {seconds:.0f} s ({spans / seconds:,.0f} spans/s, "
                "messages searchable at the end)"
            )
        console.print(query_table(path))
        empty = Path(tmp) / "empty.db"
        Store(empty).close()
        baseline = studio_peak_rss_mb(empty, "empty")
        loaded = studio_peak_rss_mb(path, "big")
    table = Table(title="studio memory: open, list, open the newest run, scroll (200x60)",
                  title_justify="left", title_style="bold")
    for column in ("store", "peak RSS", "our budget", ""):
        table.add_column(column, justify="left" if column == "store" else "right")
    table.add_row("empty", f"{baseline:.0f} MB", "", "")
    table.add_row(f"{spans:,} spans", f"{loaded:.0f} MB", f"≤ {TARGET_RSS_MB:.0f} MB",
                  verdict(-loaded, -TARGET_RSS_MB))
    console.print(table)

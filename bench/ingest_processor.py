"""The in-process ``StudioSpanProcessor``'s cost on the agent's thread (part of ``bench ingest``).

Issue #3's target: at most 15 µs a span on the agent's thread, the conversion belonging on the
writer thread.
"""

from __future__ import annotations

import gc
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import TracerProvider
from rich.console import Console
from rich.table import Table

from bench import verdict
from lumos_core.telemetry import semconv as sc
from lumos_studio.ingest import StudioSpanProcessor
from lumos_studio.process_settings import use_studio_process_settings
from lumos_studio.store import StoreWriter

TARGET_PROCESSOR_MICROSECONDS = 15
PROCESSOR_SPANS = 20_000
ROUNDS = 7
SPANS_PER_TRACE = 20  # as in the OTLP load (bench.ingest imports this module, not the reverse)


def _span_loop(provider: TracerProvider, count: int) -> tuple[float, float]:
    """(CPU, wall) µs per span of the loop's own thread: the agent's side of tracing.

    Spans come as fast as the SDK makes them, in traces of ``SPANS_PER_TRACE`` (a root and its
    children): a burst far denser than an agent, whose model calls leave the writer idle time.
    """
    tracer = provider.get_tracer("bench")
    attributes = {
        sc.OPERATION_NAME: "chat", sc.PROVIDER_NAME: "openai", sc.REQUEST_MODEL: "gpt-4o-mini",
        sc.AGENT_NAME: "researcher", sc.REQUEST_TEMPERATURE: 0.2, sc.REQUEST_MAX_TOKENS: 1_024,
        sc.SERVER_ADDRESS: "api.openai.com", sc.SERVER_PORT: 443,
        sc.CONVERSATION_ID: "conv-1", "app.user": "ada", "app.region": "eu",
        "app.tier": "pro", "app.trace": True, "app.retries": 0, "app.tags": ("a", "b"),
    }
    children = SPANS_PER_TRACE - 1
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(count // SPANS_PER_TRACE):  # traces shaped like the ingest load's
        root = tracer.start_span("invoke_agent researcher", attributes=attributes)
        context = trace_api.set_span_in_context(root)
        for _ in range(children):
            span = tracer.start_span("chat gpt-4o-mini", context=context, attributes=attributes)
            span.set_attribute(sc.USAGE_INPUT_TOKENS, 120)
            span.end()
        root.end()
    return (
        (time.thread_time() - cpu) / count * 1e6,
        (time.perf_counter() - wall) / count * 1e6,
    )


@dataclass(frozen=True)
class ProcessorCost:
    """µs per span on the agent's thread: CPU (what the processor costs it) and wall time.

    The ``added`` figures are medians of paired differences: each round runs the SDK alone and
    with the processor back to back, so a machine whose speed drifts (this one's swings ~1.8x
    within minutes) affects both alike; the best of each side, taken apart, compared the
    luckiest round of one with the luckiest of the other.
    """

    plain_cpu: float
    plain_wall: float
    added_cpu: float
    added_wall: float
    added_cpu_no_gc: float
    added_cpu_each: tuple[float, ...]


def processor_cost(tmp: Path, rounds: int) -> ProcessorCost:
    """The SDK alone vs with ``StudioSpanProcessor`` feeding a running writer, in paired rounds.

    CPU time of the agent's thread is the processor's cost to it (enqueueing); wall time also
    holds the waits for the GIL while the writer thread converts and writes. The writer drains
    between rounds, so a growing queue does not bill the next round. Rounds with the garbage
    collector paused split the enqueue itself from the collections that spans waiting in the
    queue (alive longer than without a processor) cause on the agent's thread.
    """
    plain = TracerProvider(shutdown_on_exit=False)
    writer = StoreWriter(tmp / "processor.db").start()
    studio = TracerProvider(shutdown_on_exit=False)
    studio.add_span_processor(StudioSpanProcessor(writer))
    runs: dict[tuple[str, bool], list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for collect in (True, False):
            for name, provider in (("plain", plain), ("studio", studio)):
                writer.flush(120)
                gc.collect()
                if not collect:
                    gc.disable()
                try:
                    run = _span_loop(provider, PROCESSOR_SPANS)
                finally:
                    gc.enable()
                runs.setdefault((name, collect), []).append(run)
    writer.close()

    def added(collect: bool, index: int = 0) -> list[float]:
        pairs = zip(runs[("studio", collect)], runs[("plain", collect)], strict=True)
        return [studio_run[index] - plain_run[index] for studio_run, plain_run in pairs]

    return ProcessorCost(
        plain_cpu=statistics.median(run[0] for run in runs[("plain", True)]),
        plain_wall=statistics.median(run[1] for run in runs[("plain", True)]),
        added_cpu=statistics.median(added(True)),
        added_wall=statistics.median(added(True, 1)),
        added_cpu_no_gc=statistics.median(added(False)),
        added_cpu_each=tuple(sorted(added(True))),
    )


def print_processor_cost(console: Console) -> None:
    """Measure under the studio's GC thresholds and CPython's; print the table."""
    with tempfile.TemporaryDirectory(prefix="lumos-bench-processor-") as tmp:
        default_cost = processor_cost(Path(tmp) / "default-gc", rounds=3)
        thresholds = gc.get_threshold()
        use_studio_process_settings()  # what the lumos-studio process runs with
        try:
            cost = processor_cost(Path(tmp) / "studio-gc", rounds=ROUNDS)
        finally:
            gc.set_threshold(*thresholds)

    table = Table(title=f"in-process StudioSpanProcessor: {PROCESSOR_SPANS:,} spans with 16 "
                  f"attributes in {SPANS_PER_TRACE}-span traces, start + end; the median of "
                  f"{ROUNDS} paired rounds", title_justify="left", title_style="bold")
    table.add_column("on the agent's thread")
    table.add_column("CPU µs/span", justify="right")
    table.add_column("wall µs/span", justify="right")
    table.add_column("")
    table.add_row("TracerProvider, no processor", f"{cost.plain_cpu:.1f}",
                  f"{cost.plain_wall:.1f}", "")
    table.add_row("processor's cost (on_start + on_end), the studio's settings",
                  f"{cost.added_cpu:+.1f}", f"[dim]{cost.added_wall:+.1f}[/]",
                  f"target ≤ {TARGET_PROCESSOR_MICROSECONDS} "
                  + verdict(-cost.added_cpu, -TARGET_PROCESSOR_MICROSECONDS))
    table.add_row("  each round, lowest to highest",
                  " · ".join(f"{value:+.0f}" for value in cost.added_cpu_each), "", "")
    table.add_row("  the same with CPython's GC thresholds (3 rounds)",
                  f"{default_cost.added_cpu:+.1f}", f"[dim]{default_cost.added_wall:+.1f}[/]", "")
    table.add_row("  the same with the collector paused",
                  f"{cost.added_cpu_no_gc:+.1f}", "", "")
    console.print(table)
    console.print("[dim]wall time also holds the agent's waits for the GIL while the writer "
                  "thread converts and writes; the studio's GC settings: "
                  "lumos_studio/process_settings.py[/]")

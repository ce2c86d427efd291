"""The in-process ``StudioSpanProcessor``'s cost on the agent's thread (part of ``bench ingest``).

Issue #3's target: at most 15 µs a span on the agent's thread, the conversion belonging on the
writer thread.
"""

from __future__ import annotations

import gc
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
    """µs per span on the agent's thread: CPU (what the processor costs it) and wall time."""

    plain_cpu: float
    plain_wall: float
    studio_cpu: float
    studio_wall: float
    plain_cpu_no_gc: float
    studio_cpu_no_gc: float


def processor_cost(tmp: Path, rounds: int = 5) -> ProcessorCost:
    """The SDK alone vs with ``StudioSpanProcessor`` feeding a running writer, best of rounds.

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
    for _ in range(rounds):  # interleaved, so a drifting machine affects all alike
        for name, provider in (("plain", plain), ("studio", studio)):
            for collect in (True, False):
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

    def best(name: str, collect: bool, index: int = 0) -> float:
        return min(run[index] for run in runs[(name, collect)])

    return ProcessorCost(
        plain_cpu=best("plain", True),
        plain_wall=best("plain", True, 1),
        studio_cpu=best("studio", True),
        studio_wall=best("studio", True, 1),
        plain_cpu_no_gc=best("plain", False),
        studio_cpu_no_gc=best("studio", False),
    )


def print_processor_cost(console: Console) -> None:
    """Measure under CPython's default GC thresholds and the studio's; print the table."""
    with tempfile.TemporaryDirectory(prefix="lumos-bench-processor-") as tmp:
        default_cost = processor_cost(Path(tmp) / "default-gc", rounds=3)
        thresholds = gc.get_threshold()
        use_studio_process_settings()  # what the lumos-studio process runs with
        try:
            cost = processor_cost(Path(tmp) / "studio-gc", rounds=3)
        finally:
            gc.set_threshold(*thresholds)

    overhead = cost.studio_cpu - cost.plain_cpu
    table = Table(title=f"in-process StudioSpanProcessor: {PROCESSOR_SPANS:,} spans with 16 "
                  f"attributes in {SPANS_PER_TRACE}-span traces, start + end, best of 3 rounds",
                  title_justify="left", title_style="bold")
    table.add_column("on the agent's thread")
    table.add_column("CPU µs/span", justify="right")
    table.add_column("wall µs/span", justify="right")
    table.add_column("")
    table.add_row("TracerProvider, no processor", f"{cost.plain_cpu:.1f}",
                  f"{cost.plain_wall:.1f}", "")
    table.add_row("+ StudioSpanProcessor, writer running", f"{cost.studio_cpu:.1f}",
                  f"{cost.studio_wall:.1f}", "")
    table.add_row("processor's cost (on_start + on_end), the studio's settings",
                  f"{overhead:+.1f}",
                  f"[dim]{cost.studio_wall - cost.plain_wall:+.1f}[/]",
                  f"target ≤ {TARGET_PROCESSOR_MICROSECONDS} "
                  + verdict(-overhead, -TARGET_PROCESSOR_MICROSECONDS))
    default_overhead = default_cost.studio_cpu - default_cost.plain_cpu
    table.add_row("  the same with CPython's defaults", f"{default_overhead:+.1f}",
                  f"[dim]{default_cost.studio_wall - default_cost.plain_wall:+.1f}[/]", "")
    enqueue = cost.studio_cpu_no_gc - cost.plain_cpu_no_gc
    table.add_row("… of which the enqueue itself (collector paused)", f"{enqueue:+.1f}", "",
                  f"target ≤ {TARGET_PROCESSOR_MICROSECONDS} "
                  + verdict(-enqueue, -TARGET_PROCESSOR_MICROSECONDS))
    console.print(table)
    console.print("[dim]wall time also holds the agent's waits for the GIL while the writer "
                  "thread converts and writes; the studio's GC settings: "
                  "lumos_studio/process_settings.py[/]")

"""The in-process ``StudioSpanProcessor``'s cost on the agent's thread (part of ``bench ingest``).

Measured against a no-op processor in the same run, in paired rounds, under the studio's GC
settings: the target is at most 30 µs a span added on the agent's thread, in wall time (what the
agent waits, GIL waits for the writer thread included), in a 20,000-span burst. The OTel SDK's
own ``BatchSpanProcessor`` (exporting nowhere, its queue sized for the burst) is the reference.
"""

from __future__ import annotations

import gc
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.util.types import AttributeValue
from rich.console import Console
from rich.table import Table

from bench import check
from lumos_core.telemetry import semconv as sc
from lumos_studio.ingest import StudioSpanProcessor
from lumos_studio.process_settings import studio_process_settings
from lumos_studio.store import StoreWriter

TARGET_PROCESSOR_MICROSECONDS = 30  # wall µs a span over a no-op processor
PROCESSOR_SPANS = 20_000
ROUNDS = 5
SPANS_PER_TRACE = 20  # as in the OTLP load (bench.ingest imports this module, not the reverse)


def _span_loop(provider: TracerProvider, count: int) -> tuple[float, float]:
    """(CPU, wall) µs per span of the loop's own thread: the agent's side of tracing.

    Spans come as fast as the SDK makes them, in traces of ``SPANS_PER_TRACE`` (a root and its
    children): a burst far denser than an agent, whose model calls leave the writer idle time.
    """
    tracer = provider.get_tracer("bench")
    attributes: dict[str, AttributeValue] = {
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


class _NoOpProcessor(SpanProcessor):
    """Takes every span and does nothing: the SDK's cost with a processor, ours left out."""


class _NowhereExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


@dataclass(frozen=True)
class ProcessorCost:
    """µs per span on the agent's thread, (CPU, wall), each the median of its rounds.

    The ``added`` figures are medians of paired differences: each round runs the no-op processor
    and ours back to back, so a machine whose speed drifts affects both alike.
    """

    noop: tuple[float, float]
    studio: tuple[float, float]
    batch: tuple[float, float]
    added_cpu: float
    added_wall: float
    added_wall_each: tuple[float, ...]


def processor_cost(tmp: Path, rounds: int) -> ProcessorCost:
    """A no-op processor, ``StudioSpanProcessor`` feeding a running writer, and the SDK's
    ``BatchSpanProcessor``, in rounds. The writer drains between rounds, so a growing queue
    does not bill the next round."""
    writer = StoreWriter(tmp / "processor.db").start()
    providers: dict[str, TracerProvider] = {}
    for name, processor in (
        ("noop", _NoOpProcessor()),
        ("studio", StudioSpanProcessor(writer)),
        ("batch", BatchSpanProcessor(_NowhereExporter(),
                                     max_queue_size=max(PROCESSOR_SPANS * 2, 2_048))),
    ):
        providers[name] = TracerProvider(shutdown_on_exit=False)
        providers[name].add_span_processor(processor)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in providers}
    for _ in range(rounds):
        for name, provider in providers.items():
            writer.flush(120)
            provider.force_flush()
            gc.collect()
            runs[name].append(_span_loop(provider, PROCESSOR_SPANS))
    for provider in providers.values():
        provider.shutdown()
    writer.close()

    def median(name: str) -> tuple[float, float]:
        return (statistics.median(r[0] for r in runs[name]),
                statistics.median(r[1] for r in runs[name]))

    def added(index: int) -> list[float]:
        return [s[index] - n[index] for s, n in zip(runs["studio"], runs["noop"], strict=True)]

    return ProcessorCost(
        noop=median("noop"), studio=median("studio"), batch=median("batch"),
        added_cpu=statistics.median(added(0)), added_wall=statistics.median(added(1)),
        added_wall_each=tuple(sorted(added(1))),
    )


def print_processor_cost(console: Console) -> None:
    """Measure under the studio's GC thresholds; print the table."""
    with (tempfile.TemporaryDirectory(prefix="lumos-bench-processor-") as tmp,
          studio_process_settings()):  # what the lumos-studio process runs with
        cost = processor_cost(Path(tmp), rounds=ROUNDS)

    table = Table(title=f"the agent's thread: {PROCESSOR_SPANS:,} spans with 16 attributes in "
                  f"{SPANS_PER_TRACE}-span traces, start + end, as fast as the SDK makes them; "
                  f"the median of {ROUNDS} rounds", title_justify="left", title_style="bold")
    table.add_column("processor")
    table.add_column("wall µs/span", justify="right")
    table.add_column("CPU µs/span", justify="right")
    table.add_column("")
    table.add_row("no-op processor (the SDK alone)", f"{cost.noop[1]:.1f}", f"{cost.noop[0]:.1f}",
                  "")
    table.add_row("StudioSpanProcessor → the store's writer", f"{cost.studio[1]:.1f}",
                  f"{cost.studio[0]:.1f}", "")
    table.add_row("  [bold]added over the no-op processor[/]", f"[bold]{cost.added_wall:+.1f}[/]",
                  f"{cost.added_cpu:+.1f}", f"target ≤ {TARGET_PROCESSOR_MICROSECONDS} "
                  + check("agent's thread: µs a span added over a no-op processor",
                        cost.added_wall, TARGET_PROCESSOR_MICROSECONDS, "µs"))
    table.add_row("  each round, lowest to highest (wall)",
                  " · ".join(f"{value:+.0f}" for value in cost.added_wall_each), "", "")
    table.add_row("reference: the SDK's BatchSpanProcessor, exporting nowhere",
                  f"{cost.batch[1]:.1f}", f"{cost.batch[0]:.1f}", "")
    console.print(table)
    console.print("[dim]wall time holds the agent's waits for the GIL while the writer thread "
                  "converts and writes; the studio's GC settings: "
                  "lumos_studio/process_settings.py[/]")

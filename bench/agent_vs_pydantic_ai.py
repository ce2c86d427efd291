"""Agent runs per second, ``lumos_core`` beside pydantic-ai, on one harness.

Both agents do the same work: a model call that asks for ``get_weather``, the tool, a second model
call that answers with its result (two model calls, one tool call), with a model that answers at
once (our scripted model; pydantic-ai's ``FunctionModel``), so the figures are each framework's
own overhead. Each runs with tracing off, into an in-memory OTel exporter, and into the studio's
store (its tracer provider, until the writer has committed: durably stored). Medians of
``ROUNDS`` rounds.

pydantic-ai is not a dependency of Lumos: ``pip install '.[bench]'`` (``make bench`` does) brings
the pinned ``pydantic-ai-slim``; without it this benchmark says so and measures ours alone.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rich.console import Console
from rich.table import Table

from bench.agent_runs import QUESTION, make_agent
from lumos_studio.ingest import studio_tracer_provider
from lumos_studio.store import Store

ROUNDS = 3
SECONDS_PER_ROUND = 1.5
WARMUP_RUNS = 100
MAX_RUNS = 5_000

Run = Callable[[trace.TracerProvider], Coroutine[Any, Any, object]]


@dataclass(frozen=True, slots=True)
class Row:
    framework: str
    scenario: str
    runs_per_second: float
    spans_per_run: float


def _lumos_runner() -> Run:
    agent = make_agent()

    async def run(provider: trace.TracerProvider) -> object:
        return await agent.run(QUESTION, tracer_provider=provider)

    return run


def _pydantic_ai_runner() -> Run | None:
    """The same agent in pydantic-ai, or None when it is not installed."""
    try:
        from pydantic_ai import Agent
        from pydantic_ai.messages import (
            ModelMessage,
            ModelResponse,
            TextPart,
            ToolCallPart,
            ToolReturnPart,
        )
        from pydantic_ai.models.function import AgentInfo, FunctionModel
        from pydantic_ai.models.instrumented import InstrumentationSettings
    except ImportError:
        return None

    def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        """Ask for the tool first, then answer with what it returned."""
        last = messages[-1]
        results = [p for p in last.parts if isinstance(p, ToolReturnPart)]
        if results:
            return ModelResponse(parts=[TextPart(str(results[0].content))])
        return ModelResponse(parts=[ToolCallPart("get_weather", {"city": "Paris"})])

    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return f"Sunny, 21 °C in {city}."

    agents: dict[int, Any] = {}

    def agent_for(provider: trace.TracerProvider) -> Any:
        agent = agents.get(id(provider))
        if agent is None:
            agent = Agent(FunctionModel(answer), name="bench-weather",
                          instructions="You answer questions about the weather.")
            agent.tool_plain(get_weather)
            if not isinstance(provider, trace.NoOpTracerProvider):
                agent.instrument = InstrumentationSettings(tracer_provider=provider)
            agents[id(provider)] = agent
        return agent

    async def run(provider: trace.TracerProvider) -> object:
        return await agent_for(provider).run(QUESTION)

    return run


async def _rate(run: Run, provider: trace.TracerProvider, settle: Callable[[], object]) -> float:
    """Runs per second, back to back in one event loop, until ``settle`` (the store's flush)."""
    for _ in range(WARMUP_RUNS):
        await run(provider)
    settle()
    count = 0
    start = time.perf_counter()
    deadline = start + SECONDS_PER_ROUND
    while count < MAX_RUNS and time.perf_counter() < deadline:
        await run(provider)
        count += 1
    settle()
    return count / (time.perf_counter() - start)


@contextmanager
def _store_provider() -> Iterator[tuple[TracerProvider, Callable[[], object]]]:
    with tempfile.TemporaryDirectory(prefix="lumos-bench-") as tmp, \
            Store(Path(tmp) / "bench.db") as store:
        provider = studio_tracer_provider(store.writer)
        try:
            yield provider, lambda: store.writer.flush(60)
        finally:
            provider.shutdown()


def _scenarios(run: Run, framework: str) -> list[Row]:
    rows = []
    off = statistics.median(
        asyncio.run(_rate(run, trace.NoOpTracerProvider(), lambda: None)) for _ in range(ROUNDS)
    )
    rows.append(Row(framework, "tracing off", off, 0))
    exporter = InMemorySpanExporter()
    memory = TracerProvider()
    memory.add_span_processor(SimpleSpanProcessor(exporter))
    rates = []
    for _ in range(ROUNDS):
        exporter.clear()
        rates.append(asyncio.run(_rate(run, memory, lambda: None)))
    spans = len(exporter.get_finished_spans())
    asyncio.run(run(memory))
    per_run = len(exporter.get_finished_spans()) - spans
    rows.append(Row(framework, "in-memory exporter", statistics.median(rates), per_run))
    store_rates = []
    for _ in range(ROUNDS):
        with _store_provider() as (provider, settle):
            store_rates.append(asyncio.run(_rate(run, provider, settle)))
    rows.append(Row(framework, "studio store (durable)", statistics.median(store_rates), per_run))
    return rows


def main(console: Console) -> None:
    """Print both frameworks' rates side by side, and the ratio per scenario."""
    console.print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = _scenarios(_lumos_runner(), "lumos_core")
    theirs = _pydantic_ai_runner()
    if theirs is None:
        console.print("pydantic-ai is not installed: [bold]pip install '.[bench]'[/] to compare")
    else:
        rows += _scenarios(theirs, "pydantic-ai")
    table = Table(title=f"agent runs/s, 2 model calls + 1 tool, median of {ROUNDS}",
                  title_justify="left", title_style="bold")
    for column in ("scenario", "lumos_core", "pydantic-ai", "lumos ÷ pydantic-ai", "spans/run"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    ours = {row.scenario: row for row in rows if row.framework == "lumos_core"}
    other = {row.scenario: row for row in rows if row.framework == "pydantic-ai"}
    for scenario, row in ours.items():
        peer = other.get(scenario)
        table.add_row(
            scenario,
            f"{row.runs_per_second:,.0f}",
            f"{peer.runs_per_second:,.0f}" if peer else "-",
            f"{row.runs_per_second / peer.runs_per_second:.1f}×" if peer else "-",
            f"{row.spans_per_run:g} / {peer.spans_per_run:g}" if peer else f"{row.spans_per_run:g}",
        )
    console.print(table)


if __name__ == "__main__":
    main(Console())

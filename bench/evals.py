"""A 1,000-case experiment on the scripted model: cases per second, and how long the studio
takes to open it (keypress to painted).

Each case is an agent run of four spans (two model calls, one tool call) under its case span,
scored by three scorers (contains, the tool trajectory read from the spans, a token budget).
"Into the store" counts the experiment as done once the writer has committed every span. The
studio figures run ``ExperimentsScreen`` under ``App.run_test()`` (the headless driver: no
terminal I/O): Enter on the experiment, to the first frame showing its cases.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from textual import events
from textual.app import App
from textual.screen import Screen
from textual.widgets import DataTable

from bench import Timing
from lumos_core import Agent, tool
from lumos_core.evals import Case, Contains, Dataset, Experiment, TokenBudget, ToolTrajectory
from lumos_studio.ingest import studio_tracer_provider
from lumos_studio.store import Store
from lumos_studio.ui.screens.experiments import ExperimentsScreen
from lumos_studio.ui.screens.experiments_cases import ExperimentCasesScreen

CASES = 1_000
CONCURRENCY = 8
TERMINAL = (160, 50)
CITIES = ("Paris", "Rome", "Oslo", "Lima", "Cairo", "Tokyo", "Quito", "Dakar")


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny, 21 °C in {city}."


def make_agent() -> Agent:
    return Agent("bench-weather", "Use get_weather.", model="scripted", tools=[get_weather])


def dataset(count: int = CASES) -> Dataset:
    """Every 10th case expects another city, so some cases fail as in real life."""
    cases = []
    for i in range(count):
        city = CITIES[i % len(CITIES)]
        expected = CITIES[(i + 1) % len(CITIES)] if i % 10 == 9 else city
        cases.append(Case(f"weather in {city}?", expected, {"expected_tools": [
            {"name": "get_weather", "arguments": {"city": city}}]}, f"case-{i:04d}"))
    return Dataset("bench-weather", tuple(cases))


def experiment(provider: Any = None) -> Experiment:
    return Experiment(dataset(), make_agent(), [Contains(), ToolTrajectory(), TokenBudget(200)],
                      concurrency=CONCURRENCY, tracer_provider=provider)


class _Host(App[None]):
    """The experiments view alone; notes when a frame showing the cases left for the driver."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.cases_painted_at: float | None = None
        self.list_painted_at: float | None = None

    def on_mount(self) -> None:
        self.push_screen(ExperimentsScreen(self.store.reader))

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        super()._display(screen, renderable)
        if renderable is None:
            return
        now = time.perf_counter()
        shown = isinstance(screen, ExperimentsScreen | ExperimentCasesScreen) and bool(
            screen.query_one(DataTable).row_count)
        if shown and isinstance(screen, ExperimentsScreen) and self.list_painted_at is None:
            self.list_painted_at = now
        if shown and isinstance(screen, ExperimentCasesScreen) and self.cases_painted_at is None:
            self.cases_painted_at = now


async def _open_in_studio(store: Store) -> tuple[float, float]:
    """Seconds from mount to the list painted, and from Enter to the cases painted."""
    app = _Host(store)
    started = time.perf_counter()
    async with app.run_test(size=TERMINAL) as pilot:
        while app.list_painted_at is None:
            await asyncio.sleep(0.0005)
        listed = app.list_painted_at - started
        await pilot.pause()
        pressed = time.perf_counter()
        app.post_message(events.Key("enter", "\r"))
        deadline = pressed + 30
        while app.cases_painted_at is None and time.perf_counter() < deadline:
            await asyncio.sleep(0.0005)
        assert app.cases_painted_at is not None, "the cases never painted"
        return listed, app.cases_painted_at - pressed


def main(console: Console) -> None:
    experiment().run_sync()  # warm up imports and the scripted model
    started = time.perf_counter()
    result = experiment().run_sync()
    alone = Timing(len(result.cases), time.perf_counter() - started)
    passed = result.summary("contains").pass_rate
    with tempfile.TemporaryDirectory() as directory, Store(Path(directory) / "bench.db") as store:
        started = time.perf_counter()
        experiment(studio_tracer_provider(store.writer)).run_sync()
        ran = time.perf_counter()
        store.writer.flush()
        stored = Timing(CASES, time.perf_counter() - started)
        committing = time.perf_counter() - ran
        spans = sum(1 for _ in store.reader.trace_spans(store.reader.trace_ids()[0]))
        listed, opened = asyncio.run(_open_in_studio(store))

    table = Table(title=f"Experiment: {CASES:,} cases, scripted model, {CONCURRENCY} at once, "
                        "3 scorers")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("cases/s, spans kept only for the scorers", f"{alone.per_second:,.0f}")
    table.add_row("[bold]cases/s, into the store (committed)", f"[bold]{stored.per_second:,.0f}")
    table.add_row("  of which waiting for the writer to commit (s)", f"{committing:.2f}")
    table.add_row("  spans stored for the experiment", f"{spans:,}")
    table.add_row("  contains pass rate (every 10th case fails by design)", f"{passed:.0%}")
    table.add_row("studio: experiments list, mount → painted (ms)", f"{listed * 1e3:.0f}")
    table.add_row("[bold]studio: Enter on the experiment → its cases painted (ms)",
                  f"[bold]{opened * 1e3:.0f}")
    console.print(table)

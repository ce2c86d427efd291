"""Snapshots of the graph pane: sequence, parallel, branch, loop and nested workflows, and an
agent's loop, each with its nodes in several states (pending, running, paused, done, failed,
suspended between them), at 120x40 and 80x24 (the larger graphs scroll there); and the studio
with the graph shown."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from lumos_studio.app import StudioApp
from lumos_studio.demo.agents import weather
from lumos_studio.sessions.base import AgentInfo
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.graph import GraphPane
from tests.builders import MS, T0, weather_trace
from tests.ui.graph_fixtures import (
    branch_info,
    loop_info,
    nested_info,
    parallel_info,
    run_spans,
    sequence_info,
)
from tests.ui.helpers import wait_for

SIZES = [(120, 40), (80, 24)]
NOW = T0 + 2_500 * MS


class Host(App[None]):
    """The pane alone, filling the screen, on a clock that stands still."""

    CSS = "GraphPane { height: 1fr; border: round $primary; }"

    def compose(self) -> ComposeResult:
        yield GraphPane(id="graph", clock=lambda: NOW)


def showing(info: AgentInfo, spans: list, *, paused: str | None = None,  # type: ignore[type-arg]
            selected: str | None = None, breakpoints: frozenset[str] = frozenset()
            ) -> Callable[[Pilot[None]], object]:
    async def run_before(pilot: Pilot[None]) -> None:
        graph = pilot.app.query_one(GraphPane)
        graph.show_graph(info)
        graph.show_runs(spans)
        graph.paused = paused
        graph.breakpoints = set(breakpoints)
        graph.focus()
        if selected is not None:
            graph.select_node(selected)
        await pilot.pause()

    return run_before


CASES: dict[str, Callable[[], tuple[AgentInfo, Callable[[Pilot[None]], object]]]] = {
    # done, failed, pending
    "sequence": lambda: (info := sequence_info(), showing(info, run_spans("seq", {
        "fetch": ("success", 0, 120), "parse": ("failed", 120, 30)}),
        selected="parse", breakpoints=frozenset({"summarise"}))),
    # done, running, paused, pending
    "parallel": lambda: (info := parallel_info(), showing(info, run_spans("par", {
        "plan": ("success", 0, 40), "research": ("", 40, None), "weather": ("success", 40, 900),
        "sights": ("", 40, None)}), paused="hotels", breakpoints=frozenset({"hotels"}))),
    # done, suspended, pending (the cases not taken)
    "branch": lambda: (info := branch_info(), showing(info, run_spans("br", {
        "measure": ("success", 0, 15), "size": ("suspended", 15, 200),
        "small_plan": ("suspended", 16, 199)}), selected="small_plan")),
    # done, running with its passes, failed
    "loop": lambda: (info := loop_info(), showing(info, run_spans("loop", {
        "draft": ("success", 0, 300), "revise": ("", 300, None), "critique": ("success", 900, 80),
        "polish": ("", 980, None)}, passes={"revise": 3}), selected="revise")),
    # done, running, paused inside the nested workflow, pending
    "nested": lambda: (info := nested_info(), showing(info, run_spans("outer", {
        "write": ("success", 0, 500), "review": ("", 500, None), "checks": ("", 510, None),
        "facts": ("failed", 510, 60), "style": ("success", 510, 70)}), paused="verdict",
        breakpoints=frozenset({"verdict"}))),
    # an agent's run: its model called twice, its tool once, all done
    "agent": lambda: (info := AgentInfo.of(weather),
                      showing(info, weather_trace(), selected="model")),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("case", list(CASES))
def test_graph_snapshot(snap_compare, case: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    _info, run_before = CASES[case]()
    assert snap_compare(Host(), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_studio_with_the_graph_shown(snap_compare, relative_store: Store,  # type: ignore[no-untyped-def]
                                         size: tuple[int, int]) -> None:
    relative_store.writer.submit_many(weather_trace("0af7651916cd43dd8448eb211c80319c", T0))
    relative_store.writer.flush()
    app = StudioApp(relative_store, InProcessSession.recording(load_demo(), relative_store.writer))

    async def show_graph(pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: app.trace_id is not None)
        await pilot.press("ctrl+g")
        graph = app.query_one(GraphPane)
        await wait_for(pilot, lambda: graph.runs.get("model") is not None)
        app.clear_notifications()  # "Graph shown" lasts 1.5 s: gone or not, by the machine's load
        await pilot.pause()

    assert snap_compare(app, run_before=show_graph, terminal_size=size)

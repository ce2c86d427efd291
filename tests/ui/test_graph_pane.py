"""The graph pane in the studio: ctrl+g shows the selected workflow's graph, a run colours its
nodes, and choosing a node selects its span in the waterfall."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import on
from textual.app import App, ComposeResult
from textual.message import Message

from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.graph_layout import BREAKPOINT
from lumos_studio.ui.graph_model import NodeState
from lumos_studio.ui.widgets.graph import GraphPane
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.ui.graph_fixtures import nested_info, run_spans
from tests.ui.helpers import wait_for, worker_studio
from tests.ui.test_chat_streaming import choose, send, transcript


async def test_ctrl_g_shows_the_selected_workflows_graph_and_a_run_colours_it(
    store: Store,
) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(140, 45)) as pilot:
        graph = app.query_one(GraphPane)
        assert not graph.display  # hidden until asked for
        await choose(pilot, "essay_writer")
        await pilot.press("ctrl+g")
        assert graph.display and app.focused is graph and app.layout.graph
        assert "while needs_work" in graph.text and "⇶ review" in graph.text
        assert graph.order[:3] == ["outline", "write_sections", "section_writer"]

        app.query_one("#chat-input").focus()
        await send(pilot, '{"topic": "testing", "sections": 2}')
        await wait_for(pilot, lambda: "essay_writer › success · run " in transcript(app))
        # Every node done: the verdict's step ends before the nested review workflow around it,
        # and the graph is read again after the commits that end them (a busy machine: later).
        await wait_for(pilot, lambda: all(
            (run := graph.runs.get(n)) is not None and run.state is NodeState.DONE
            for n in graph.order))
        runs = graph.runs
        assert runs["write_sections"].iterations == 2  # foreach: one pass per section
        assert runs["revise"].iterations == 3  # while: until the critique scores 8
        assert "↻ 3/4 passes" in graph.text

        tree, detail = app.query_one(TraceWaterfall), app.query_one(SpanDetail)
        graph.focus()
        await pilot.press("home", "down", "down", "down")  # outline, write_sections, writer, join
        assert graph.selected == "join_sections"
        await wait_for(pilot, lambda: tree.cursor_span is not None
                       and tree.cursor_span.name == "step join_sections")
        await wait_for(pilot, lambda: detail.span is not None
                       and detail.span.name == "step join_sections")
        assert app.focused is graph  # the waterfall follows; the focus stays

        await pilot.press("ctrl+g")
        assert not graph.display and not app.layout.graph


LOOPING = '''
from lumos_core.workflows import Workflow, loop_while, step

@step
def start(ctx):
    return 0

@step
def bump(ctx):
    return ctx.input + 1

def below_three(ctx):
    return ctx.input < 3

counter = Workflow("counter", [start, loop_while(below_three, bump, max_iterations=5,
                                                 name="count")], store="runs.db")
'''


async def test_a_workflow_run_in_the_worker_process_colours_its_graph(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shape comes from the worker's typed description, the states from its spans."""
    monkeypatch.chdir(tmp_path)
    agent_file = tmp_path / "flows.py"
    agent_file.write_text(LOOPING)
    with worker_studio(store, agent_file, watch=False) as app:
        await _run_the_counter(app)


async def _run_the_counter(app: StudioApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.loads == 1, timeout=20)
        graph = app.query_one(GraphPane)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: graph.root is not None and graph.root.id == "counter")
        assert "while below_three" in graph.text and "↻ ≤5 passes" in graph.text
        app.query_one("#chat-input").focus()
        await send(pilot, "go")
        await wait_for(pilot, lambda: "counter › success" in transcript(app), timeout=20)
        await wait_for(pilot, lambda: graph.runs.get("count") is not None
                       and graph.runs["count"].iterations == 3, timeout=10)
        assert graph.runs["bump"].state is NodeState.DONE
        assert "↻ 3/5 passes" in graph.text


class Host(App[None]):
    """The pane alone, recording what it says the way the studio (and the debugger) hear it."""

    def __init__(self) -> None:
        super().__init__()
        self.heard: list[Message] = []

    def compose(self) -> ComposeResult:
        yield GraphPane()

    @on(GraphPane.NodeChosen)
    @on(GraphPane.BreakpointToggled)
    def record(self, message: Message) -> None:
        self.heard.append(message)


async def test_b_toggles_a_breakpoint_and_enter_folds_a_nested_workflow() -> None:
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        graph = app.query_one(GraphPane)
        graph.show_graph(nested_info())
        graph.show_runs(run_spans("outer", {"write": ("success", 0, 10)}))
        graph.focus()
        await pilot.press("home")
        chosen = [m for m in app.heard if isinstance(m, GraphPane.NodeChosen)]
        assert chosen[-1].node_id == "write" and chosen[-1].span_id == f"{2:016x}"

        await pilot.press("down", "b")
        toggled = [m for m in app.heard if isinstance(m, GraphPane.BreakpointToggled)]
        assert [(m.node_id, m.on) for m in toggled] == [("review", True)]
        assert graph.breakpoints == {"review"} and BREAKPOINT in graph.text
        await pilot.press("b")
        assert graph.breakpoints == set() and BREAKPOINT not in graph.text
        assert app.heard[-1].on is False  # type: ignore[attr-defined]

        await pilot.press("enter")
        assert "⇶ review ▸ 2 steps" in graph.text and "verdict" not in graph.text
        assert graph.order == ["write", "review", "ship"]
        await pilot.press("enter")
        assert "verdict" in graph.text

        graph.breakpoints = {"verdict", "ship"}
        graph.paused = "verdict"
        await pilot.pause()
        assert graph.runs["verdict"].state is NodeState.PAUSED
        assert graph.text.count(BREAKPOINT) == 2 and "‖ verdict" in graph.text


async def test_a_click_on_a_node_selects_it() -> None:
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        graph = app.query_one(GraphPane)
        graph.show_graph(nested_info())
        await pilot.pause()
        lines = graph.text.splitlines()
        row = next(i for i, line in enumerate(lines) if "○ style" in line)
        column = lines[row].index("○ style")
        left = (graph.scrollable_content_region.width - max(map(len, lines))) // 2  # centred
        await pilot.click(GraphPane, offset=(left + column + 2, row))
        assert graph.selected == "style"
        chosen = [m for m in app.heard if isinstance(m, GraphPane.NodeChosen)]
        assert chosen[-1].node_id == "style"

"""The graph and the debugger together: ``b`` on a node sets the breakpoint it stands for (the
same one the agents list and the waterfall show), a run pauses there with the node drawn
paused, and the node goes back to its state when the run goes on."""

from __future__ import annotations

from pathlib import Path

from lumos_core.debug import PausePoint
from lumos_studio.app import StudioApp
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.breakpoints import BreakpointSpec
from lumos_studio.ui.graph_layout import BREAKPOINT
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.graph import GraphPane
from tests.ui.helpers import wait_for
from tests.ui.test_debugger import choose_and_send, paused, trip_catalog


async def test_b_on_a_graph_node_sets_its_step_breakpoint_and_the_run_pauses_there(
    store: Store, tmp_path: Path
) -> None:
    app = StudioApp(store, InProcessSession.recording(trip_catalog(tmp_path), store.writer))
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: app.agent_name == "trip")
        await pilot.press("escape", "ctrl+g")
        graph = app.query_one(GraphPane)
        await wait_for(pilot, lambda: app.focused is graph and graph.order == [
            "plan", "research", "write"])
        await pilot.press("home", "down", "b")  # research
        await wait_for(pilot, lambda: app.breakpoints.specs == (
            BreakpointSpec("trip", PausePoint.BEFORE_STEP, "research"),))
        assert graph.breakpoints == {"research"}
        assert BREAKPOINT in graph.text
        assert "trip" in app.query_one(AgentList).marked  # the agents list's gutter too

        app.query_one("#chat-input").focus()
        await choose_and_send(pilot, "Rome")
        await paused(pilot)
        assert graph.paused == "research"
        await pilot.press("c")
        await wait_for(pilot, lambda: not app.running, timeout=20)
        assert graph.paused is None

        graph.focus()
        await pilot.press("home", "down", "b")  # and off again
        await wait_for(pilot, lambda: app.breakpoints.specs == ())
        assert graph.breakpoints == set()

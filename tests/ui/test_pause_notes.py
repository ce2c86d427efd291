"""A run that ends closes every paused view it left, even under the command palette (Pilot)."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette

from lumos_core.debug import PausePoint
from lumos_core.workflows import StepContext, Workflow, parallel, step
from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import AgentCatalog
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.breakpoints import BreakpointSpec
from lumos_studio.ui.screens.paused import PausedScreen
from lumos_studio.ui.widgets.graph import GraphPane
from tests.ui.helpers import wait_for
from tests.ui.test_chat_streaming import choose, send


@step
async def north(ctx: StepContext) -> str:
    """Look north."""
    return "cold"


@step
async def south(ctx: StepContext) -> str:
    """Look south."""
    return "warm"


def paused_views(app: StudioApp) -> list[PausedScreen]:
    return [screen for screen in app.screen_stack if isinstance(screen, PausedScreen)]


@pytest.mark.parametrize("palette", [False, True], ids=["alone", "under-the-palette"])
async def test_a_cancelled_run_closes_every_paused_view_it_left(
    store: Store, palette: bool
) -> None:
    winds = Workflow("winds", [parallel(north, south)], store=":memory:")
    session = InProcessSession.recording(AgentCatalog("test", {}, {"winds": winds}), store.writer)
    app = StudioApp(store, session)
    for name in ("north", "south"):
        app.breakpoints.toggle(BreakpointSpec("winds", PausePoint.BEFORE_STEP, name))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, "winds")
        await send(pilot, '"go"')
        await wait_for(pilot, lambda: len(paused_views(app)) == 2, timeout=20)
        graph = app.query_one(GraphPane)
        assert graph.paused in ("north", "south")
        if palette:
            app.action_command_palette()
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        app.action_cancel_run()
        await wait_for(pilot, lambda: not app.running, timeout=20)
        assert app.conversations["winds"].turns[-1] == ("error", "cancelled")
        if palette:  # not the run's to close: it stays, and the paused views go once it does
            await pilot.pause(0.2)
            assert isinstance(app.screen, CommandPalette)
            await pilot.press("escape")
        await wait_for(pilot, lambda: not paused_views(app))
        assert app.screen is app.main
        assert graph.paused is None  # the graph no longer shows a step waiting either
        assert not app._waiting_pauses

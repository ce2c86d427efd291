"""Snapshots of each pane given the screen with F6, at 80x24 and 120x40, on the weather trace
with its tool call selected."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from lumos_studio.store import Store
from tests.ui.helpers import wait_for
from tests.ui.test_snapshots import select_tool_span, studio_with_a_recorded_turn

# The widget to focus in each pane before pressing F6.
FOCUS = {
    "agents": "#agents",
    "chat": "#chat-input",
    "trace-list": "#traces",
    "waterfall": "#tree",
    "span-detail": "#detail",
    "memory": "#memory",
    "logs": "#log-lines",
}


@pytest.fixture
def store(relative_store: Store) -> Store:
    return relative_store


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("pane", list(FOCUS))
def test_a_maximized_pane(snap_compare, store: Store, pane: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    app = studio_with_a_recorded_turn(store)

    async def maximize(pilot: Pilot) -> None:
        await select_tool_span(pilot)
        pilot.app.query_one(FOCUS[pane]).focus()
        await pilot.press("f6")
        await wait_for(pilot, lambda: pilot.app.screen.maximized is not None)
        await pilot.pause()

    assert snap_compare(app, run_before=maximize, terminal_size=size)

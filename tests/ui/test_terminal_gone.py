"""The studio quits when its terminal goes away, instead of spinning on a dead tty."""

from __future__ import annotations

import io
import os
import pty
import sys

import pytest

from lumos_studio.app import StudioApp
from lumos_studio.records import SpanRecord
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.graph import GraphPane
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall


async def test_a_hung_up_terminal_ends_the_app(store: Store, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    master, slave = pty.openpty()
    terminal = io.TextIOWrapper(io.FileIO(slave, "r", closefd=True))
    monkeypatch.setattr(sys, "__stdin__", terminal)
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            app._exit_if_terminal_closed()  # the window is still open: nothing happens
            await pilot.pause()
            assert app.is_running and app.return_code is None
            os.close(master)  # the terminal window closes
            app._exit_if_terminal_closed()
            await pilot.pause()
            assert app.return_code == 1
    finally:
        terminal.close()


async def test_a_panes_message_arriving_after_the_app_closed_is_dropped(store: Store) -> None:
    """A pane's message still queued when the screens are gone must not query them (it raised
    IndexError from ``screen_stack[0]`` and printed a traceback on the way out)."""
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
    assert not app.screen_stack  # closed: what follows is what a late message would do
    span = SpanRecord("t" * 32, "s" * 16, None, "late", 0, 1)
    app.on_trace_waterfall_span_chosen(TraceWaterfall.SpanChosen(span))
    app.on_trace_list_chosen(TraceList.Chosen("t" * 32))
    app.on_agent_list_confirmed(AgentList.Confirmed())
    app.on_agent_list_chosen(AgentList.Chosen("weather"))
    app.on_graph_pane_node_chosen(GraphPane.NodeChosen("agent", "s" * 16))
    app.jump_to_span("t" * 32, "s" * 16)
    assert app.trace_id is None  # nothing was started for the late messages

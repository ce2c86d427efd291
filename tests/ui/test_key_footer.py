"""The studio's footer follows the focus, is not rebuilt when its keys stay the same, and waits
while a trace the user opened is read and drawn."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from lumos_core import Agent, Message, ScriptedModel, tool
from lumos_core.messages import ToolCallPart
from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import AgentCatalog, load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets import key_footer
from lumos_studio.ui.widgets.key_footer import KeyFooter
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import agent_run
from tests.ui.helpers import wait_for

LONG_HOLD = 3.0  # seconds: the tests' hold, well past what a pause of 0.3 s may take


def descriptions(app: StudioApp) -> list[str]:
    return [key.description for key in app.query_one(KeyFooter).query(FooterKey)]


async def list_focused(app: StudioApp, pilot: Pilot[None], runs: int) -> None:
    """The ``runs`` runs listed, the newest shown, the list focused and the footer showing its
    keys with their states settled (no rebuild left on its way)."""
    traces, tree = app.query_one(TraceList), app.query_one(TraceWaterfall)
    await wait_for(pilot, lambda: traces.row_count == runs and len(tree.spans) == 2)
    traces.focus()
    await wait_for(pilot, lambda: "Mark" in descriptions(app))
    await pilot.pause(0.2)  # the span's detail and memory in


async def test_the_footer_shows_the_focused_panes_keys_and_keeps_its_widgets_otherwise(
    store: Store,
) -> None:
    store.writer.submit_many(agent_run(1))
    store.writer.flush()
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        traces = app.query_one(TraceList)
        tree = app.query_one(TraceWaterfall)
        await list_focused(app, pilot, runs=1)
        keys = list(app.query_one(KeyFooter).query(FooterKey))

        app.refresh_bindings()  # nothing the footer shows changed
        await pilot.pause()
        await pilot.pause()
        assert list(app.query_one(KeyFooter).query(FooterKey)) == keys

        tree.focus()  # other keys: rebuilt
        await wait_for(pilot, lambda: "Mark" not in descriptions(app))
        traces.focus()
        await wait_for(pilot, lambda: "Mark" in descriptions(app))


async def test_opening_a_trace_holds_the_footer_until_the_trace_is_shown(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Enter on a trace moves the focus to the tree; the footer's rebuild for the tree's keys
    waits until the trace is drawn, so it does not compete with reading it."""
    # A hold ends by itself after HOLD_AT_MOST: longer here, so that a loaded machine's slow
    # pause cannot outlast it before the trace comes (the trace's arrival releases it).
    monkeypatch.setattr(key_footer, "HOLD_AT_MOST", LONG_HOLD)
    store.writer.submit_many([*agent_run(1), *agent_run(2)])
    store.writer.flush()
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        traces = app.query_one(TraceList)
        tree = app.query_one(TraceWaterfall)
        await list_focused(app, pilot, runs=2)
        other = next(t for t in traces.row_traces if t != tree.trace_id)
        traces.move_cursor(row=traces.row_traces.index(other))
        reading = threading.Event()
        read = app.store.reader.trace_headers

        def slow_read(*args: Any, **kwargs: Any) -> Any:
            reading.wait(10)  # the trace is still being read
            return read(*args, **kwargs)

        app.store.reader.trace_headers = slow_read  # type: ignore[method-assign]
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.focused is tree
        assert "Mark" in descriptions(app)  # held: the list's keys while the trace is read
        reading.set()
        await wait_for(pilot, lambda: tree.trace_id == other and len(tree.spans) == 2)
        await wait_for(pilot, lambda: "Mark" not in descriptions(app))  # then the tree's


async def test_a_hold_nobody_releases_ends_by_itself(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(key_footer, "HOLD_AT_MOST", LONG_HOLD)  # a slow pause stays inside it
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        traces = app.query_one(TraceList)
        traces.focus()
        await wait_for(pilot, lambda: "Mark" in descriptions(app))
        await pilot.pause(0.2)  # no rebuild left on its way
        app.query_one(KeyFooter).hold()
        app.query_one(TraceWaterfall).focus()
        await pilot.pause(0.3)
        assert "Mark" in descriptions(app)  # held: the list's keys still
        await wait_for(pilot, lambda: "Mark" not in descriptions(app), timeout=LONG_HOLD + 2)


def waiting_agent(release: threading.Event) -> AgentCatalog:
    """An agent whose tool waits for ``release``: its run goes on until the test says."""

    @tool
    async def wait_here() -> str:
        """Wait for the test."""
        await asyncio.to_thread(release.wait, 10)
        return "done"

    call = Message("assistant", (ToolCallPart("c1", "wait_here", {}),),
                   finish_reason="tool_calls")
    model = ScriptedModel([call, "All done."])
    return AgentCatalog("test", {"waiter": Agent("waiter", model=model, tools=[wait_here])})


async def test_cancel_run_is_in_the_footer_only_while_a_run_is_going(store: Store) -> None:
    release = threading.Event()
    app = StudioApp(store, InProcessSession.recording(waiting_agent(release), store.writer))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            for pane in ("#tree", "#detail"):
                app.query_one(pane).focus()
                await wait_for(pilot, lambda pane=pane: app.focused is app.query_one(pane)
                               and "Keys" in descriptions(app))
                await pilot.pause(0.1)
                assert "Cancel run" not in descriptions(app), pane
            app.query_one("#chat-input").focus()
            await pilot.press(*"wait", "enter")
            await wait_for(pilot, lambda: app.running)
            app.query_one(TraceWaterfall).focus()
            await wait_for(pilot, lambda: "Cancel run" in descriptions(app))
            release.set()
            await wait_for(pilot, lambda: not app.running)
            await wait_for(pilot, lambda: "Cancel run" not in descriptions(app))
    finally:
        release.set()  # never leave the tool's thread waiting

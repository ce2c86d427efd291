"""The memory pane: live while a run goes, and as it was at any earlier span."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from rich.console import Console
from textual.app import App, ComposeResult
from textual.widgets import Static

from lumos_core import Agent, Memory, ScriptedModel, tool
from lumos_core.telemetry.semconv import CONVERSATION_ID, EVENT_MEMORY_UPDATE, EVENT_MEMORY_UPSERT
from lumos_studio.app import StudioApp
from lumos_studio.memory_view import MemoryView, memory_view
from lumos_studio.records import LogRecord
from lumos_studio.sessions.discovery import AgentCatalog
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.memory_pane import (
    CHANGED_LINES,
    WORKING_MEMORY_LINES,
    MemoryPane,
    folds_lines,
    render_memory,
)
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import T0, make_span
from tests.ui.helpers import wait_for


def rendered(renderable: object) -> str:
    console = Console(width=100, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()


async def test_working_memory_shows_before_the_run_ends_and_time_travels(
    store: Store, tmp_path: Path
) -> None:
    release = threading.Event()

    @tool
    def slow_step(note: str) -> str:
        """A slow step."""
        release.wait(10)
        return "done"

    model = ScriptedModel([
        ScriptedModel.call("update_working_memory", "c1", memory="- Name: Ada"),
        ScriptedModel.call("slow_step", "c2", note="x"),
        ScriptedModel.call("update_working_memory", "c3", memory="- Name: Ada Lovelace"),
        "Noted.",
    ])
    agent = Agent("mem", model=model, tools=[slow_step],
                  memory=Memory(tmp_path / "memory.db", semantic_recall=False))
    session = InProcessSession.recording(AgentCatalog("test", {"mem": agent}), store.writer)
    app = StudioApp(store, session)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(MemoryPane)
        await pilot.press(*"my name is Ada", "enter")
        await wait_for(pilot, lambda: pane.view is not None
                       and (pane.view.working_memory or "").strip() == "- Name: Ada")
        assert app.running, "the pane must show the change while the run is still going"
        assert pane.view.at_ns is None  # live

        release.set()
        await wait_for(pilot, lambda: not app.running)
        await wait_for(pilot, lambda: pane.view.working_memory.strip() == "- Name: Ada Lovelace")
        assert [role for role, _ in pane.view.messages][:1] == ["user"]

        tree = app.query_one(TraceWaterfall)
        first_update = min(
            (s for s in tree.spans.values() if s.name == "execute_tool update_working_memory"),
            key=lambda s: s.start_ns,
        )
        tree.focus()
        tree.select_span(first_update.span_id)
        await wait_for(pilot, lambda: pane.view.at_ns == first_update.end_ns)
        assert pane.view.working_memory.strip() == "- Name: Ada"
        assert pane.view.working_memory_diff == ("+- Name: Ada",)
        shown = rendered(render_memory(pane.view))
        assert "changed in this step:" in shown and "+- Name: Ada" in shown
        assert "Lovelace" not in shown


def test_memory_events_a_sender_got_wrong_are_skipped_and_counted() -> None:
    thread = "t1"
    update = {"op": "update_memory", "kind": "working_memory", "scope": "thread", "key": thread}
    events = [
        LogRecord(T0, {**update, "value": "- Name: Ada"}, event_name=EVENT_MEMORY_UPDATE),
        LogRecord(T0 + 1, update, event_name=EVENT_MEMORY_UPDATE),  # no value
        LogRecord(T0 + 2, {"op": "upsert_memory", "kind": "messages", "thread_id": thread,
                           "resource_id": "r", "messages": [{"id": "m1"}]},
                  event_name=EVENT_MEMORY_UPSERT),  # a message without its fields
    ]
    view = memory_view([make_span(attributes={CONVERSATION_ID: thread})], events, None)
    assert view.working_memory == "- Name: Ada"
    assert view.notes == ("2 memory events could not be read and were skipped.",)
    assert "2 memory events could not be read" in rendered(render_memory(view))


LONG_MEMORY = "\n".join(f"- fact {n}" for n in range(WORKING_MEMORY_LINES + 150))
LONG_CHANGE = tuple(f"+ line {n}" for n in range(CHANGED_LINES + 7))


def test_a_long_working_memory_and_change_are_laid_out_in_part_unless_asked() -> None:
    """A 50 KB working memory took ~56 ms to lay out at every span and replay instant."""
    view = MemoryView("t", None, working_memory=LONG_MEMORY, working_memory_diff=LONG_CHANGE)
    part = rendered(render_memory(view))
    assert f"fact {WORKING_MEMORY_LINES - 1}" in part and f"fact {WORKING_MEMORY_LINES}" not in part
    assert "… 150 more lines · m (in this pane) shows them" in part
    assert f"line {CHANGED_LINES - 1}" in part and f"line {CHANGED_LINES}" not in part
    assert "… 7 more changed lines" in part
    whole = rendered(render_memory(view, whole=True))
    assert f"fact {WORKING_MEMORY_LINES + 149}" in whole and "more line" not in whole
    assert f"line {CHANGED_LINES + 6}" in whole
    short = MemoryView("t", None, working_memory="- one fact")
    assert not folds_lines(short) and folds_lines(view)


class MemoryHost(App[None]):
    def compose(self) -> ComposeResult:
        yield MemoryPane()


async def test_m_shows_a_long_memory_whole_and_is_offered_only_then() -> None:
    app = MemoryHost()
    async with app.run_test(size=(80, 40)) as pilot:
        pane = app.query_one(MemoryPane)
        pane.focus()
        pane.show(MemoryView("t", T0, working_memory="- one fact"))
        await pilot.pause()
        assert not pane.check_action("toggle_whole", ())  # a short memory: nothing to show
        pane.show(MemoryView("t", T0, working_memory=LONG_MEMORY))
        await pilot.pause()
        assert pane.check_action("toggle_whole", ())
        body = pane.query_one("#memory-body", Static)
        assert "more lines" in rendered(body.content)
        await pilot.press("m")
        await pilot.pause()
        assert pane.whole and "more lines" not in rendered(body.content)


async def test_a_view_that_moved_on_in_time_alone_is_not_laid_out_again() -> None:
    """A replay playing on shows the same memory at every instant: the subtitle moves, the
    laid-out memory stays as it is."""
    app = MemoryHost()
    async with app.run_test(size=(80, 40)) as pilot:
        pane = app.query_one(MemoryPane)
        pane.show(MemoryView("t", T0, working_memory=LONG_MEMORY))
        await pilot.pause()
        body = pane.query_one("#memory-body", Static)
        laid_out = body.content
        pane.show(MemoryView("t", T0 + 10**9, working_memory=LONG_MEMORY))
        await pilot.pause()
        assert body.content is laid_out
        assert "t · at" in str(pane.border_subtitle)
        pane.show(MemoryView("t", T0 + 2 * 10**9, working_memory="- one fact"))
        await pilot.pause()
        assert body.content is not laid_out and "one fact" in rendered(body.content)

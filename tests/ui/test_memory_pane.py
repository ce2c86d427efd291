"""The memory pane: live while a run goes, and as it was at any earlier span."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from rich.console import Console

from lumos_core import Agent, Memory, ScriptedModel, tool
from lumos_core.telemetry.semconv import CONVERSATION_ID, EVENT_MEMORY_UPDATE, EVENT_MEMORY_UPSERT
from lumos_studio.app import StudioApp
from lumos_studio.memory_view import memory_view
from lumos_studio.records import LogRecord
from lumos_studio.sessions.discovery import AgentCatalog
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.memory_pane import MemoryPane, render_memory
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

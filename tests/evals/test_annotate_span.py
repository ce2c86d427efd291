"""ctrl+n in the studio annotates the span in the detail pane; the detail then lists it."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Static

from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.screens.experiments_annotate import AnnotateScreen
from lumos_studio.ui.widgets.span_detail import SpanDetail
from tests.builders import weather_trace
from tests.ui.helpers import wait_for

TRACE = "0af7651916cd43dd8448eb211c80319c"
TOOL_SPAN = "a000000000000003"


def detail_text(app: StudioApp) -> str:
    console = Console(width=160, file=io.StringIO(), record=True)
    console.print(app.query_one(SpanDetail).query_one("#span-body", Static).content)
    return console.export_text()


async def test_ctrl_n_annotates_the_selected_span(store: Store) -> None:
    store.writer.submit_many(weather_trace(TRACE))
    store.writer.flush()
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("ctrl+n")
        assert not isinstance(app.screen, AnnotateScreen)  # nothing selected yet
        app.jump_to_span(TRACE, TOOL_SPAN)
        detail = app.query_one(SpanDetail)
        await wait_for(pilot, lambda: detail.span is not None
                       and detail.span.span_id == TOOL_SPAN)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, AnnotateScreen))
        await pilot.press("1", "tab", *"right-city", "tab", *"pass", "tab", *"good call",
                          "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, AnnotateScreen))
        await wait_for(pilot, lambda: "right-city" in detail_text(app))
        shown = detail_text(app)
        assert "Evaluations" in shown and "good call" in shown
        store.writer.flush()
        [record] = store.reader.logs(trace_id=TRACE, span_id=TOOL_SPAN)
        assert record.attributes["gen_ai.evaluation.name"] == "human"
        assert record.attributes["gen_ai.evaluation.score.value"] == 1.0
        assert record.attributes["lumos.evaluation.passed"] is True

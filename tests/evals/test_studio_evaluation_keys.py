"""The studio's evaluation keys: ctrl+n annotates the span in the detail pane (which then lists
it), F12 scores the marked or highlighted traces."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Static

from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.screens.experiments_annotate import AnnotateScreen
from lumos_studio.ui.screens.experiments_score import ScoreTracesScreen
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_list import TraceList
from tests.builders import T0, weather_trace
from tests.ui.helpers import wait_for

TRACE = "0af7651916cd43dd8448eb211c80319c"
TOOL_SPAN = "a000000000000003"


def detail_text(app: StudioApp) -> str:
    console = Console(width=160, file=io.StringIO(), record=True)
    console.print(app.query_one(SpanDetail).query_one("#span-body", Static).content)
    return console.export_text()


async def test_ctrl_n_annotates_the_selected_span(store: Store) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("ctrl+n")  # an empty store: no trace opens, no span is selected
        await pilot.pause()
        assert not isinstance(app.screen, AnnotateScreen)
        store.writer.submit_many(weather_trace(TRACE))
        store.writer.flush()
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


async def test_f12_scores_the_highlighted_or_marked_traces(store: Store) -> None:
    other = "1bf7651916cd43dd8448eb211c80319c"
    store.writer.submit_many([*weather_trace(TRACE), *weather_trace(other, T0 + 60 * 10**9)])
    store.writer.flush()
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(140, 40)) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == 2)
        traces.focus()
        await pilot.press("m", "down", "m", "f12")
        await wait_for(pilot, lambda: isinstance(app.screen, ScoreTracesScreen))
        screen = app.screen
        assert isinstance(screen, ScoreTracesScreen)
        assert sorted(screen.trace_ids) == sorted([TRACE, other])
        await pilot.press("tab", "tab", "tab", *"lots", "enter")
        result = screen.query_one("#score-result", Static)
        await wait_for(pilot, lambda: "seconds: write a number" in str(result.content))
        await pilot.press(*["backspace"] * 4, "shift+tab", "shift+tab", "shift+tab",
                          *"Paris", "tab", "tab", *"get_weather", "enter")
        await wait_for(pilot, lambda: screen.scored is not None)
        assert screen.scored is not None
        assert [(t.trace_id, [(s.name, s.passed) for s in t.scores]) for t in screen.scored] \
            == [(t, [("contains", True), ("trajectory", True)]) for t in screen.trace_ids]
        store.writer.flush()
        logs = store.reader.logs(trace_id=TRACE)
        assert [log.attributes["gen_ai.evaluation.name"] for log in logs] == [
            "contains", "trajectory"]
        assert all(log.span_id == "a000000000000001" for log in logs)  # the agent's run
        await pilot.press("escape")
        assert not isinstance(app.screen, ScoreTracesScreen)


async def test_f12_with_no_trace_says_what_to_do(store: Store) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f12")
        await pilot.pause()
        assert not isinstance(app.screen, ScoreTracesScreen)

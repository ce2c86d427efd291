"""The experiments view with Pilot: the list, one experiment's cases, two side by side, and
Enter on a case showing its spans in the studio."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.app import App
from textual.widgets import DataTable, Static

from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.screens.experiments import (
    ExperimentsScreen,
    OpenExperimentTrace,
    Record,
)
from lumos_studio.ui.screens.experiments_annotate import AnnotateScreen
from lumos_studio.ui.screens.experiments_cases import ExperimentCasesScreen
from lumos_studio.ui.screens.experiments_compare import ExperimentCompareScreen
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.evals.experiment_store import three_experiments
from tests.ui.helpers import wait_for


class ExperimentsHost(App[None]):
    """Opens the experiments view over a plain screen and keeps what it asks to open."""

    def __init__(self, store: Store, record: Record | None = None) -> None:
        super().__init__()
        self.store = store
        self.record = record
        self.opened: list[tuple[str, str]] = []

    def on_mount(self) -> None:
        self.push_screen(ExperimentsScreen(self.store.reader, record=self.record))

    def on_open_experiment_trace(self, message: OpenExperimentTrace) -> None:
        self.opened.append((message.trace_id, message.span_id))


def cells(table: DataTable[object], row: int) -> list[str]:
    return [str(getattr(c, "plain", c)) for c in table.get_row_at(row)]


def text(static: Static) -> str:
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(static.content)
    return console.export_text()


@pytest.fixture
def experiments(store: Store) -> list[str]:
    return three_experiments(store)


async def test_the_list_shows_experiments_against_their_scorers(store: Store,
                                                                 experiments: list[str]) -> None:
    app = ExperimentsHost(store)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ExperimentsScreen)
        table = screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        labels = [str(getattr(c.label, "plain", c.label)) for c in table.columns.values()]
        assert labels == ["", "started", "experiment", "contains", "trajectory", "runs",
                          "dataset", "task"]
        assert cells(table, 0) == [" ", "11-24 16:02", "weather v3", "100% · 1.00",
                                   "100% · 1.00", "3", "weather", "agent weather"]
        assert cells(table, 1)[2:5] == ["weather v2", "33% · 0.33", "33% · 0.33"]
        assert cells(table, 2)[2:5] == ["weather v1", "67% · 0.67", "67% · 0.67"]


async def test_at_80_columns_the_task_is_cut_with_an_ellipsis_not_by_the_edge(
        store: Store, experiments: list[str]) -> None:
    app = ExperimentsHost(store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await pilot.pause()
        assert [cells(table, row)[2] for row in range(3)] == [
            "weather v3", "weather v2", "weather v1"]  # the names stay whole
        assert [cells(table, row)[-1] for row in range(3)] == ["agent…"] * 3
        assert table.virtual_size.width <= table.scrollable_content_region.width  # no scrolling
        await pilot.resize_terminal(120, 40)  # room again: the task whole
        await wait_for(pilot, lambda: cells(table, 0)[-1] == "agent weather")


async def test_enter_opens_the_cases_and_enter_on_a_case_asks_for_its_trace(
        store: Store, experiments: list[str]) -> None:
    app = ExperimentsHost(store)
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await pilot.press("down", "enter")  # weather v2
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentCasesScreen))
        screen = app.screen
        assert isinstance(screen, ExperimentCasesScreen)
        cases = screen.query_one(DataTable)
        assert [cells(cases, i)[:3] for i in range(3)] == [
            ["paris", "0.00 ✗", "0.00 ✗"], ["rome", "1.00 ✓", "1.00 ✓"],
            ["wrong", "0.00 ✗", "0.00 ✗"]]
        detail = text(screen.query_one("#experiment-case", Static))
        assert "weather in Paris?" in detail and "missing 'Paris'" in detail
        assert "expected get_weather(city='Paris'); called get_forecast(city='Lyon')" in detail
        await pilot.press("f")
        assert cases.row_count == 2
        await pilot.press("down", "enter")
        paris, wrong = screen.view.cases[0], screen.view.cases[2]
        assert app.opened == [(experiments[1], wrong.span_id)]
        assert paris.span_id != wrong.span_id
        await pilot.press("escape")
        assert isinstance(app.screen, ExperimentsScreen)


async def test_c_compares_with_the_previous_experiment_and_marks_changes(
        store: Store, experiments: list[str]) -> None:
    app = ExperimentsHost(store)
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await pilot.press("down", "c")  # v2 against v1, the previous on the dataset
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentCompareScreen))
        screen = app.screen
        assert isinstance(screen, ExperimentCompareScreen)
        summary = text(screen.query_one("#experiments-summary", Static))
        assert "weather v1 (11-24 16:00) → weather v2 (11-24 16:01)" in summary
        assert "1 regressed · 0 improved · 2 unchanged" in summary
        assert "contains 67% → 33% ▼" in summary
        rows = screen.query_one(DataTable)
        assert [cells(rows, i) for i in range(3)] == [
            ["▼", "paris", "1.00✓ → 0.00✗", "1.00✓ → 0.00✗"],
            [" ", "rome", "1.00✓ → 1.00✓", "1.00✓ → 1.00✓"],
            [" ", "wrong", "0.00✗ → 0.00✗", "0.00✗ → 0.00✗"]]
        after = text(screen.query_one("#experiment-after-case", Static))
        assert "▼ case paris" in after and "Lyon" in after
        await pilot.press("enter")
        assert app.opened == [(experiments[1], screen.comparison.after.cases[0].span_id)]


async def test_a_marked_experiment_is_compared_with_the_highlighted_one(
        store: Store, experiments: list[str]) -> None:
    app = ExperimentsHost(store)
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await pilot.press("down", "m")  # mark v2
        assert cells(table, 1)[0] == "●"
        await pilot.press("up", "c")  # v3 against the marked v2
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentCompareScreen))
        screen = app.screen
        assert isinstance(screen, ExperimentCompareScreen)
        rows = screen.query_one(DataTable)
        assert [cells(rows, i)[:2] for i in range(3)] == [["▲", "paris"], [" ", "rome"],
                                                          ["▲", "wrong"]]
        await pilot.press("n")
        assert rows.cursor_row == 2
        await pilot.press("p")
        assert rows.cursor_row == 0


async def test_an_empty_store_says_how_to_run_one(store: Store) -> None:
    app = ExperimentsHost(store)
    async with app.run_test(size=(120, 30)) as pilot:
        summary = app.screen.query_one("#experiments-summary", Static)
        await wait_for(pilot, lambda: "No experiments yet" in text(summary))
        await pilot.press("c", "enter", "m")  # nothing to act on: no error
        assert isinstance(app.screen, ExperimentsScreen)


async def test_f10_opens_the_view_and_a_case_opens_in_the_studio(store: Store,
                                                                 experiments: list[str]) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f10")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentsScreen))
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentCasesScreen))
        screen = app.screen
        assert isinstance(screen, ExperimentCasesScreen)
        rome = screen.view.cases[1]
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: len(app.screen_stack) == 1)
        detail = app.query_one(SpanDetail)
        await wait_for(pilot, lambda: detail.span is not None
                       and detail.span.span_id == rome.span_id)
        assert app.trace_id == experiments[2]
        assert app.query_one(TraceWaterfall).has_focus


async def test_a_annotates_a_case_shown_at_once_and_stored(store: Store,
                                                            experiments: list[str]) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f10")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentsScreen))
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await pilot.press("down", "down", "enter")  # weather v1
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentCasesScreen))
        cases = app.screen
        assert isinstance(cases, ExperimentCasesScreen)
        wrong = cases.view.cases[2]
        await pilot.press("down", "down", "a")
        await wait_for(pilot, lambda: isinstance(app.screen, AnnotateScreen))
        await pilot.press(*"high", "tab", "tab", *"fail", "tab", *"asked Oslo", "enter")
        await pilot.pause()
        assert isinstance(app.screen, AnnotateScreen)  # "high" is no score: it says so
        assert "the score is a number" in text(app.screen.query_one("#annotate-error", Static))
        await pilot.press("shift+tab", "shift+tab", "shift+tab", *["backspace"] * 4, "0",
                          "tab", *"off", "enter")
        await wait_for(pilot, lambda: app.screen is cases)
        rows = cases.query_one(DataTable)
        assert cells(rows, 2)[:4] == ["wrong", "0.00 ✗", "0.00 ✗", "0.00 ✗"]
        assert rows.cursor_row == 2
        store.writer.flush()
        logs = store.reader.logs(trace_id=experiments[0])
        [record] = [log for log in logs if log.span_id == wrong.span_id]
        assert record.event_name == "gen_ai.evaluation.result"
        assert record.attributes["gen_ai.evaluation.score.label"] == "off"
        assert record.attributes["gen_ai.evaluation.explanation"] == "asked Oslo"
        assert record.attributes["lumos.evaluation.passed"] is False
        await pilot.press("escape")
        assert isinstance(app.screen, ExperimentsScreen)


async def test_without_a_store_to_write_a_says_where_to_annotate(store: Store,
                                                                 experiments: list[str]) -> None:
    app = ExperimentsHost(store)
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentCasesScreen))
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ExperimentCasesScreen)
        assert any("lumos-studio annotate" in n.message for n in app._notifications)

"""``D`` in the trace list through the real studio: the highlighted run (or the marked ones) as
dataset cases, edited and appended to ``datasets/<agent>.jsonl``, which ``lumos-studio eval``
reads; a taken id or a bad line is said in the dialog and nothing is written; a read-only
studio writes no file."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static, TextArea

from lumos_core.evals import Dataset
from lumos_studio.app import StudioApp
from lumos_studio.store import Store
from lumos_studio.ui.screens.dataset_add import DatasetAddScreen
from lumos_studio.ui.widgets.trace_list import TraceList
from tests.builders import T0, make_span
from tests.evals.agents import weather_agent
from tests.evals.experiment_store import record_experiment
from tests.ui.helpers import wait_for
from tests.ui.test_clipboard import last_note
from tests.ui.test_read_only import read_only_studio
from tests.ui.test_snapshots import NEWER, OLDER, studio_with_a_recorded_turn


@pytest.fixture(autouse=True)
def in_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def press_d_on_the_list(pilot: Pilot[None], app: StudioApp, *marked: str) -> TraceList:
    traces = app.query_one(TraceList)
    await wait_for(pilot, lambda: len(traces.summaries) >= 2)
    traces.focus()
    for trace_id in marked:
        traces.move_cursor(row=traces.get_row_index(trace_id))
        await pilot.press("m")
    await pilot.press("D")
    return traces


async def test_the_highlighted_run_is_added_as_a_case_with_its_expected_answer_edited(
    store: Store, in_a_project: Path,
) -> None:
    app = studio_with_a_recorded_turn(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_d_on_the_list(pilot, app)
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetAddScreen))
        screen = app.screen
        assert screen.query_one("#dataset-path", Input).value == "datasets/weather.jsonl"
        editor = screen.query_one(TextArea)
        case = orjson.loads(editor.text)
        assert case["input"] == "weather in Paris?"
        assert case["metadata"]["expected_tools"] == [
            {"name": "get_weather", "arguments": {"city": "Paris"}}]
        case["expected"] = "Paris"
        editor.load_text(orjson.dumps(case).decode())
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, DatasetAddScreen))
        note = last_note(app)
        assert "Added 1 case to datasets/weather.jsonl (1 in all)" in note
        assert "lumos-studio eval --demo datasets/weather.jsonl --agent weather" in note
    (stored,) = Dataset.from_jsonl(in_a_project / "datasets" / "weather.jsonl")
    assert (stored.id, stored.input, stored.expected) == (case["id"], "weather in Paris?",
                                                          "Paris")


async def test_marked_runs_go_in_together_and_a_taken_id_writes_nothing(
    store: Store, in_a_project: Path,
) -> None:
    app = studio_with_a_recorded_turn(store)
    path = in_a_project / "datasets" / "weather.jsonl"
    async with app.run_test(size=(120, 40)) as pilot:
        await press_d_on_the_list(pilot, app, OLDER, NEWER)
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetAddScreen))
        assert "Add 2 runs to a dataset" in str(app.screen.query_one("#dataset-title",
                                                                     Static).render())
        assert len(app.screen.query_one(TextArea).text.splitlines()) == 2
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, DatasetAddScreen))
        written = path.read_text()
        assert len(written.splitlines()) == 2

        await pilot.press("D")  # the highlighted one again: its id is taken
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetAddScreen))
        await pilot.press("ctrl+s")
        error = app.screen.query_one("#dataset-error", Static)
        assert "already holds a case" in str(error.render())
        assert "nothing was written" in str(error.render())
        app.screen.query_one(TextArea).load_text('{"id": "new", "input": 3')  # a bad line
        await pilot.press("ctrl+s")
        assert "line 1: not JSON" in str(error.render())
        assert isinstance(app.screen, DatasetAddScreen)  # the text is still there to fix
        await pilot.press("escape")
    assert path.read_text() == written


@pytest.fixture
def cron(store: Store) -> str:
    """A run with no user message: a cron job's span."""
    trace_id = "3cf7651916cd43dd8448eb211c80319c"
    store.writer.submit_many([make_span("cron job", trace_id=trace_id)])
    store.writer.flush()
    return trace_id


async def test_a_run_with_no_user_message_is_said_and_nothing_opens(store: Store, cron: str
                                                                   ) -> None:
    app = studio_with_a_recorded_turn(store)
    async with app.run_test(size=(120, 40)) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: len(traces.summaries) >= 3)
        traces.focus()
        traces.move_cursor(row=traces.get_row_index(cron))
        await pilot.press("D")
        await wait_for(pilot, lambda: "no user message" in last_note(app)
                       if app._notifications else False)
        assert last_note(app).startswith("Nothing to add")
        assert not isinstance(app.screen, DatasetAddScreen)


@pytest.fixture
def experiment(store: Store) -> str:
    """An experiment recorded before the studio's runs (asyncio.run: not inside a test's loop)."""
    return record_experiment(store, "weather v1", weather_agent(), T0 - 10**12)


async def test_an_experiment_is_left_out_saying_its_cases_are_its_datasets(
    store: Store, experiment: str,
) -> None:
    """Its cases came from a dataset, and its trace holds them all: no case is made of it."""
    app = studio_with_a_recorded_turn(store)
    async with app.run_test(size=(120, 40)) as pilot:
        traces = await press_d_on_the_list(pilot, app, experiment, NEWER)
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetAddScreen))
        title = app.screen.query_one("#dataset-title", Static)
        assert "1 experiment left out" in str(title.render())
        assert len(app.screen.query_one(TextArea).text.splitlines()) == 1
        await pilot.press("escape")
        for marked in (experiment, NEWER):  # unmarked again
            traces.move_cursor(row=traces.get_row_index(marked))
            await pilot.press("m")
        traces.move_cursor(row=traces.get_row_index(experiment))
        await pilot.press("D")
        await wait_for(pilot, lambda: "experiment" in last_note(app)
                       if app._notifications else False)
        assert "Nothing to add: an experiment on weather: its cases are that dataset's" \
            in last_note(app)
        assert not isinstance(app.screen, DatasetAddScreen)


async def test_several_runs_left_out_alone_are_counted_by_why(
    store: Store, experiment: str, cron: str,
) -> None:
    """Marked runs of which none makes a case: the note counts them as the dialog's title does."""
    app = studio_with_a_recorded_turn(store)
    async with app.run_test(size=(120, 40)) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: len(traces.summaries) >= 4)
        await press_d_on_the_list(pilot, app, cron, experiment)
        await wait_for(pilot, lambda: "Nothing to add" in last_note(app)
                       if app._notifications else False)
        assert last_note(app) == "Nothing to add: 1 run with no user message, 1 experiment."
        assert not isinstance(app.screen, DatasetAddScreen)


async def test_a_read_only_studio_writes_no_dataset_file(store: Store, in_a_project: Path,
                                                         ) -> None:
    app = read_only_studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_d_on_the_list(pilot, app)
        await wait_for(pilot, lambda: bool(app._notifications))
        assert "writes no dataset files" in last_note(app)
        assert not isinstance(app.screen, DatasetAddScreen)
    assert not (in_a_project / "datasets").exists()

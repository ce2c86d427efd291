"""Hostile text in datasets, outputs and scorer names reaches the terminal and the experiments
view only as visible, inert text."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console
from textual.widgets import DataTable, Static

from lumos_core import Agent, ScriptedModel
from lumos_core.evals import Dataset, Score, scorer
from lumos_studio.cli import cli
from lumos_studio.store import Store
from lumos_studio.ui.screens.experiments_cases import ExperimentCasesScreen
from tests.evals.experiment_store import record_experiment
from tests.evals.test_experiments_screen import ExperimentsHost
from tests.hostile import CLEAR_SCREEN, FORBIDDEN, MARKUP_STYLE, OSC52_CLIPBOARD, STORABLE, VISIBLE
from tests.ui.helpers import wait_for

AGENT_FILE = '''
import json
from lumos_core import Agent, ScriptedModel
from lumos_core.evals import Dataset, Score, scorer

HOSTILE = json.loads(HOSTILE_JSON)
cases = Dataset.from_cases("hostile", [
    {"id": key + text[:20], "input": text, "expected": text} for key, text in HOSTILE.items()])
echo = Agent("echo", "Repeat.", model=ScriptedModel(lambda messages, tools: messages[-1].text))

@scorer(name=HOSTILE["clear_screen"])
def judged(sample):
    return Score(HOSTILE["clear_screen"], 0.0, False, HOSTILE["osc52"], HOSTILE["markup_style"])
'''


def hostile_cases() -> Dataset:
    return Dataset.from_cases("hostile", [
        {"id": key + text[:20], "input": text, "expected": text} for key, text in STORABLE.items()])


def test_eval_prints_hostile_cases_and_scorers_literally(tmp_path: Path) -> None:
    path = tmp_path / "hostile_agents.py"
    path.write_text(AGENT_FILE.replace("HOSTILE_JSON", repr(json.dumps(STORABLE))))
    done = CliRunner().invoke(cli, ["--db", str(tmp_path / "s.db"), "eval", str(path), "cases",
                                    "--agent", "echo", "--cases"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    for stream in (done.stdout, done.stderr):
        assert not [c for c in FORBIDDEN if c in stream]
    assert VISIBLE["clear_screen"] in done.stdout  # the scorer's name, as a column
    assert VISIBLE["markup_style"] in done.stdout  # its explanation, in "why"


@pytest.fixture
def hostile_store(tmp_path: Path) -> Iterator[Store]:
    @scorer(name=CLEAR_SCREEN)
    def judged(sample: object) -> Score:
        return Score(CLEAR_SCREEN, 0.0, False, OSC52_CLIPBOARD, MARKUP_STYLE)

    echo = Agent("echo", "Repeat.", model=ScriptedModel(lambda messages, tools: messages[-1].text))
    with Store(tmp_path / "s.db") as store:
        record_experiment(store, CLEAR_SCREEN, echo, 1_764_000_000_000_000_000, [judged],
                          hostile_cases())
        yield store


async def test_the_cases_screen_shows_hostile_text_inert(hostile_store: Store) -> None:
    app = ExperimentsHost(hostile_store)
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentCasesScreen))
        screen = app.screen
        assert screen.query_one(DataTable).row_count == len(STORABLE)
        console = Console(width=200, file=io.StringIO(), record=True)
        console.print(screen.query_one("#experiments-summary", Static).content)
        console.print(screen.query_one("#experiment-case", Static).content)
        shown = console.export_text()
        assert VISIBLE["clear_screen"] in shown and VISIBLE["markup_style"] in shown
        assert VISIBLE["osc52"] in shown
        assert not [c for c in FORBIDDEN if c in shown]

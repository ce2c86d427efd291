"""Snapshots of the experiments view: the list, one experiment's cases, two compared; at
120x40 and 80x24, from experiments recorded on a fixed clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable

from lumos_studio.store import Store
from lumos_studio.ui.screens.experiments_cases import ExperimentCasesScreen
from lumos_studio.ui.screens.experiments_compare import ExperimentCompareScreen
from lumos_studio.ui.screens.experiments_score import ScoreTracesScreen
from tests.builders import T0, weather_trace
from tests.evals.experiment_store import MINUTE, three_experiments
from tests.evals.test_experiments_screen import ExperimentsHost
from tests.ui.helpers import wait_for

SIZES = [(120, 40), (80, 24)]
TRACES = ["0af7651916cd43dd8448eb211c80319c", "1bf7651916cd43dd8448eb211c80319c"]


async def listed(pilot: Pilot) -> None:
    table = pilot.app.screen.query_one(DataTable)
    await wait_for(pilot, lambda: table.row_count == 3)
    await pilot.pause()


async def cases_of_v2(pilot: Pilot) -> None:
    await listed(pilot)
    await pilot.press("down", "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ExperimentCasesScreen))
    await pilot.pause()


async def v2_against_v1(pilot: Pilot) -> None:
    await listed(pilot)
    await pilot.press("down", "c")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ExperimentCompareScreen))
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("state", [listed, cases_of_v2, v2_against_v1],
                         ids=lambda f: f.__name__)
def test_experiments_view(snap_compare, store: Store, size: tuple[int, int],  # type: ignore[no-untyped-def]
                          state: Callable[[Pilot], Awaitable[None]]) -> None:
    three_experiments(store)
    assert snap_compare(ExperimentsHost(store), run_before=state, terminal_size=size)


async def annotating(pilot: Pilot) -> None:
    await cases_of_v2(pilot)
    await pilot.press("a")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_annotation_dialog(snap_compare, store: Store,  # type: ignore[no-untyped-def]
                               size: tuple[int, int]) -> None:
    three_experiments(store)
    host = ExperimentsHost(store, record=lambda record: None)
    assert snap_compare(host, run_before=annotating, terminal_size=size)


class ScoreHost(App[None]):
    """The scoring dialog over an empty screen, on two stored weather runs."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    def on_mount(self) -> None:
        self.push_screen(ScoreTracesScreen(self.store.reader, TRACES, lambda record: None))


async def scored(pilot: Pilot) -> None:
    await pilot.press(*"Paris", "tab", "tab", *"get_weather", "tab", "tab", *"100", "enter")
    screen = pilot.app.screen
    assert isinstance(screen, ScoreTracesScreen)
    await wait_for(pilot, lambda: screen.scored is not None)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_scoring_dialog(snap_compare, store: Store,  # type: ignore[no-untyped-def]
                            size: tuple[int, int]) -> None:
    store.writer.submit_many([*weather_trace(TRACES[0]), *weather_trace(TRACES[1], T0 + MINUTE)])
    store.writer.flush()
    assert snap_compare(ScoreHost(store), run_before=scored, terminal_size=size)

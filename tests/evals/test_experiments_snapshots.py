"""Snapshots of the experiments view: the list, one experiment's cases, two compared; at
120x40 and 80x24, from experiments recorded on a fixed clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from lumos_studio.store import Store
from lumos_studio.ui.screens.experiments_cases import ExperimentCasesScreen
from lumos_studio.ui.screens.experiments_compare import ExperimentCompareScreen
from tests.evals.experiment_store import three_experiments
from tests.evals.test_experiments_screen import ExperimentsHost
from tests.ui.helpers import wait_for

SIZES = [(120, 40), (80, 24)]


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

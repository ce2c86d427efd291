"""Snapshots of the replay app on a saved run, played to its end, at both terminal sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from lumos_studio.replay.loader import load_trace
from lumos_studio.replay_app import ReplayApp
from lumos_studio.ui.widgets.playback_bar import PlaybackBar
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.ui.helpers import wait_for

REPO = Path(__file__).parents[2]


async def play_to_the_end(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, ReplayApp)
    tree = app.query_one(TraceWaterfall)
    await wait_for(pilot, lambda: bool(app.spans) and app.at_ns is not None)
    app.query_one(PlaybackBar).focus()
    await pilot.press("end")
    await wait_for(pilot, lambda: len(tree.spans) == 4
                   and not any(s.running for s in tree.spans.values()))
    await pilot.pause()


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_replay_of_a_saved_run(snap_compare, size: tuple[int, int],  # type: ignore[no-untyped-def]
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # a relative path in the title: the same on every checkout
    app = ReplayApp(load_trace(Path("traces") / "weather-paris.jsonl"))
    assert snap_compare(app, run_before=play_to_the_end, terminal_size=size)

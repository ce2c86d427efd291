"""Replay as the README tells it (issue 19): space plays at once, the axis covers the whole
recording from its first instant, the logs have room."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumos_studio.replay.loader import load_trace
from lumos_studio.replay_app import ReplayApp
from lumos_studio.ui.widgets.playback_bar import PlaybackBar
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.ui.helpers import wait_for

TRACES = Path(__file__).parents[2] / "traces"


async def test_space_plays_without_focusing_the_playback_bar_first() -> None:
    app = ReplayApp(load_trace(TRACES / "assistant.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        bar = app.query_one(PlaybackBar)
        await wait_for(pilot, lambda: app.at_ns is not None)
        assert not bar.clock.playing
        await pilot.press("space")
        await wait_for(pilot, lambda: bar.clock.playing or bar.clock.index > 1)
        app.query_one(TraceList).focus()  # from another pane, the playback keys still work
        # The recording lasts 0.66 s and may have played to its end: from its middle again, on
        # a clock that stands still, so it is still playing when the key comes, however slow the
        # machine.
        bar.clock._now = lambda: 0.0
        bar.clock.seek(bar.clock.instants[len(bar.clock.instants) // 2])
        if not bar.clock.playing:
            bar.clock.play()
        await pilot.press("space")
        await pilot.pause()
        assert not bar.clock.playing
        before = bar.clock.position_ns
        await pilot.press("comma")
        await wait_for(pilot, lambda: bar.clock.position_ns != before)


async def test_the_axis_covers_the_recording_from_its_first_instant() -> None:
    app = ReplayApp(load_trace(TRACES / "weather-paris.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: app.spans and app.at_ns is not None)
        app.query_one(PlaybackBar).focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: len(tree.spans) == 1)
        await pilot.pause()
        header = tree.render_line(0).text
        assert "ns" not in header.split("Duration")[1], header  # not "0 … 1ns"
        assert header.rstrip().endswith("ms"), header


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_the_logs_pane_takes_the_rows_of_its_row(size: tuple[int, int]) -> None:
    app = ReplayApp(load_trace(TRACES / "assistant.jsonl"))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.at_ns is not None)
        await pilot.pause()
        logs, state = app.query_one("#replay-logs"), app.query_one("#state")
        assert logs.outer_size.height == state.size.height
        assert logs.content_region.height >= 3

"""Replaying the demo traces shipped in traces/: step through a run, watch memory change."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lumos_studio import replay_app
from lumos_studio.replay.loader import load_trace
from lumos_studio.replay_app import ReplayApp
from lumos_studio.store.span_headers import SpanHeaders
from lumos_studio.ui.widgets.memory_pane import MemoryPane
from lumos_studio.ui.widgets.playback_bar import PlaybackBar
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.ui.helpers import wait_for

TRACES = Path(__file__).parents[2] / "traces"


async def test_stepping_through_a_saved_run_shows_running_spans_then_the_whole_tree() -> None:
    app = ReplayApp(load_trace(TRACES / "weather-paris.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(TraceWaterfall)
        bar = app.query_one(PlaybackBar)
        await wait_for(pilot, lambda: app.spans and app.at_ns is not None)
        bar.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: len(tree.spans) == 1)
        (root,) = tree.spans.values()
        assert root.name == "invoke_agent weather" and root.running

        await pilot.press(".")
        await wait_for(pilot, lambda: len(tree.spans) == 2)
        assert all(s.running for s in tree.spans.values())

        await pilot.press("end")
        await wait_for(pilot, lambda: len(tree.spans) == 4
                       and not any(s.running for s in tree.spans.values()))
        await pilot.press(",")
        await wait_for(pilot, lambda: any(s.running for s in tree.spans.values()))


async def test_memory_changes_as_the_assistant_run_plays() -> None:
    app = ReplayApp(load_trace(TRACES / "assistant.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(MemoryPane)
        bar = app.query_one(PlaybackBar)
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == 4 and app.at_ns is not None)
        bar.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: pane.view is not None)
        before = pane.view.working_memory
        await pilot.press("end")
        await wait_for(pilot, lambda: pane.view.working_memory != before)
        assert "Favourite colour: teal" in pane.view.working_memory
        assert len(pane.view.messages) > 0


async def test_problems_in_the_file_are_listed_and_the_rest_loads(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("{broken\n" + (TRACES / "weather-paris.jsonl").read_text())
    app = ReplayApp(load_trace(mixed))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.spans) == 4)
        problems = app.query_one("#problems")
        assert problems.display and "mixed.jsonl:1" in str(problems.content)


async def test_log_records_appear_as_playback_reaches_them() -> None:
    app = ReplayApp(load_trace(TRACES / "assistant.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        bar = app.query_one(PlaybackBar)
        logs = app.query_one("#replay-logs")
        await wait_for(pilot, lambda: app.spans and app.at_ns is not None)
        bar.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: "no logs yet" in str(logs.content))
        await pilot.press("end")
        await wait_for(pilot, lambda: "lumos.memory.upsert_memory" in str(logs.content))
        own = [log for log in app.logs if log.trace_id == app.trace_id]
        assert logs.border_subtitle == f"{len(own)} of {len(own)}"


async def test_a_long_recording_draws_its_start_from_its_first_spans_then_plays_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past ``FIRST_PART`` spans the tree draws the first instant from the first headers read,
    before the rest (a 100,000-span file's took ~0.45 s); playback then has every instant."""
    monkeypatch.setattr(replay_app, "FIRST_PART", 2)
    loaded: list[tuple[int, bool]] = []

    class Watched(ReplayApp):
        def on_recording_loaded(self, message: replay_app.RecordingLoaded) -> None:
            loaded.append((len(message.headers), message.complete))
            super().on_recording_loaded(message)

    app = Watched(load_trace(TRACES / "weather-paris.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(TraceWaterfall)
        bar = app.query_one(PlaybackBar)
        await wait_for(pilot, lambda: len(loaded) == 2 and app.at_ns is not None)
        assert loaded == [(2, False), (4, True)]
        await pilot.pause()
        (root,) = tree.spans.values()  # the first instant: the agent has started
        assert root.name == "invoke_agent weather" and root.running
        assert len(bar.clock.instants) > 4  # every start and end of the four spans
        bar.focus()
        await pilot.press("end")
        await wait_for(pilot, lambda: len(tree.spans) == 4
                       and not any(s.running for s in tree.spans.values()))
        detail = app.query_one(SpanDetail)
        assert detail.span is not None and detail.span.end_ns is not None  # decoded whole


async def test_keys_pressed_while_a_long_recording_is_read_act_on_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Space pressed while the rest of a long recording is read plays it: the first part
    plays at once, and the rest carries on from there (it was lost before)."""
    monkeypatch.setattr(replay_app, "FIRST_PART", 2)
    rest_read = threading.Event()
    loaded = load_trace(TRACES / "weather-paris.jsonl")
    whole = loaded.reader.trace_headers

    def held_back(trace_id: str, first: int | None = None) -> SpanHeaders:
        if first is None:  # the rest: only once the test has pressed its keys
            rest_read.wait(10)
        return whole(trace_id, first)

    monkeypatch.setattr(loaded.reader, "trace_headers", held_back)
    app = ReplayApp(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        bar = app.query_one(PlaybackBar)
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: bar.clock.partial and app.at_ns is not None)
        assert "…" in str(bar.render())  # the counter says more is coming
        await pilot.press("plus", "space")  # faster, and play
        assert bar.clock.playing
        rest_read.set()
        await wait_for(pilot, lambda: not bar.clock.partial)
        # Still playing at 2× (or, on a busy machine, already played to the whole one's end).
        assert bar.clock.speed == 2.0 and (bar.clock.playing or bar.clock.at_end)
        assert len(bar.clock.instants) > 4  # every start and end of the four spans
        await pilot.press("end")
        await wait_for(pilot, lambda: len(tree.spans) == 4)


async def test_on_a_narrow_screen_the_trace_list_makes_room_for_the_key_help() -> None:
    app = ReplayApp(load_trace(TRACES / "assistant.jsonl"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.at_ns is not None)
        traces, column = app.query_one("#sessions"), app.query_one("#traces-column")
        await pilot.press("f1")  # the focus on the playback bar: the trace list gives way
        await pilot.pause()
        assert column.display and not traces.display
        await pilot.press("f1")
        await pilot.pause()
        assert column.display and traces.display


async def test_the_playback_keys_act_from_the_tree_and_the_list_marks_the_run_playing() -> None:
    app = ReplayApp(load_trace(TRACES / "assistant.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        bar, tree = app.query_one(PlaybackBar), app.query_one(TraceWaterfall)
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == 4 and app.at_ns is not None)
        assert traces.cursor_trace == app.trace_id  # the row highlighted is the run playing
        await pilot.press("end")
        await wait_for(pilot, lambda: bar.clock.at_end)
        await pilot.press("t")
        assert app.focused is tree
        await pilot.press("home")  # the recording's start, not the tree's first row
        await wait_for(pilot, lambda: not bar.clock.at_end and bar.clock.index <= 1)
        await pilot.press(".", ".", ".")
        await wait_for(pilot, lambda: len(tree.rows) > 1)
        rows = len(tree.rows)
        await pilot.press("space")  # plays (to the end of this 0.2 s run, if busy); no fold
        assert bar.clock.playing or bar.clock.at_end
        await pilot.pause()
        assert len(tree.rows) >= rows
        await pilot.press("p")
        assert app.focused is bar


async def test_the_lists_save_and_compare_keys_work_in_a_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lumos_studio.ui.screens.compare import CompareScreen

    monkeypatch.chdir(tmp_path)  # traces/ is made here
    app = ReplayApp(load_trace(TRACES / "assistant.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == 4 and app.at_ns is not None)
        await pilot.press("l", "m", "up", "c")  # the run playing (the oldest, last), the one above
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        await pilot.press("space")  # the compare screen's, not a playback key there
        assert not app.query_one(PlaybackBar).clock.playing
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen))
        await pilot.press("s")
        await wait_for(pilot, lambda: list(tmp_path.glob("traces/*.jsonl")))
    (saved,) = tmp_path.glob("traces/*.jsonl")
    again = load_trace(saved)
    assert len(again.trace_ids) == 1
    again.close()


async def test_a_run_without_logs_says_so_rather_than_none_yet() -> None:
    from textual.widgets import Static

    app = ReplayApp(load_trace(TRACES / "weather-paris.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        logs = app.query_one("#replay-logs", Static)
        await wait_for(pilot, lambda: app.at_ns is not None)
        await pilot.press("end")
        await wait_for(pilot, lambda: str(logs.content) == "this run wrote no logs")
        assert logs.border_subtitle == "0 of 0"

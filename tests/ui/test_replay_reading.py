"""A big file replayed: its start drawn at once, the rest read by a worker while it shows."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lumos_studio import replay_app
from lumos_studio.otlp.files import encode_lines, read_records
from lumos_studio.replay import line_load
from lumos_studio.replay.loader import LoadedTrace, LoadProgress, load_trace
from lumos_studio.replay_app import ReplayApp
from lumos_studio.ui.widgets.playback_bar import PlaybackBar
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.ui.helpers import wait_for

TRACES = Path(__file__).parents[2] / "traces"


def a_span_a_line(tmp_path: Path) -> Path:
    """The weather run, one span a line in start order, then the assistant's four runs."""
    spans = sorted(read_records(TRACES / "weather-paris.jsonl").spans, key=lambda s: s.start_ns)
    path = tmp_path / "lines.jsonl"
    path.write_text("".join(encode_lines(spans, batch_size=1))
                    + (TRACES / "assistant.jsonl").read_text())
    return path


def held_back(loaded: LoadedTrace, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The rest of the file is read only once the returned event is set."""
    go_on = threading.Event()
    finish = loaded.finish

    def held(*args: object, **kwargs: object) -> None:
        go_on.wait(10)
        finish(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loaded, "finish", held)
    return go_on


async def test_the_files_start_plays_while_the_rest_is_read_then_the_whole_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_trace(a_span_a_line(tmp_path), first=1)
    go_on = held_back(loaded, monkeypatch)
    app = ReplayApp(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        bar, tree = app.query_one(PlaybackBar), app.query_one(TraceWaterfall)
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: app.at_ns is not None)
        assert "reading the file: " in app.sub_title and "1 records" in app.sub_title
        assert bar.clock.partial and "…" in str(bar.render())
        (root,) = tree.spans.values()  # the file's first line: the agent's span, running
        assert root.name == "invoke_agent weather" and root.running
        assert traces.row_count == 1
        await pilot.press("plus")  # a key on the start acts, and stays when the rest comes
        go_on.set()
        await wait_for(pilot, lambda: not bar.clock.partial and traces.row_count == 5)
        assert f"· {loaded.spans:,} spans, {loaded.logs:,} logs" in app.sub_title
        assert loaded.spans > 4 and not loaded.loading
        assert bar.clock.speed == 2.0 and len(bar.clock.instants) > 4
        await pilot.press("end")
        await wait_for(pilot, lambda: len(tree.spans) == 4
                       and not any(s.running for s in tree.spans.values()))


async def test_the_runs_stored_so_far_are_listed_while_the_file_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run further down the file shows in the list before the whole file is in."""
    monkeypatch.setattr(line_load, "CHUNK_RECORDS", 1)  # each record its own commit
    monkeypatch.setattr(replay_app, "LIST_EVERY", 0.0)
    loaded = load_trace(a_span_a_line(tmp_path), first=1)
    go_on = threading.Event()
    finish = loaded.finish

    def held_midway(on_progress: line_load.ProgressCallback | None = None,
                    progress_interval: float = 0.1) -> None:
        def report(progress: LoadProgress) -> None:
            assert on_progress is not None
            on_progress(progress)
            if not progress.done and loaded.reader.count_traces() >= 2:
                go_on.wait(10)  # the weather run and the assistant's are in, not the end

        finish(report, 0.0)

    monkeypatch.setattr(loaded, "finish", held_midway)
    app = ReplayApp(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        traces = app.query_one(TraceList)
        # The assistant's runs come in one line, after the weather run's four.
        await wait_for(pilot, lambda: traces.row_count == 5)
        assert loaded.loading and "reading the file: " in app.sub_title
        go_on.set()
        await wait_for(pilot, lambda: not loaded.loading)
        assert traces.row_count == 5


async def test_saving_or_comparing_waits_for_the_whole_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # traces/ would be made here
    loaded = load_trace(a_span_a_line(tmp_path), first=1)
    go_on = held_back(loaded, monkeypatch)
    app = ReplayApp(loaded)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.at_ns is not None)
        await pilot.press("l", "s")
        await wait_for(pilot, lambda: any("still being read" in str(n.message)
                                          for n in app._notifications))
        assert not (tmp_path / "traces").exists()  # not a part of the run saved as the run
        go_on.set()
        await wait_for(pilot, lambda: not loaded.loading)
        await pilot.press("s")
        await wait_for(pilot, lambda: list(tmp_path.glob("traces/*.jsonl")))


async def test_quitting_while_the_file_is_read_stops_the_reading(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_trace(a_span_a_line(tmp_path), first=1)
    go_on = held_back(loaded, monkeypatch)
    assert loaded.store is not None
    stored = loaded.store.path
    app = ReplayApp(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.at_ns is not None)
        await pilot.press("ctrl+q")
    go_on.set()
    assert not stored.exists()  # the temporary store is gone with the app


async def test_the_first_runs_start_is_read_before_the_first_frame(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not by a worker beside the first frames, which the tree waited ~250 ms for: the
    recording is in the app when its mount ends, no worker of the trace group started."""
    loaded = load_trace(a_span_a_line(tmp_path), first=3)
    held_back(loaded, monkeypatch).set()
    seen: list[tuple[str, int, list[str]]] = []

    class Watched(ReplayApp):
        def on_mount(self) -> None:
            super().on_mount()
            seen.append((self.spans.trace_id, len(self.spans),
                         [w.group for w in self.workers if w.group == "trace"]))

    app = Watched(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) > 0)
        assert seen == [(app.trace_id, 3, [])]

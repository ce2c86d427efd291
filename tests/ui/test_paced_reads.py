"""Reads that follow commits (``ui.paced_reads``): one at a time, each followed by its pause,
and the last ask always read; in the studio, the metrics strip and the trace list so paced."""

from __future__ import annotations

import threading
import time
from itertools import pairwise
from typing import Any

import pytest
from textual import work
from textual.app import App
from textual.worker import Worker

from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store, StoreReader
from lumos_studio.ui import paced_reads, trace_loading
from lumos_studio.ui.paced_reads import PacedReads
from lumos_studio.ui.widgets.metrics_strip import MetricsStrip
from tests.builders import T0, make_span
from tests.ui.helpers import wait_for

READ_SECONDS = 0.1


class Reading(App[None]):
    """Each read sleeps ``READ_SECONDS`` and notes when it ran and which ask it saw."""

    def __init__(self, factor: float, least: float = 0.0) -> None:
        super().__init__()
        self.asked = 0
        self.reads: list[tuple[float, float, int]] = []  # start, end, asks seen
        self.paced = PacedReads(self.read, self.set_timer, factor=factor, least=least)

    @work(thread=True)
    def read(self) -> None:
        seen, started = self.asked, time.monotonic()
        time.sleep(READ_SECONDS)
        self.reads.append((started, time.monotonic(), seen))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.paced.worker_changed(event.worker)

    def ask(self) -> None:
        self.asked += 1
        self.paced.ask()


async def test_reads_run_one_at_a_time_each_followed_by_its_pause_and_the_last_ask_is_read(
) -> None:
    app = Reading(factor=3)
    async with app.run_test() as pilot:
        for _ in range(40):  # an ask every 20 ms for 0.8 s
            app.ask()
            await pilot.pause(0.02)
        await wait_for(pilot, lambda: app.reads and app.reads[-1][2] == app.asked)
        await pilot.pause(3 * READ_SECONDS)
    reads = app.reads
    assert reads[-1][2] == 40  # the last ask was read
    assert 3 <= len(reads) <= 8  # not one a commit: ~0.1 s read, ~0.2 s pause
    for earlier, later in pairwise(reads):
        assert later[0] >= earlier[1]  # one at a time
        assert later[0] - earlier[1] >= 2 * (earlier[1] - earlier[0]) * 0.95  # its pause


async def test_a_pause_lasts_at_least_least() -> None:
    app = Reading(factor=1, least=0.5)
    async with app.run_test() as pilot:
        app.ask()
        await wait_for(pilot, lambda: len(app.reads) == 1)
        app.ask()  # during the pause: read once it is over
        await pilot.pause(0.2)
        assert len(app.reads) == 1
        await wait_for(pilot, lambda: len(app.reads) == 2)
    assert app.reads[1][0] - app.reads[0][1] >= 0.5 * 0.95


async def test_a_slow_read_holds_the_next_one_no_longer_than_most(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A read slowed by a busy machine: its pause is cut to ``MOST``, not ten times it."""
    monkeypatch.setattr(paced_reads, "MOST", 0.15)
    app = Reading(factor=51)  # a pause of 50 x 0.1 s, uncut
    async with app.run_test() as pilot:
        app.ask()
        await wait_for(pilot, lambda: len(app.reads) == 1)
        app.ask()
        await wait_for(pilot, lambda: len(app.reads) == 2, timeout=3.0)  # not 5 s
    assert app.reads[1][0] - app.reads[0][1] >= 0.15 * 0.95


class EndedRead:
    """A read's worker that has ended, its ``Worker.StateChanged`` not handled yet."""

    is_finished = True


def test_an_ask_after_a_read_ended_but_before_its_end_was_handled_waits_for_its_pause(
) -> None:
    """The race behind a flaky pacing test: the worker had ended, the app had not yet handled
    its state change, and an ask then started the next read at once, with no pause."""
    started: list[str] = []
    timers: list[float] = []

    def start() -> None:
        started.append("read")

    def set_timer(delay: float, _callback: Any) -> Any:
        timers.append(delay)

    paced = PacedReads(start, set_timer, factor=3, least=0.5)
    paced.running(EndedRead())  # type: ignore[arg-type]  # a stand-in for a Worker
    paced.ask()
    assert started == [] and len(timers) == 1 and timers[0] > 0.4  # read once the pause ends


async def test_the_studio_reads_its_metrics_paced_while_spans_stream_in(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits ten times a second: the metrics strip (the slowest of its reads) is read about
    twice a second here, not for each; the list and the strip end with every run."""
    monkeypatch.setattr(trace_loading, "METRICS_EVERY", 0.5)
    reads = {"metrics": 0, "find_traces": 0}
    lock = threading.Lock()
    for name in reads:
        original = getattr(StoreReader, name)

        def counted(reader: StoreReader, *args: Any, _original: Any = original,
                    _name: str = name, **kwargs: Any) -> Any:
            with lock:
                reads[_name] += 1
            return _original(reader, *args, **kwargs)

        monkeypatch.setattr(StoreReader, name, counted)
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        reads.update(metrics=0, find_traces=0)
        for run in range(20):  # 2 s of commits, one a run
            assert store.writer.commit([make_span(
                "invoke_agent demo", trace_id=f"{run + 1:032x}", span_id=f"{run + 1:016x}",
                start=T0 + run * 1_000_000)])
            await pilot.pause(0.1)
        strip = app.query_one(MetricsStrip)
        await wait_for(pilot, lambda: "20 runs" in str(strip.content))
    assert 2 <= reads["metrics"] <= 6  # ~2 s at one per 0.5 s, not 20
    assert reads["find_traces"] >= 5  # the list still follows the commits

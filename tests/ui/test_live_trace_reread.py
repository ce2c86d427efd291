"""The shown trace while commits keep changing it: read again one read at a time, its spans
never going backwards, and still followed after another trace was opened mid-read."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any

import pytest

from lumos_studio.app import StudioApp
from lumos_studio.records import SpanRecord
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store, StoreReader
from lumos_studio.ui.paced_reads import MOST
from lumos_studio.ui.trace_loading import REREAD_FACTOR
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import T0, make_span
from tests.ui.helpers import wait_for

LIVE = "d" * 32
OTHER = "e" * 32
READ_SECONDS = 0.3  # each read of a trace takes this long: longer than commits come apart


def spans(first: int, last: int, trace_id: str = LIVE) -> list[SpanRecord]:
    return [make_span(f"step {n}", trace_id=trace_id, span_id=f"{n + 1:016x}",
                      parent=None if n == 0 else f"{1:016x}", start=T0 + n * 1_000)
            for n in range(first, last)]


class SlowReads:
    """``StoreReader.trace_headers`` made slow, counting how many run at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at_once = 0
        self.most_at_once = 0
        self.reads: list[tuple[float, float]] = []  # each read's start and end
        self._lock = threading.Lock()
        original: Callable[..., Any] = StoreReader.trace_headers

        def slow(reader: StoreReader, *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.at_once += 1
                self.most_at_once = max(self.most_at_once, self.at_once)
            started = time.monotonic()
            try:
                time.sleep(READ_SECONDS)
                return original(reader, *args, **kwargs)
            finally:
                with self._lock:
                    self.at_once -= 1
                    self.reads.append((started, time.monotonic()))

        monkeypatch.setattr(StoreReader, "trace_headers", slow)


def feeding(store: Store, first: int, last: int, step: int = 20) -> Iterator[threading.Thread]:
    def feed() -> None:
        for start in range(first, last, step):
            store.writer.commit(spans(start, start + step))
            time.sleep(0.03)

    thread = threading.Thread(target=feed)
    thread.start()
    yield thread
    thread.join()


async def test_a_trace_changing_fast_is_read_one_read_at_a_time_and_never_goes_back(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert store.writer.commit(spans(0, 20))
    reads = SlowReads(monkeypatch)
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(TraceWaterfall)  # the newest trace opens by itself
        await wait_for(pilot, lambda: tree.trace_id == LIVE and len(tree.spans) == 20)
        await pilot.pause(2 * READ_SECONDS)  # its opening's read done
        reads.most_at_once = 0
        shown = [20]
        for feeder in feeding(store, 20, 1_000):
            while feeder.is_alive():
                await pilot.pause(0.02)
                shown.append(len(tree.spans))
        # Its last read may wait out a pause of up to ``MOST``: in time, not at once. What it
        # shows meanwhile counts too: on a loaded machine the feed can end before a second read.
        deadline = time.monotonic() + 30
        while len(tree.spans) < 1_000 and time.monotonic() < deadline:
            await pilot.pause(0.02)
            shown.append(len(tree.spans))
        assert len(tree.spans) == 1_000
    assert reads.most_at_once == 1
    assert shown == sorted(shown)  # an older read never replaced a newer one
    assert len(set(shown)) > 2  # and it followed the commits: a size between 20 and 1,000


async def test_the_trace_opened_during_a_read_is_followed_after_it(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert store.writer.commit(spans(0, 20))
    assert store.writer.commit(spans(0, 5, trace_id=OTHER))
    SlowReads(monkeypatch)
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_trace(LIVE)
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) == 20)
        assert store.writer.commit(spans(20, 40))  # a read of the live trace starts
        await pilot.pause(0.15)
        app.show_trace(OTHER)  # opened while that read runs
        await wait_for(pilot, lambda: tree.trace_id == OTHER and len(tree.spans) == 5)
        assert store.writer.commit(spans(5, 9, trace_id=OTHER))
        await wait_for(pilot, lambda: len(tree.spans) == 9)


async def test_a_slow_read_of_a_live_trace_is_followed_by_a_pause_twice_as_long(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A huge trace's reads take at most a third of the time (``REREAD_FACTOR``), however
    fast commits come (a pause of ``MOST`` at most); the view still ends with every span."""
    assert store.writer.commit(spans(0, 20))
    reads = SlowReads(monkeypatch)
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: tree.trace_id == LIVE and len(tree.spans) == 20)
        await pilot.pause(3 * READ_SECONDS)
        reads.reads.clear()
        for feeder in feeding(store, 20, 1_500, step=10):
            while feeder.is_alive():
                await pilot.pause(0.05)
        await wait_for(pilot, lambda: len(tree.spans) == 1_500, timeout=30)
    gaps = [(later[0] - earlier[1], earlier[1] - earlier[0])
            for earlier, later in pairwise(reads.reads)]
    assert len(gaps) >= 2  # it followed the commits
    # (A read slower than ``MOST`` / 2, on a busy machine, is followed by ``MOST`` at most.)
    assert all(gap >= min(MOST, (REREAD_FACTOR - 1) * took) for gap, took in gaps)

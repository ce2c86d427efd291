"""A huge live trace's summary row: held during a burst, exact after a flush, after its hold,
when the writer is idle, and after a crash (``store.trace_refresh``). SQLite's writer only."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from lumos_studio.records import SpanRecord
from lumos_studio.store import Store, StoreChange, StoreReader, StoreTarget, trace_refresh
from lumos_studio.store.pending import Item
from lumos_studio.store.trace_page import TraceSummary
from lumos_studio.store.trace_refresh import HUGE_TRACE, MIN_HOLD, SqliteRefresh, TraceRefresh
from lumos_studio.store.writer import StoreWriter
from tests.builders import T0, make_span

HUGE = "a" * 32
OTHER = "b" * 32


def spans(first: int, last: int, trace_id: str = HUGE) -> list[SpanRecord]:
    """Spans ``first`` .. ``last - 1`` of one run: every 100th a chat of agent "late-<n>" with
    tokens, every 250th failed."""
    made = []
    for n in range(first, last):
        chat = n % 100 == 0
        made.append(make_span(
            "chat model" if chat else f"step {n}", trace_id=trace_id, span_id=f"{n + 1:016x}",
            parent=None if n == 0 else f"{1:016x}", start=T0 + n * 1_000,
            status="ERROR" if n % 250 == 249 else "UNSET",
            attributes={"gen_ai.operation.name": "chat", "gen_ai.agent.name": f"late-{n}",
                        "gen_ai.usage.input_tokens": 3} if chat else {},
        ))
    return made


def summary(path: Path, trace_id: str = HUGE) -> TraceSummary:
    reader = StoreReader(path)
    try:
        return next(s for s in reader.list_traces() if s.trace_id == trace_id)
    finally:
        reader.close()


def expected(count: int) -> tuple[int, int, int]:
    """Span count, errors and input tokens of ``spans(0, count)``."""
    return count, sum(n % 250 == 249 for n in range(count)), 3 * len(range(0, count, 100))


def counts(found: TraceSummary) -> tuple[int, int, int | None]:
    return found.span_count, found.error_count, found.input_tokens


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_huge_trace_is_held_during_a_burst_and_exact_once_flushed(
        store_target: StoreTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    """On both engines."""
    monkeypatch.setattr(trace_refresh, "MIN_HOLD", 3_600.0)  # the burst never outlasts it
    changes: list[StoreChange] = []
    with Store.open(store_target) as store:
        def summary() -> TraceSummary:
            return next(s for s in store.reader.list_traces() if s.trace_id == HUGE)

        for start in range(0, HUGE_TRACE + 100, 700):  # refreshed by each: not huge yet
            assert store.writer.commit(spans(start, min(start + 700, HUGE_TRACE + 100)))
        assert counts(summary()) == expected(HUGE_TRACE + 100)
        store.writer.subscribe(changes.append)
        assert store.writer.commit(spans(HUGE_TRACE + 100, HUGE_TRACE + 600))
        assert counts(summary()) == expected(HUGE_TRACE + 100)  # its row waits
        assert len(store.reader.trace_spans(HUGE)) == HUGE_TRACE + 600  # its spans do not
        assert store.writer.flush()
        assert any(HUGE in change.trace_ids for change in changes[1:])  # told: the list redraws
        exact = summary()
    assert counts(exact) == expected(HUGE_TRACE + 600)
    assert f"late-{HUGE_TRACE + 500}" in (exact.agents or "").split(",")
    assert exact.end_ns == spans(HUGE_TRACE + 599, HUGE_TRACE + 600)[0].end_ns
    if isinstance(store_target, Path):
        assert not _due(store_target)


def test_a_held_trace_is_refreshed_by_the_first_batch_after_its_hold(tmp_path: Path) -> None:
    clock = Clock()
    writer = StoreWriter(tmp_path / "studio.db")
    writer._refresh = TraceRefresh(clock)  # the writer's steps run on this thread
    try:
        assert write(writer, spans(0, HUGE_TRACE))  # refreshed, and known to be huge
        assert write(writer, spans(HUGE_TRACE, HUGE_TRACE + 300))
        assert counts(summary(tmp_path / "studio.db")) == expected(HUGE_TRACE)
        assert _due(tmp_path / "studio.db") == [HUGE]
        clock.now += MIN_HOLD / 2
        assert write(writer, spans(HUGE_TRACE + 300, HUGE_TRACE + 400))  # still held
        assert counts(summary(tmp_path / "studio.db")) == expected(HUGE_TRACE)
        clock.now += MIN_HOLD
        assert write(writer, spans(0, 10, trace_id=OTHER))  # another trace's batch, after it
        assert counts(summary(tmp_path / "studio.db")) == expected(HUGE_TRACE + 400)
        assert not _due(tmp_path / "studio.db")
    finally:
        writer.close()


def test_a_trace_held_when_the_writer_stopped_is_refreshed_by_the_next_one(
        store_target: StoreTarget) -> None:
    """What a crash leaves: a row behind its spans, and its trace in the due table; the next
    writer refreshes it in its idle time, no flush needed. On both engines."""
    with Store.open(store_target) as store:
        assert store.writer.commit(spans(0, 500))
    crashed = ("UPDATE traces SET span_count = 1, error_count = 0",
               f"INSERT INTO trace_refresh_due (trace_id) VALUES ('{HUGE}')")
    if isinstance(store_target, Path):
        connection = sqlite3.connect(store_target)
        with connection:
            for statement in crashed:
                connection.execute(statement)
        connection.close()
    else:
        import psycopg

        with psycopg.connect(store_target.url) as pg:
            for statement in crashed:
                pg.execute(statement)
    with Store.open(store_target) as store:
        refreshed = threading.Event()

        def heard(change: StoreChange) -> None:
            if HUGE in change.trace_ids:
                refreshed.set()

        store.writer.subscribe(heard)
        store.writer.start()
        assert refreshed.wait(10)  # its idle time came
        (found,) = store.reader.list_traces()
        assert counts(found) == expected(500)


def test_a_quiet_huge_trace_is_refreshed_with_its_next_batch(tmp_path: Path) -> None:
    """Held only while batches come faster than its hold: one arriving after a pause is
    refreshed at once."""
    path = tmp_path / "studio.db"
    with Store(path) as store:
        assert store.writer.commit(spans(0, HUGE_TRACE))
        time.sleep(MIN_HOLD + 0.05)
        assert store.writer.commit(spans(HUGE_TRACE, HUGE_TRACE + 50))
        assert counts(summary(path)) == expected(HUGE_TRACE + 50)


def write(writer: StoreWriter, records: list[SpanRecord]) -> bool:
    """One transaction of ``records`` on this thread, as the writer's loop would run it."""
    items: list[Item] = [*records]
    return writer._write(items)


def _due(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [r[0] for r in connection.execute("SELECT trace_id FROM trace_refresh_due")]
    finally:
        connection.close()


def test_a_held_trace_deleted_meanwhile_stays_deleted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace_refresh, "MIN_HOLD", 3_600.0)
    path = tmp_path / "studio.db"
    with Store(path) as store:
        assert store.writer.commit(spans(0, HUGE_TRACE))
        assert store.writer.commit(spans(HUGE_TRACE, HUGE_TRACE + 10))  # held
        assert _due(path) == [HUGE]
        assert store.writer.delete_traces([HUGE])
        assert store.writer.flush()
        assert store.reader.list_traces() == []
    assert not _due(path)


def test_a_refresh_the_store_refuses_is_tried_again_a_second_later_not_in_a_loop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk fails the idle refresh of held rows: the writer waits a second before the
    next try, even with no pause between idle steps (``serve``'s), instead of spinning."""
    monkeypatch.setattr(trace_refresh, "MIN_HOLD", 3_600.0)
    path = tmp_path / "studio.db"
    with Store(path) as store:
        store.writer.idle_pause = 0.0
        assert store.writer.commit(spans(0, HUGE_TRACE))
        tries: list[float] = []
        idle_steps = [0]
        compact = store.writer._compact

        def counted() -> None:
            idle_steps[0] += 1
            compact()

        def refused(self: SqliteRefresh, trace_ids: object) -> list[tuple[str, int]]:
            tries.append(time.monotonic())
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(store.writer, "_compact", counted)
        monkeypatch.setattr(SqliteRefresh, "refresh", refused)
        assert store.writer.commit(spans(HUGE_TRACE, HUGE_TRACE + 10))  # held, not refreshed
        time.sleep(2.5)
        assert 2 <= len(tries) <= 3 and tries[1] - tries[0] >= 0.9
        assert idle_steps[0] < 20  # it waited, it did not loop
        monkeypatch.undo()
        assert store.writer.flush()
        assert counts(summary(path)) == expected(HUGE_TRACE + 10)


def test_the_largest_traces_of_a_batch_are_held_beyond_its_reads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many live runs at once, none huge: a batch refreshes its smaller traces, and holds the
    largest until what the rest last counted fits ``BATCH_READS``; a flush makes all exact."""
    monkeypatch.setattr(trace_refresh, "BATCH_READS", 100)
    monkeypatch.setattr(trace_refresh, "MIN_HOLD", 3_600.0)
    path = tmp_path / "studio.db"
    runs = {f"{n + 1:032x}": 20 + 10 * n for n in range(5)}  # 20, 30, 40, 50, 60 spans
    with Store(path) as store:
        for trace_id, size in runs.items():
            assert store.writer.commit(spans(0, size, trace_id=trace_id))
        assert store.writer.commit(
            [record for trace_id, size in runs.items()
             for record in spans(size, size + 5, trace_id=trace_id)])
        shown = {s.trace_id: s.span_count for s in store.reader.list_traces()}
        # 200 spans counted last: the 60 and the 50 held (200 → 140 → 90), the rest exact.
        assert shown == {trace_id: size + 5 if size < 50 else size
                         for trace_id, size in runs.items()}
        assert sorted(_due(path)) == sorted(t for t, size in runs.items() if size >= 50)
        assert store.writer.flush()
        shown = {s.trace_id: s.span_count for s in store.reader.list_traces()}
    assert shown == {trace_id: size + 5 for trace_id, size in runs.items()}


class TimedRefresh(SqliteRefresh):
    """SQLite's statements, each refresh of one held trace taking ``took`` on the clock."""

    def __init__(self, connection: sqlite3.Connection, clock: Clock, took: float) -> None:
        super().__init__(connection)
        self.clock, self.took, self.apart = clock, took, 0

    def refresh(self, trace_ids: Sequence[str]) -> list[tuple[str, int]]:
        if len(trace_ids) == 1:
            self.clock.now += self.took
            self.apart += 1
        return super().refresh(trace_ids)


def test_live_held_traces_share_one_budget_of_the_writer_s_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten huge live runs, every batch bringing spans to each: their refreshes together take
    about 1/``HOLD_FACTOR`` of the time, not that much each, and none is starved."""
    monkeypatch.setattr(trace_refresh, "HUGE_TRACE", 10)
    path = tmp_path / "studio.db"
    runs = [f"{n + 1:032x}" for n in range(10)]
    with Store(path) as store:
        assert store.writer.commit([r for t in runs for r in spans(0, 20, trace_id=t)])
    clock = Clock()
    connection = sqlite3.connect(path, isolation_level=None)
    statements = TimedRefresh(connection, clock, took=0.01)
    refresh = TraceRefresh(clock)
    refreshed = dict.fromkeys(runs, 0)
    began = clock.now
    for _ in range(200):  # a batch every 50 ms for 10 s
        plan = refresh.plan(runs)
        for trace_id in plan.apart:
            refreshed[trace_id] += 1
        refresh.settle(refresh.run(statements, plan))
        clock.now += 0.05
    connection.close()
    elapsed = clock.now - began
    spent = statements.apart * statements.took
    assert spent <= elapsed / trace_refresh.HOLD_FACTOR * 1.5  # ~0.5 s; 10x that, held apart
    assert min(refreshed.values()) >= 3  # every run's row still moves, every ~2 s

"""Lanes: single records reach the writer with a deque append; nothing waits or is lost."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from lumos_studio.records import SpanRecord
from lumos_studio.store import StoreReader, StoreWriter
from tests.builders import make_span


def _until(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


def _span_count(path: Path) -> int:
    reader = StoreReader(path)
    try:
        return sum(t.span_count for t in reader.list_traces())
    finally:
        reader.close()


def test_a_record_put_while_the_writer_sleeps_wakes_it(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "s.db").start()
    try:
        # Asleep for good: no text left to index, so only a wake-up can end its wait.
        assert _until(lambda: writer.sleeping and not writer._texts_pending)
        writer.submit(make_span())
        assert _until(lambda: writer.written == 1, 5), "the writer slept through a submit"
    finally:
        writer.close()


def test_a_flush_waits_for_everything_the_lanes_held_over_several_batches(
    tmp_path: Path,
) -> None:
    writer = StoreWriter(tmp_path / "s.db", batch_size=100)  # not started: all of it waits
    spans = [make_span(span_id=f"{i:016x}") for i in range(450)]
    assert writer.submit_many(spans) == 450
    try:
        assert writer.flush()
        assert writer.written == 450
        assert _span_count(tmp_path / "s.db") == 450
    finally:
        writer.close()


def test_a_delete_runs_after_the_spans_submitted_before_it(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "s.db", batch_size=50)  # not started: the spans wait
    spans = [make_span(span_id=f"{i:016x}") for i in range(2_000)]  # 40 transactions' worth
    writer.submit_many(spans)
    try:
        assert writer.delete_traces([spans[0].trace_id])  # starts the writer
        assert writer.flush()
        assert _span_count(tmp_path / "s.db") == 0
    finally:
        writer.close()


def test_a_putter_that_may_wait_gets_room_once_the_writer_drains(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "s.db", max_queue=2)
    assert writer.submit_many([make_span(span_id=f"{i:016x}") for i in range(2)]) == 2
    results: list[bool] = []
    putter = threading.Thread(
        target=lambda: results.append(writer.submit(make_span(span_id="f" * 16), timeout=10))
    )
    putter.start()
    time.sleep(0.05)
    assert not results  # still waiting for room
    writer.start()
    putter.join(10)
    try:
        assert results == [True] and writer.dropped == 0
        assert writer.flush() and writer.written == 3
    finally:
        writer.close()


def test_a_lane_converts_its_own_items_and_counts_those_that_fail(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "s.db").start()

    def convert(span_id: str) -> SpanRecord:
        if span_id == "bad":
            raise ValueError("cannot convert")
        return make_span(span_id=span_id)

    lane = writer.lane(convert)
    try:
        for span_id in ("a" * 16, "bad", "b" * 16):
            assert lane.put(span_id)
        assert writer.flush()
        assert (writer.written, writer.dropped) == (2, 1)
    finally:
        writer.close()

"""The writer never fails a batch for one record: it finds it, drops it, commits the rest."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import replace

from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.store import Store
from lumos_studio.store.isolation import is_data_error
from lumos_studio.store.writer_transactions import StoreChange
from tests.builders import T0, make_span

POISON_START = 2**64 - 1  # past SQLite's int64: binding it raises OverflowError


def trace(n: int, spans: int = 5) -> list[SpanRecord]:
    return [make_span(f"step {i}", trace_id=f"{n:032x}", span_id=f"{i + 1:016x}")
            for i in range(spans)]


def poison(n: int) -> SpanRecord:
    return replace(make_span("poison", trace_id=f"{n:032x}", span_id="dead000000000001"),
                   start_ns=POISON_START)


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.005)


def test_a_poison_record_among_several_submitters_costs_only_itself(store: Store) -> None:
    writer = store.writer
    gate, holding = threading.Event(), threading.Event()

    def hold_the_writer(change: StoreChange) -> None:  # runs on the writer thread
        if not gate.is_set():
            holding.set()
            gate.wait(20)

    writer.subscribe(hold_the_writer)
    warm_up = threading.Thread(target=writer.commit, args=(trace(99, 1),))
    warm_up.start()
    wait_until(holding.is_set, "the writer holds")

    # While the writer is held, every submitter's batch queues: they are then merged into one
    # transaction, which the poison fails.
    good = {n: trace(n) for n in (1, 2, 3)}
    bad_log = LogRecord(time_ns=2**64, body="poison log", trace_id=f"{4:032x}")
    batches = {**good, 4: [*trace(4, 2), poison(4), bad_log], 5: [poison(5)]}
    results: dict[int, tuple[bool, list[str]]] = {}

    def submit(n: int) -> None:
        rejected: list[str] = []
        results[n] = (writer.commit(batches[n], 20, rejected), rejected)

    threads = [threading.Thread(target=submit, args=(n,)) for n in batches]
    for thread in threads:
        thread.start()
    writer.submit(poison(6))  # and single records through a lane, one of them poison too
    writer.submit(make_span("lane", trace_id=f"{6:032x}", span_id="1" * 16))
    queued = sum(len(batch) for batch in batches.values())
    wait_until(lambda: writer._queue.qsize() >= queued, "every batch is queued")
    gate.set()
    for thread in [warm_up, *threads]:
        thread.join(30)
    assert writer.flush()

    for n in good:
        assert results[n] == (True, []), n
        stored = store.reader.trace_spans(f"{n:032x}")
        assert sorted(s.span_id for s in stored) == sorted(s.span_id for s in good[n])
    ok, reasons = results[4]
    assert ok and len(reasons) == 2
    assert "span dead000000000001 of trace" in reasons[0] and "OverflowError" in reasons[0]
    assert "log record at" in reasons[1]
    assert [s.name for s in store.reader.trace_spans(f"{4:032x}")] == ["step 0", "step 1"]
    assert results[5][0] and len(results[5][1]) == 1  # all refused: the receiver answers 400
    assert not store.reader.trace_spans(f"{5:032x}")
    assert [s.name for s in store.reader.trace_spans(f"{6:032x}")] == ["lane"]
    assert writer.rejected == 4 and writer.failed_batches == 0


def test_a_batch_that_fails_alone_is_halved_to_the_poison(store: Store) -> None:
    records = [*trace(7, 40), poison(7)]
    records.insert(13, replace(poison(7), span_id="dead000000000002"))
    rejected: list[str] = []
    assert store.writer.commit(records, 20, rejected)
    assert len(rejected) == 2 and store.writer.rejected == 2
    assert len(store.reader.trace_spans(f"{7:032x}")) == 40
    summary = store.reader.list_traces()[0]
    assert summary.span_count == 40 and summary.start_ns == T0


def test_a_store_that_fails_is_not_taken_for_a_poison_record() -> None:
    assert is_data_error(OverflowError("Python int too large to convert to SQLite INTEGER"))
    assert is_data_error(sqlite3.ProgrammingError("Error binding parameter 3: type 'dict' ..."))
    assert is_data_error(UnicodeEncodeError("utf-8", "\udc80", 0, 1, "surrogates not allowed"))
    assert not is_data_error(sqlite3.OperationalError("database is locked"))
    assert not is_data_error(sqlite3.OperationalError("database or disk is full"))
    assert not is_data_error(sqlite3.ProgrammingError("Cannot operate on a closed database."))

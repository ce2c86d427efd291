"""The store's contract: what is written reads back. Tests through the API run on both engines
(``store_target``: SQLite and PostgreSQL); those about SQLite's file and writer, on SQLite."""

from __future__ import annotations

import dataclasses
import itertools
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lumos_studio.present import children_by_parent
from lumos_studio.store import (
    Store,
    StoreChange,
    StoreError,
    StoreReader,
    StoreTarget,
    StoreUnusable,
)
from lumos_studio.store import connection as store_connection
from lumos_studio.store import writer as store_writer
from lumos_studio.store.pending import PendingRows
from lumos_studio.store.schema import SCHEMA_VERSION
from tests.builders import T0, make_span, weather_trace


@pytest.fixture
def store(store_target: StoreTarget) -> Iterator[Store]:
    opened = Store.open(store_target)
    yield opened
    opened.close()


def test_round_trip_reads_back_the_same_tree(store: Store) -> None:
    spans = weather_trace()
    store.writer.submit_many(spans)
    assert store.writer.flush()

    stored = store.reader.trace_spans(spans[0].trace_id)

    assert stored == sorted(spans, key=lambda s: (s.start_ns, s.span_id))
    tree = children_by_parent(stored)
    assert [s.name for s in tree[None]] == ["invoke_agent weather"]
    assert [s.name for s in tree["a000000000000001"]] == [
        "chat scripted", "execute_tool get_weather", "chat scripted",
    ]


def test_a_trace_is_named_by_its_earliest_span_until_its_root_comes(store: Store) -> None:
    """Children often arrive first (a root ends, and is exported, last): the summary takes the
    earliest span's name and service until the root is there, then the root's."""
    from lumos_studio.records import SpanRecord
    from tests.builders import T0, make_span

    def span(name: str, span_id: str, parent: str | None, start: int, service: str
             ) -> SpanRecord:
        return dataclasses.replace(
            make_span(name, span_id=span_id, parent=parent, start=T0 + start),
            resource={"service.name": service})

    root_id = "a" * 16
    assert store.writer.commit([span("late child", "b" * 16, root_id, 20, "worker"),
                                span("early child", "c" * 16, root_id, 10, "tools")])
    (summary,) = store.reader.list_traces()
    assert (summary.root_name, summary.service_name) == ("early child", "tools")
    assert store.writer.commit([span("invoke_agent planner", root_id, None, 15, "agents")])
    (summary,) = store.reader.list_traces()  # the root, though a child started before it
    assert (summary.root_name, summary.service_name) == ("invoke_agent planner", "agents")


def test_trace_summary_counts_spans_tokens_errors(store: Store) -> None:
    spans = weather_trace()
    spans[2] = dataclasses.replace(spans[2], status_code="ERROR")
    store.writer.submit_many(spans)
    store.writer.flush()

    (summary,) = store.reader.list_traces()
    assert summary.root_name == "invoke_agent weather"
    assert summary.agent_name == "weather"
    # The tool failed, the run went on and its root ended well: one error, and the run is OK.
    assert (summary.span_count, summary.error_count, summary.status) == (4, 1, "OK")
    assert (summary.input_tokens, summary.output_tokens) == (30, 9)  # chat spans only
    assert summary.duration_ns == 300_000_000


def test_running_span_is_replaced_by_its_end_but_never_the_reverse(store: Store) -> None:
    running = make_span("work", duration_ms=None)
    finished = make_span("work", duration_ms=25, status="OK")
    store.writer.submit(running)
    store.writer.flush()
    (summary,) = store.reader.list_traces()
    assert summary.status == "RUNNING" and summary.duration_ns is None

    store.writer.submit(finished)
    store.writer.submit(running)  # a late "started" copy must not undo the end
    store.writer.flush()
    (stored,) = store.reader.trace_spans(finished.trace_id)
    assert stored == finished
    assert store.reader.list_traces()[0].status == "OK"


def test_start_and_end_in_one_batch_keep_the_end_whatever_the_order(store: Store) -> None:
    store.writer.submit_many([make_span(duration_ms=5), make_span(duration_ms=None)])
    store.writer.flush()
    assert not store.reader.trace_spans(make_span().trace_id)[0].running


def test_importing_the_same_spans_twice_stores_them_once(store: Store) -> None:
    for _ in range(2):
        store.writer.submit_many(weather_trace())
        store.writer.flush()
    assert store.reader.list_traces()[0].span_count == 4
    assert store.writer.written == 4


def test_listeners_hear_which_traces_changed(store: Store) -> None:
    heard: list[StoreChange] = []
    store.writer.subscribe(heard.append)
    store.writer.submit_many(weather_trace("1" * 32) + weather_trace("2" * 32, T0 + 10**9))
    store.writer.flush()
    assert frozenset().union(*(c.trace_ids for c in heard)) == {"1" * 32, "2" * 32}


def test_listeners_hear_when_another_process_commits_and_only_then(
    store_target: StoreTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_writer, "OTHERS_LOOK_EVERY", 0.05)
    heard: list[StoreChange] = []
    with Store.open(store_target) as store:
        store.writer.subscribe(heard.append)
        store.writer.submit_many(weather_trace("1" * 32))
        store.writer.flush()
        time.sleep(0.3)  # several looks: its own commits (and checkpoints) are not others'
        assert heard and not any(change.others for change in heard)
        with Store.open(store.target) as other:  # a connection of its own, as another process's
            other.writer.submit_many(weather_trace("2" * 32, T0 + 10**9))
            other.writer.flush()
        deadline = time.monotonic() + 5
        while not any(change.others for change in heard) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [c.trace_ids for c in heard if c.others] == [frozenset()]


def test_looks_for_others_commits_that_fail_come_less_and_less_often_until_one_works(
    store_target: StoreTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PostgreSQL server gone away: each look may wait its connect timeout, on the writer's
    thread. (It was tried every ``OTHERS_LOOK_EVERY``, however often it failed.)"""
    monkeypatch.setattr(store_writer, "OTHERS_LOOK_EVERY", 0.02)
    monkeypatch.setattr(store_writer, "OTHERS_LOOK_AT_MOST", 0.16)
    looks: list[float] = []
    server_up = threading.Event()

    def look() -> int | None:
        looks.append(time.monotonic())
        return 1 if server_up.is_set() else None

    with Store.open(store_target) as store:
        monkeypatch.setattr(store.writer, "_others_mark", look)
        time.sleep(0.8)  # 40 looks, were they due every 0.02 s
        failed = len(looks)
        assert 3 <= failed <= 10
        gaps = [b - a for a, b in itertools.pairwise(looks)]
        assert gaps[1] >= 0.04 and max(gaps) >= 0.16  # each twice as late, up to the most
        server_up.set()
        deadline = time.monotonic() + 5
        while len(looks) < failed + 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(looks) >= failed + 20  # back to every 0.02 s once a look worked


def test_a_flush_without_search_leaves_the_texts_queued_for_the_next_writer(
    tmp_path: Path,
) -> None:
    """``serve``'s at Ctrl-C: stored at once, not indexed first (after a burst that took
    seconds, with nothing on the screen)."""
    def queued(path: Path) -> int:
        with sqlite3.connect(path) as connection:
            found: int = connection.execute("SELECT count(*) FROM text_queue").fetchone()[0]
        connection.close()
        return found

    db = tmp_path / "studio.db"
    with Store(db) as store:
        store.writer.idle_before_indexing = 60.0  # not indexed in idle time meanwhile
        received = PendingRows()  # as the receiver stores them: their texts queued
        received.add(weather_trace("1" * 32))
        assert store.writer.commit_rows(received)
        assert store.writer.flush(searchable=False)
        assert store.reader.trace_ids() == ["1" * 32]  # stored
        assert queued(db) > 0  # its message text not indexed yet
    with Store(db) as store:  # the next writer: flushed means searchable
        assert store.writer.flush()
    assert queued(db) == 0


def test_traces_are_listed_newest_first_and_found_by_prefix(store: Store) -> None:
    store.writer.submit_many(weather_trace("abc" + "0" * 29, T0))
    store.writer.submit_many(weather_trace("abd" + "0" * 29, T0 + 10**9))
    store.writer.flush()
    assert [t.trace_id[:3] for t in store.reader.list_traces()] == ["abd", "abc"]
    assert store.reader.resolve_trace_id("ABC") == ["abc" + "0" * 29]
    assert len(store.reader.resolve_trace_id("ab")) == 2
    assert store.reader.resolve_trace_id("ff") == []


def test_queries_work_from_other_threads_while_the_writer_writes(store: Store) -> None:
    store.writer.submit_many(weather_trace())
    store.writer.flush()
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(len(store.reader.list_traces())))
    thread.start()
    thread.join()
    assert seen == [1]


def test_store_is_wal_and_versioned(tmp_path: Path) -> None:
    Store(tmp_path / "studio.db").close()
    connection = sqlite3.connect(tmp_path / "studio.db")
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 16


def test_a_store_from_a_newer_studio_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(StoreUnusable, match="newer Lumos Studio"):
        Store(path)


def test_reading_a_missing_store_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="record a run first"):
        StoreReader(tmp_path / "nothing.db")


def test_full_queue_counts_drops_instead_of_blocking(tmp_path: Path) -> None:
    from lumos_studio.store import StoreWriter

    writer = StoreWriter(tmp_path / "s.db", max_queue=2)  # not started: nothing drains
    results = [writer.submit(make_span(span_id=f"{i:016x}")) for i in range(3)]
    assert results == [True, True, False]
    assert writer.dropped == 1 and not writer.has_room(1)
    writer.start()
    assert writer.flush()
    writer.close()


def test_logs_round_trip_tied_to_their_span_and_are_not_duplicated(store: Store) -> None:
    from lumos_studio.records import LogRecord

    trace = weather_trace()
    tool_span = trace[2]
    logs = [
        LogRecord(T0 + 1, "looking up Paris", 9, "INFO", tool_span.trace_id, tool_span.span_id,
                  attributes={"code.function": "get_weather"}, scope_name="demo"),
        LogRecord(T0 + 2, {"key": "city", "value": "Paris"}, 9, "INFO", tool_span.trace_id,
                  tool_span.span_id, event_name="lumos.memory.update"),
        LogRecord(T0 + 3, "unrelated", 13, "WARN"),
    ]
    heard: list[StoreChange] = []
    store.writer.subscribe(heard.append)
    for _ in range(2):  # a re-import adds nothing
        store.writer.submit_many([*trace, *logs])
        store.writer.flush()

    assert store.reader.logs() == logs
    assert store.reader.logs(span_id=tool_span.span_id) == logs[:2]
    assert store.reader.logs(trace_id=tool_span.trace_id, limit=1) == [logs[1]]
    assert store.writer.logs_written == 3
    assert heard[0].logs == 3 and heard[0].log_trace_ids == {tool_span.trace_id}
    assert heard[-1].logs == 0


def test_a_closed_writer_stays_closed(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.close()
    assert store.writer.flush(0.5) is False  # an SDK processor's shutdown at exit, say
    assert store.writer.commit(weather_trace(), 0.5) is False
    assert store.writer._thread is None


def test_the_writer_never_checkpoints_in_a_commit_its_checkpointer_does(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    try:
        connection = store.writer._connection
        assert connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        store.writer.submit_many(weather_trace())
        assert store.writer.flush()
        checkpointer = store.writer._checkpointer
        deadline = time.monotonic() + 10
        while checkpointer.checkpoints == 0:
            assert time.monotonic() < deadline, "no checkpoint after a commit"
            time.sleep(0.02)
    finally:
        store.close()
    # Closed: what was committed is there for the next reader.
    copy = sqlite3.connect(tmp_path / "s.db")
    assert copy.execute("SELECT count(*) FROM spans").fetchone()[0] == 4


def test_batches_committed_together_leave_each_committers_rows_as_they_were(
    tmp_path: Path,
) -> None:
    from lumos_studio.store import StoreWriter
    from lumos_studio.store.pending import PendingRows
    from lumos_studio.store.writer_queue import Batch

    first = PendingRows.of(weather_trace())
    second = PendingRows.of(weather_trace(trace_id="2" * 32))
    entries = [Batch(first), Batch(second)]
    writer = StoreWriter(tmp_path / "s.db")  # not started: both wait in the queue
    for entry in entries:
        writer._queue.put(entry)
    writer.start()
    try:
        assert all(entry.done.wait(10) and entry.ok for entry in entries)
        assert writer.written == 8  # one transaction took both
        assert (len(first), len(second)) == (4, 4)  # what a receiver counts after its commit
    finally:
        writer.close()


def test_none_and_bytes_bind_as_null_and_blob_without_adapting() -> None:
    assert (type(None), sqlite3.PrepareProtocol) in sqlite3.adapters
    with sqlite3.connect(":memory:") as db:
        row = db.execute("SELECT ?, typeof(?), ?, typeof(?)", (None, None, b"\x00a", b"\x00a"))
        assert row.fetchone() == (None, "null", b"\x00a", "blob")


def test_the_identity_adapters_leave_the_processs_own(monkeypatch: pytest.MonkeyPatch) -> None:
    def own(value: bytes) -> str:
        return value.hex()

    monkeypatch.setitem(sqlite3.adapters, (bytes, sqlite3.PrepareProtocol), own)
    store_connection._bind_without_adapting()
    assert sqlite3.adapters[(bytes, sqlite3.PrepareProtocol)] is own


def test_the_writers_transactions_wait_for_a_lock_held_elsewhere(tmp_path: Path) -> None:
    from lumos_studio.store import StoreWriter

    writer = StoreWriter(tmp_path / "s.db")  # not started: its steps run on this thread
    try:
        assert writer._write(weather_trace())  # their message text waits to be indexed
        other = sqlite3.connect(tmp_path / "s.db", isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # as the checkpointer's log restart holds the lock
        release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
        release.start()
        writer._index_texts()  # reads, then writes: a deferred BEGIN failed at once here
        release.join()
        other.close()
        indexed = writer._connection.execute("SELECT count(*) FROM trace_texts").fetchone()[0]
        assert indexed > 0  # nothing, had the step given up
    finally:
        writer.close()


def test_the_first_trace_is_the_one_that_started_first(tmp_path: Path) -> None:
    with Store(tmp_path / "studio.db") as store:
        assert store.reader.first_trace_id() is None
        store.writer.submit_many([*weather_trace("2" * 32, T0 + 10**9), *weather_trace("1" * 32)])
        assert store.writer.flush()
        assert store.reader.first_trace_id() == "1" * 32
        assert store.reader.trace_ids()[0] == "1" * 32

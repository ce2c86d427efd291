"""Message text becomes searchable when the writer is idle, not inside the ingest transaction."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest

from lumos_studio.otlp.proto_codec import decode_trace_request_proto
from lumos_studio.otlp.proto_encode import encode_trace_request_proto
from lumos_studio.records import LogRecord
from lumos_studio.store import (
    Store,
    StoreReader,
    StoreWriter,
    TraceQuery,
    compaction,
    trace_index,
    writer_idle,
)
from lumos_studio.store import writer as store_writer
from lumos_studio.store.trace_filter import parse_filter
from lumos_studio.store.writer_queue import Flush
from tests.builders import three_texts, weather_trace


def found(store: Store, query: str) -> list[str]:
    page = store.reader.find_traces(TraceQuery(parse_filter(query)))
    return [t.trace_id for t in page.summaries]


def test_a_written_batch_queues_its_spans_and_idle_time_indexes_them(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "s.db")  # not started: each step is ours to call
    try:
        assert writer._write(list(three_texts()))
        connection = writer._connection
        # The agent span and the two chat spans hold messages.
        assert trace_index.pending_count(connection) == 3
        assert connection.execute("SELECT count(*) FROM trace_texts").fetchone()[0] == 0
        with connection:
            connection.execute("BEGIN")
            assert trace_index.index_pending(connection, limit=2) == 2
        assert trace_index.pending_count(connection) == 1
        writer._index_texts()
        assert trace_index.pending_count(connection) == 0
        assert not writer._texts_pending
        assert connection.execute(
            "SELECT count(*) FROM trace_texts_fts WHERE trace_texts_fts MATCH 'paris'"
        ).fetchone()[0] == 3
    finally:
        writer.close()


def test_idle_indexing_makes_the_newest_runs_searchable_first(tmp_path: Path) -> None:
    older, newer = "a" * 32, "b" * 32
    writer = StoreWriter(tmp_path / "s.db")  # not started: each step is ours to call
    try:
        assert writer._write(list(three_texts(older)))
        assert writer._write(list(three_texts(newer, start=three_texts()[0].start_ns + 10)))
        reader = StoreReader(tmp_path / "s.db")
        with writer._connection as connection:
            connection.execute("BEGIN")
            assert trace_index.index_pending(connection, limit=3) == 3  # one run's texts
        page = reader.find_traces(TraceQuery(parse_filter("sunny")))
        assert [t.trace_id for t in page.summaries] == [newer] and page.unindexed == 3
        writer._index_texts()
        assert {t.trace_id for t in reader.find_traces(TraceQuery(parse_filter("sunny"))).summaries
                } == {older, newer}
        assert trace_index.pending_count(writer._connection) == 0
        reader.close()
    finally:
        writer.close()


def test_flush_returns_once_the_text_is_searchable(store: Store) -> None:
    store.writer.submit_many(three_texts())
    assert store.writer.flush()
    assert found(store, "sunny") == [three_texts()[0].trace_id]


def test_spans_that_came_as_otlp_bytes_are_indexed_from_the_stored_bytes(store: Store) -> None:
    body = encode_trace_request_proto(three_texts())
    assert store.writer.commit(decode_trace_request_proto(body))
    assert store.writer.flush()
    assert found(store, "sunny") == [three_texts()[0].trace_id]


def test_a_trace_deleted_before_indexing_leaves_nothing_behind(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "s.db")
    try:
        assert writer._write(list(three_texts()))
        with writer._connection as connection:
            connection.execute("BEGIN")
            trace_index.delete(connection, [three_texts()[0].trace_id])
        assert trace_index.pending_count(writer._connection) == 0
        writer._index_texts()
        assert writer._connection.execute("SELECT count(*) FROM trace_texts").fetchone()[0] == 0
    finally:
        writer.close()


def test_text_becomes_searchable_soon_after_the_writer_goes_idle(store: Store) -> None:
    assert store.writer.commit(list(three_texts()))  # what a receiver does: no flush
    deadline = time.monotonic() + 10
    while not found(store, "sunny"):
        assert time.monotonic() < deadline, "the idle writer never indexed the messages"
        time.sleep(0.05)
    assert trace_index.pending_count(store.writer._connection) == 0


@pytest.mark.parametrize("pause", [writer_idle.IDLE_BETWEEN_STEPS, 0.0])  # a UI; ``serve``
def test_once_idle_the_writer_indexes_step_after_step_without_waiting_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pause: float
) -> None:
    monkeypatch.setattr(writer_idle, "TEXTS_PER_IDLE_STEP", 2)  # 4 texts a trace: 6 steps
    writer = StoreWriter(tmp_path / "s.db")
    writer.idle_pause = pause
    for n in range(3):
        writer._write(three_texts(trace_id=f"{n + 1:032x}"))
    waits: list[float | None] = []
    get = writer._queue.get

    def recording_get(block: bool = True, timeout: float | None = None) -> object:
        waits.append(timeout)
        return get(block, timeout)

    monkeypatch.setattr(writer._queue, "get", recording_get)
    writer.start()
    try:
        deadline = time.monotonic() + 10
        while writer._texts_pending:
            assert time.monotonic() < deadline, "the idle writer stopped indexing"
            time.sleep(0.02)
    finally:
        writer.close()
    # Then it sleeps, waking only to look for other processes' commits.
    asleep = store_writer.OTHERS_LOOK_EVERY
    steps = waits[: waits.index(asleep)] if asleep in waits else waits
    assert steps[0] == writer_idle.IDLE_BEFORE_INDEXING  # idle first: ingest never waits
    assert set(steps[1:]) == {pause} and len(steps) >= 4


def serve_writer_holding(path: Path, traces: int) -> StoreWriter:
    """A writer set up as ``serve`` sets it, not started (each step is the test's to call),
    that has written ``traces`` weather traces: 3 texts each, queued for indexing."""
    writer = StoreWriter(path)
    writer.serve_without_ui()
    for n in range(traces):
        assert writer._write(list(three_texts(trace_id=f"{n + 1:032x}")))
    return writer


def test_serve_indexes_several_steps_a_transaction_until_a_batch_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_idle, "TEXTS_PER_IDLE_STEP", 2)  # 3 texts a trace
    writer = serve_writer_holding(tmp_path / "s.db", traces=4)
    assert writer.idle_before_indexing == 0.0 and writer.idle_pause == 0.0
    try:
        connection = writer._connection
        assert trace_index.pending_count(connection) == 12
        writer.steps_per_transaction = 3
        writer._index_texts()  # three steps of two, one transaction
        assert trace_index.pending_count(connection) == 6 and writer._texts_pending
        writer._queue.put(Flush())  # a batch (here a flush) waits: one step
        writer._index_texts()
        assert trace_index.pending_count(connection) == 4 and writer._texts_pending
        writer._queue.get_nowait()
        writer.steps_per_transaction = 10
        writer._index_texts()  # the rest, and it says the queue is empty
        assert trace_index.pending_count(connection) == 0 and not writer._texts_pending
        assert len(found_in(connection, "paris")) == 12
    finally:
        writer.close()


def test_serve_indexes_whole_transactions_while_more_texts_wait_than_its_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_idle, "TEXTS_PER_IDLE_STEP", 2)
    writer = serve_writer_holding(tmp_path / "s.db", traces=3)
    writer.texts_waiting_bound = 5
    writer.steps_per_transaction = 2
    try:
        connection = writer._connection
        assert trace_index.pending_count(connection) == writer.texts_queued == 9
        writer._queue.put(Flush())  # a batch waits: past the bound, the transaction goes on
        writer._bound_backlog()  # one transaction of two steps of two: 9 → 5
        assert trace_index.pending_count(connection) == writer.texts_queued == 5
        writer._bound_backlog()  # within the bound: the rest waits for idle time
        assert trace_index.pending_count(connection) == 5 and writer._texts_pending
        assert len(found_in(connection, "paris")) == 4
    finally:
        writer.close()


def test_a_burst_into_serve_leaves_no_more_texts_queued_than_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the writer's thread, as ``serve`` runs it: each batch is answered once the
    texts waiting are back within the bound, and what is left waits for idle time."""
    monkeypatch.setattr(writer_idle, "TEXTS_PER_IDLE_STEP", 2)
    writer = StoreWriter(tmp_path / "s.db")
    writer.serve_without_ui()
    writer.idle_before_indexing = 3600.0  # no idle time in this test: only the bound indexes
    writer.texts_waiting_bound = 7
    writer.steps_per_transaction = 1
    reader = None
    try:
        waiting = []
        for n in range(12):  # 3 texts a trace
            assert writer.commit(three_texts(trace_id=f"{n + 1:032x}"))
            if reader is None:
                reader = sqlite3.connect(tmp_path / "s.db")
            waiting.append(trace_index.pending_count(reader))
        assert max(waiting) <= 7 and waiting[-1] > 0
        assert waiting[:3] == [3, 6, 7]  # nothing indexed within the bound, then 9 → 7
    finally:
        if reader is not None:
            reader.close()
        writer.close()


def test_the_bound_is_what_the_writer_indexes_in_its_backlog_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst may leave what the writer, at the rate it was timed indexing, works off in
    ``BACKLOG_SECONDS``: on a slower machine fewer texts than ``texts_waiting_bound``."""

    class Clock:  # each reading a second on: a timed transaction takes one
        now = 0.0

        def perf_counter(self) -> float:
            self.now += 1.0
            return self.now

    monkeypatch.setattr(writer_idle, "time", Clock())
    monkeypatch.setattr(writer_idle, "TEXTS_PER_IDLE_STEP", 2)
    monkeypatch.setattr(writer_idle, "TIMED_TEXTS", 4)
    monkeypatch.setattr(writer_idle, "LEAST_TEXTS_WAITING", 1)
    monkeypatch.setattr(writer_idle, "BACKLOG_SECONDS", 0.5)
    writer = serve_writer_holding(tmp_path / "s.db", traces=3)
    writer.texts_waiting_bound = 8
    writer.steps_per_transaction = 2
    try:
        connection = writer._connection
        writer._bound_backlog()  # not timed yet: the bound is 8, and 9 wait → 5
        assert trace_index.pending_count(connection) == writer.texts_queued == 5
        writer._bound_backlog()  # 4 texts a second: 0.5 s is 2 texts → 1 left
        assert trace_index.pending_count(connection) == writer.texts_queued == 1
    finally:
        writer.close()


def test_a_reckoning_another_process_made_wrong_ends_the_bounds_indexing(
    tmp_path: Path,
) -> None:
    """Another writer of the store indexed the queue: the bound's loop finds nothing to do,
    and forgets its count instead of looking again and again."""
    writer = serve_writer_holding(tmp_path / "s.db", traces=3)
    writer.texts_waiting_bound = 2
    other = StoreWriter(tmp_path / "s.db")
    try:
        while other._texts_pending:
            other._index_texts()
        assert writer.texts_queued == 9
        writer._bound_backlog()
        assert writer.texts_queued == 0 and not writer._texts_pending
        assert trace_index.pending_count(writer._connection) == 0
    finally:
        other.close()
        writer.close()


def found_in(connection: sqlite3.Connection, word: str) -> list[int]:
    return [row[0] for row in connection.execute(
        "SELECT rowid FROM trace_texts_fts WHERE trace_texts_fts MATCH ?", (word,))]


def test_a_text_search_says_how_much_text_is_not_searchable_yet(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "s.db")  # not started: nothing indexes behind our back
    changes: list[frozenset[str]] = []
    writer.subscribe(lambda change: changes.append(change.trace_ids))
    try:
        assert writer._write(list(three_texts()))
        reader = StoreReader(tmp_path / "s.db")
        assert reader.find_traces(TraceQuery(parse_filter("sunny"))).unindexed == 3
        assert reader.find_traces(TraceQuery(parse_filter("agent:weather"))).unindexed == 0
        changes.clear()
        writer._index_texts()
        assert changes == [frozenset({three_texts()[0].trace_id})]  # the list searches again
        page = reader.find_traces(TraceQuery(parse_filter("sunny")))
        assert page.unindexed == 0 and page.total == 1
        reader.close()
    finally:
        writer.close()


def test_a_span_queues_for_indexing_when_it_ends_not_when_it_starts(tmp_path: Path) -> None:
    agent, *_ = weather_trace()
    started = replace(agent, end_ns=None)
    writer = StoreWriter(tmp_path / "s.db")
    try:
        for form in (started, *decode_trace_request_proto(encode_trace_request_proto([started]))):
            assert writer._write([form])  # a running span, as a record and as OTLP bytes
        assert trace_index.pending_count(writer._connection) == 0
        assert writer._write(list(decode_trace_request_proto(encode_trace_request_proto([agent]))))
        assert trace_index.pending_count(writer._connection) == 1  # the copy that ended it
        assert writer._write([agent])  # sent again: queued again, indexed once
        writer._index_texts()
        rows = writer._connection.execute("SELECT span_id FROM trace_texts").fetchall()
        assert rows == [(agent.span_id,)]
    finally:
        writer.close()


def test_the_index_keeps_the_words_not_a_copy_of_the_text(store: Store) -> None:
    store.writer.commit(three_texts())
    assert store.writer.flush()
    connection = store.writer._connection
    assert connection.execute("SELECT count(*) FROM trace_texts_fts").fetchone()[0] == 3
    assert {row[0] for row in connection.execute("SELECT text FROM trace_texts_fts")} == {None}
    assert "text" not in {row[1] for row in connection.execute("PRAGMA table_info(trace_texts)")}


def test_a_message_that_comes_after_its_span_replaces_the_spans_words(store: Store) -> None:
    agent, chat, tool, answer = weather_trace()
    chat = replace(chat, attributes={  # its input comes as a log record, after it
        k: v for k, v in chat.attributes.items() if k != "gen_ai.input.messages"})
    store.writer.commit([agent, chat, tool, answer])
    assert store.writer.flush()
    late = LogRecord(chat.end_ns or 0, {"content": "and in zanzibar?"}, 9, "INFO",
                     chat.trace_id, chat.span_id, "gen_ai.user.message")
    store.writer.commit([late])
    assert store.writer.flush()

    assert found(store, "zanzibar") == [chat.trace_id]
    connection = store.writer._connection
    # The span's first text was taken out of the index (made again from the span), not left:
    # the agent's, the two chats' and the tool call's.
    assert connection.execute("SELECT count(*) FROM trace_texts_fts_docsize").fetchone()[0] == 4
    assert connection.execute("SELECT count(*) FROM trace_texts").fetchone()[0] == 4
    assert store.writer.delete_traces([chat.trace_id])
    assert connection.execute("SELECT count(*) FROM trace_texts_fts_docsize").fetchone()[0] == 0
    assert found(store, "zanzibar") == [] and found(store, "paris") == []


def _write_from_lanes(writer: StoreWriter) -> None:
    """One step of the writer's loop: what its lanes hold, converted and written."""
    rows = writer._take_from_lanes()
    assert rows is not None and writer._write_parts(rows, [(rows, None)])


def test_spans_the_writer_converted_are_indexed_in_their_own_transaction(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "s.db")  # not started: each step is ours to call
    try:
        writer._texts_pending = False  # a new store: nothing left by an earlier session
        writer.submit_many(three_texts())
        _write_from_lanes(writer)
        connection = writer._connection
        assert trace_index.pending_count(connection) == 0 and not writer._texts_pending
        assert connection.execute(
            "SELECT count(*) FROM trace_texts_fts WHERE trace_texts_fts MATCH 'paris'"
        ).fetchone()[0] == 3
        writer.submit_many(three_texts())  # the same spans again: the queue compares texts
        _write_from_lanes(writer)
        assert trace_index.pending_count(connection) == 3 and writer._texts_pending
        writer._index_texts()
        assert connection.execute("SELECT count(*) FROM trace_texts").fetchone()[0] == 3
        assert connection.execute("SELECT count(*) FROM trace_texts_fts_docsize"
                                  ).fetchone()[0] == 3
    finally:
        writer.close()


def test_a_converted_span_whose_trace_has_log_records_is_indexed_with_them(
    tmp_path: Path,
) -> None:
    agent, chat, tool, answer = weather_trace()
    chat = replace(chat, attributes={
        k: v for k, v in chat.attributes.items() if k != "gen_ai.input.messages"})
    early = LogRecord(chat.start_ns, {"content": "and in zanzibar?"}, 9, "INFO",
                      chat.trace_id, chat.span_id, "gen_ai.user.message")
    writer = StoreWriter(tmp_path / "s.db")
    try:
        assert writer._write([early])  # the message came before its span ended
        writer.submit_many([agent, chat, tool, answer])
        _write_from_lanes(writer)
        # The four spans go the queue's way, which reads their logs (the log queued one too).
        assert trace_index.pending_count(writer._connection) == 5
        assert writer._connection.execute("SELECT count(*) FROM trace_texts").fetchone()[0] == 0
        writer._index_texts()
        assert writer._connection.execute(
            "SELECT count(*) FROM trace_texts_fts WHERE trace_texts_fts MATCH 'zanzibar'"
        ).fetchone()[0] >= 1
    finally:
        writer.close()


def test_received_spans_of_every_dialect_are_indexed_with_the_full_readers_text(
    tmp_path: Path,
) -> None:
    """Idle-time indexing reads a stored span's few text attributes (``stored_span_text``) where
    it can: the text it indexes is the full reader's, in every dialect, compressed or not."""
    from lumos_studio.ingest.proto_rows import decode_trace_rows
    from lumos_studio.otlp.files import read_records
    from lumos_studio.records_codec import span_from_row
    from lumos_studio.semantics.search import span_search_text

    fixtures = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "dialects").glob(
        "*.jsonl"))
    spans = [span for fixture in fixtures for span in read_records(fixture).spans]
    writer = StoreWriter(tmp_path / "s.db")  # not started: each step is ours to call
    try:
        assert writer.commit_rows(decode_trace_rows(encode_trace_request_proto(spans)))
        connection = writer._connection
        with connection:  # half of them compressed first, as idle compaction leaves them
            connection.execute("BEGIN")
            compaction.compact_pending(connection, len(spans) // 2)
        while writer._texts_pending or trace_index.pending_count(connection):
            writer._index_texts()
        digests = dict(((t, s), d) for t, s, d in connection.execute(
            "SELECT trace_id, span_id, digest FROM trace_texts"))
        cursor = connection.execute("SELECT * FROM spans")
        cursor.row_factory = sqlite3.Row
        rows = cursor.fetchall()
        records = [span_from_row(row) for row in rows]  # each decoded whole
        # the short way was taken for the plain GenAI ones
        short = [trace_index.stored_span_text(row["span"], row["scope_name"]) for row in rows]
        assert sum(text is not None for text in short) >= 5
    finally:
        writer.close()
    expected = {(r.trace_id, r.span_id): trace_index.text_digest(span_search_text(r))
                for r in records if span_search_text(r)}
    assert len(digests) >= 10
    assert {key: expected.get(key) for key in digests} == digests


def test_stored_bytes_the_short_way_cannot_read_are_left_to_the_full_reader() -> None:
    """Damaged or odd stored bytes never raise out of the idle indexer's short way: it answers
    None (the full reader then reads what is readable), and a readable span gives its text."""
    from lumos_studio.records import SpanRecord
    from lumos_studio.records_codec import pack

    chat = SpanRecord("a" * 32, "b" * 16, None, "chat", 1, 2, attributes={
        "gen_ai.operation.name": "chat",
        "gen_ai.output.messages": '[{"role": "assistant", "parts": [{"type": "text", '
                                  '"content": "sunny in paris"}]}]',
    })
    body = decode_trace_request_proto(encode_trace_request_proto([chat]))[0].attributes.otlp
    assert trace_index.stored_span_text(body, "") == "sunny in paris"
    assert trace_index.stored_span_text(pack(body * 4), "") is not None  # compressed, repeated
    bad_key = b"\x4a\x08\x0a\x02\xff\xfe\x12\x02\x0a\x00"  # an attribute whose key is not UTF-8
    for stored in (b"\xff" * 40, body[:-3], bad_key, b"", None):
        assert trace_index.stored_span_text(stored, "") is None
    assert trace_index.stored_span_text(body, "pydantic-ai") is None  # its own dialect reader


def test_the_short_way_leaves_a_span_with_a_message_event_to_the_full_reader() -> None:
    """Only events whose bytes may name a message event are parsed for their names: a message
    event sends the span to the full reader; a step event, or one whose attribute merely
    mentions a message event's name, does not."""
    from lumos_studio.records import SpanEvent, SpanRecord

    def stored(*events: SpanEvent) -> bytes:
        chat = SpanRecord("a" * 32, "b" * 16, None, "chat", 1, 2, attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.output.messages": '[{"role": "assistant", "parts": [{"type": "text", '
                                      '"content": "sunny in paris"}]}]',
        }, events=events)
        span = decode_trace_request_proto(encode_trace_request_proto([chat]))[0]
        return span.attributes.otlp

    step = SpanEvent("gen_ai.step.0", 1, {"note": "before gen_ai.user.message came"})
    message = SpanEvent("gen_ai.user.message", 1, {"content": "hello"})
    assert trace_index.stored_span_text(stored(step), "") == "sunny in paris"
    assert trace_index.stored_span_text(stored(step, message), "") is None
    assert trace_index.stored_span_text(stored(SpanEvent("gen_ai.choice", 1)), "") is None


def test_serve_compresses_several_steps_a_transaction_until_a_batch_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_idle, "SPANS_PER_IDLE_STEP", 2)
    writer = StoreWriter(tmp_path / "s.db")  # not started: each step is ours to call
    writer.serve_without_ui()
    writer.steps_per_transaction = 3
    try:
        for n in range(4):  # 16 spans, rowids 1 to 16
            assert writer._write(list(three_texts(trace_id=f"{n + 1:032x}")))
        connection = writer._connection

        def upto() -> int:
            value: int = connection.execute("SELECT upto FROM compaction").fetchone()[0]
            return value

        writer._compact()  # three steps of two spans, one transaction
        assert upto() == 6 and writer._compaction_pending
        writer._queue.put(Flush())  # a batch (here a flush) waits: one step
        writer._compact()
        assert upto() == 8
        writer._queue.get_nowait()
        writer.steps_per_transaction = 10
        while writer._compaction_pending:
            writer._compact()
        # Every span looked at, those moved to the end (compressed) too.
        assert upto() == connection.execute("SELECT max(rowid) FROM spans").fetchone()[0] > 16
    finally:
        writer.close()


def test_schema_16_queues_the_finished_tool_calls_a_store_holds(tmp_path: Path) -> None:
    """Before it, a tool call's arguments and result were not indexed: the migration queues
    the store's finished tool spans (not one still running), indexed in idle time."""
    import sqlite_utils

    from lumos_studio.store.schema_migrations import MIGRATIONS

    path = tmp_path / "s.db"
    running = replace(weather_trace("1" * 32)[2], end_ns=None)
    with Store(path) as store:
        store.writer.submit_many([*weather_trace(), running])
        store.writer.flush()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("DELETE FROM text_queue")
    MIGRATIONS[15](sqlite_utils.Database(connection))
    assert connection.execute("SELECT trace_id, span_id FROM text_queue").fetchall() == [
        ("0af7651916cd43dd8448eb211c80319c", "a000000000000003")]
    connection.close()
    with Store(path) as store:
        assert store.writer.flush()  # searchable: the queue worked off
        tool = store.reader.spans_with_words("0af7651916cd43dd8448eb211c80319c", "paris")
        assert "a000000000000003" in tool

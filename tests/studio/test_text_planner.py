"""``serve``'s index steps are read and made on a thread of their own (``TextPlanner``) while the
writer writes the one before; a step planned before the store moved on is still written right."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lumos_studio.records import LogRecord
from lumos_studio.store import StoreWriter, trace_index, writer_idle
from lumos_studio.store.connection import open_reader_connection
from lumos_studio.store.text_planner import TextPlanner
from tests.builders import three_texts, weather_trace


def trace_id(n: int) -> str:
    return f"{n + 1:032x}"


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[StoreWriter]:
    """A writer not started: each step is the test's to call."""
    made = StoreWriter(tmp_path / "s.db")
    yield made
    made.close()


@pytest.fixture
def reader(writer: StoreWriter) -> Iterator[sqlite3.Connection]:
    """A connection of its own, as the planner's: it sees what the writer committed."""
    connection = open_reader_connection(writer.path, plain_rows=True)
    yield connection
    connection.close()


def count(connection: sqlite3.Connection, table: str) -> int:
    value: int = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return value


def indexed(connection: sqlite3.Connection) -> tuple[int, int, int]:
    """Texts mapped, documents in the full-text index, entries still queued."""
    return (count(connection, "trace_texts"), count(connection, "trace_texts_fts_docsize"),
            count(connection, "text_queue"))


def apply(writer: StoreWriter, step: trace_index.TextStep | None) -> int:
    assert step is not None
    with writer._connection as connection:
        connection.execute("BEGIN IMMEDIATE")
        return trace_index.apply_step(connection, step)


def delete(writer: StoreWriter, trace: str) -> None:
    with writer._connection as connection:
        connection.execute("BEGIN IMMEDIATE")
        trace_index.delete(connection, [trace])


def texts_of(connection: sqlite3.Connection) -> set[tuple[str, str, int]]:
    return set(connection.execute("SELECT trace_id, span_id, digest FROM trace_texts"))


def test_serve_indexes_a_backlog_in_planned_steps_as_one_step_after_another_would(
    writer: StoreWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_idle, "TEXTS_PER_IDLE_STEP", 4)  # 3 texts a trace
    writer.serve_without_ui()
    writer.steps_per_transaction = 2
    one_by_one = StoreWriter(tmp_path / "sequential.db")
    for n in range(6):
        assert writer._write(list(three_texts(trace_id(n))))
        assert one_by_one._write(list(three_texts(trace_id(n))))
    with one_by_one._connection as connection:
        connection.execute("BEGIN IMMEDIATE")
        trace_index.index_pending(connection, 100)
    transactions = 0
    writer._texts_pending = True
    while writer._texts_pending:
        writer._index_texts()
        transactions += 1
    assert transactions == 3  # 18 entries: 8, 8, then 2 and the queue is empty
    connection = writer._connection
    assert indexed(connection) == (18, 18, 0)
    assert texts_of(connection) == texts_of(one_by_one._connection)
    one_by_one.close()
    assert len(connection.execute(  # the agent's answer and the last chat's, in each run
        "SELECT rowid FROM trace_texts_fts WHERE trace_texts_fts MATCH 'sunny'").fetchall()) == 12
    connection.execute("INSERT INTO trace_texts_fts(trace_texts_fts) VALUES ('integrity-check')")


def test_a_short_step_planned_before_a_batch_came_does_not_end_the_indexing(
    writer: StoreWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_idle, "TEXTS_PER_IDLE_STEP", 4)
    writer.serve_without_ui()
    writer.steps_per_transaction = 1
    for n in range(2):
        assert writer._write(list(three_texts(trace_id(n))))
    writer._index_texts()  # 4 of the 6 texts; the last 2 planned ahead meanwhile
    assert writer._write(list(three_texts(trace_id(2))))  # a batch between two idle steps
    writer._index_texts()  # the step planned before it: 2 texts, fewer than a step holds
    assert writer._texts_pending  # the batch's texts still wait
    while writer._texts_pending:
        writer._index_texts()
    assert indexed(writer._connection) == (9, 9, 0)


def test_the_next_step_skips_the_entries_of_steps_not_committed_yet(writer: StoreWriter) -> None:
    for n in range(2):
        assert writer._write(list(three_texts(trace_id(n))))
    planner = TextPlanner(writer.path, 3)
    try:
        first = planner.take()
        second = planner.take()  # planned while the first was being written
        assert first is not None and second is not None
        assert {e[1] for e in first.entries} == {trace_id(1)}  # the newest run first
        assert {e[1] for e in second.entries} == {trace_id(0)}
        planner.rolled_back()  # neither was written: both wait in the queue again
        again = planner.take()
        assert again is not None and again.entries == first.entries
    finally:
        planner.close()


def test_a_step_planned_before_its_trace_was_deleted_adds_nothing_of_it(
    writer: StoreWriter, reader: sqlite3.Connection
) -> None:
    assert writer._write(list(three_texts(trace_id(0))))
    step = trace_index.plan_step(reader, 10)
    delete(writer, trace_id(0))
    assert apply(writer, step) == 3
    assert indexed(writer._connection) == (0, 0, 0)


def test_a_span_an_earlier_step_indexed_meanwhile_is_queued_to_be_compared_again(
    writer: StoreWriter, reader: sqlite3.Connection
) -> None:
    assert writer._write(list(three_texts(trace_id(0))))
    spans = [tuple(row) for row in writer._connection.execute(
        "SELECT trace_id, span_id FROM text_queue ORDER BY id")]
    with writer._connection as connection:
        connection.execute("BEGIN IMMEDIATE")
        trace_index.queue_for_indexing(connection, spans)  # each span queued twice
    newer = trace_index.plan_step(reader, 3)
    assert newer is not None
    older = trace_index.plan_step(reader, 3, skip=[e[0] for e in newer.entries])
    assert older is not None and len(older.texts) == 3  # planned before the newer was written

    apply(writer, newer)
    apply(writer, older)  # its spans have text now: not indexed twice, queued again
    assert indexed(writer._connection) == (3, 3, 3)
    with writer._connection as connection:
        connection.execute("BEGIN IMMEDIATE")
        assert trace_index.index_pending(connection, 10) == 3  # the same text: nothing to do
    assert indexed(writer._connection) == (3, 3, 0)


def test_a_replaced_text_gone_before_the_step_is_written_is_left_alone(
    writer: StoreWriter, reader: sqlite3.Connection
) -> None:
    agent, chat, tool, answer = weather_trace(trace_id(0))
    chat = replace(chat, attributes={  # its input comes as a log record, after it
        k: v for k, v in chat.attributes.items() if k != "gen_ai.input.messages"})
    assert writer._write([agent, chat, tool, answer])
    with writer._connection as connection:
        connection.execute("BEGIN IMMEDIATE")
        trace_index.index_pending(connection, 10)
    late = LogRecord(chat.end_ns or 0, {"content": "and in zanzibar?"}, 9, "INFO",
                     chat.trace_id, chat.span_id, "gen_ai.user.message")
    assert writer._write([late])  # the chat span's text changes: queued again
    step = trace_index.plan_step(reader, 10)
    assert step is not None and len(step.retired) == 1 and step.retired[0].text is not None
    delete(writer, trace_id(0))  # its old text goes with the trace
    apply(writer, step)  # and is not taken out a second time
    assert indexed(writer._connection) == (0, 0, 0)
    writer._connection.execute(
        "INSERT INTO trace_texts_fts(trace_texts_fts) VALUES ('integrity-check')")


def test_a_queue_id_given_to_a_new_entry_meanwhile_stays_queued(
    writer: StoreWriter, reader: sqlite3.Connection
) -> None:
    assert writer._write(list(three_texts(trace_id(0))))
    stale = trace_index.plan_step(reader, 10)
    assert stale is not None
    delete(writer, trace_id(0))
    assert writer._write(list(three_texts(trace_id(1))))  # its entries take the freed ids
    assert {e[0] for e in stale.entries} == {
        row[0] for row in writer._connection.execute("SELECT id FROM text_queue")}
    apply(writer, stale)
    assert indexed(writer._connection) == (0, 0, 3)  # the new run's entries wait for their step

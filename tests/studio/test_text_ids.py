"""Ids for indexed message text: each tells its trace, and a trace's texts are numbered on."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from lumos_studio.store.schema import ensure_schema
from lumos_studio.store.text_ids import TEXT_ID_BITS, text_ids


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(tmp_path / "store.db")
    ensure_schema(connection)
    yield connection
    connection.close()


def _trace(connection: sqlite3.Connection, trace_id: str, text_seq: int | None = None) -> None:
    connection.execute("INSERT INTO traces (trace_id, text_seq) VALUES (?, ?)",
                       (trace_id, text_seq))


def _index(connection: sqlite3.Connection, text_id: int) -> None:
    connection.execute("INSERT INTO trace_texts_fts (rowid, text) VALUES (?, 'words')",
                       (text_id,))


def test_a_new_trace_gets_the_next_seq_and_its_texts_count_up(
    connection: sqlite3.Connection,
) -> None:
    _trace(connection, "old", 4)
    _trace(connection, "new")
    ids = text_ids(connection, ["new", "new"])
    assert ids == [(5 << TEXT_ID_BITS) + 1, (5 << TEXT_ID_BITS) + 2]
    seq = connection.execute("SELECT text_seq FROM traces WHERE trace_id = 'new'").fetchone()
    assert seq == (5,)


def test_a_trace_with_texts_goes_on_after_its_last_one(connection: sqlite3.Connection) -> None:
    _trace(connection, "a", 1)
    _trace(connection, "b", 2)
    _index(connection, (1 << TEXT_ID_BITS) + 7)
    _index(connection, (2 << TEXT_ID_BITS) + 3)
    ids = text_ids(connection, ["b", "a", "b"])
    assert ids == [(2 << TEXT_ID_BITS) + 4, (1 << TEXT_ID_BITS) + 8, (2 << TEXT_ID_BITS) + 5]


def test_a_seq_with_no_text_left_starts_at_one(connection: sqlite3.Connection) -> None:
    _trace(connection, "a", 3)  # its texts were taken out of the index
    assert text_ids(connection, ["a"]) == [(3 << TEXT_ID_BITS) + 1]


def test_words_left_in_the_index_are_never_reused(connection: sqlite3.Connection) -> None:
    _index(connection, (9 << TEXT_ID_BITS) + 1)  # a deleted trace's words that stayed
    _trace(connection, "new")
    assert text_ids(connection, ["new"]) == [(10 << TEXT_ID_BITS) + 1]


def test_no_id_for_a_trace_not_stored_or_with_a_full_range(
    connection: sqlite3.Connection,
) -> None:
    _trace(connection, "full", 1)
    _index(connection, (1 << TEXT_ID_BITS) + (1 << TEXT_ID_BITS) - 2)
    assert text_ids(connection, ["gone", "full", "full"]) == [
        None, (1 << TEXT_ID_BITS) + (1 << TEXT_ID_BITS) - 1, None]


def test_many_traces_in_one_batch(connection: sqlite3.Connection) -> None:
    for n in range(1, 2_501):
        _trace(connection, f"t{n}", n)
        _index(connection, (n << TEXT_ID_BITS) + n % 5 + 1)
    ids = text_ids(connection, [f"t{n}" for n in range(1, 2_501)])
    assert ids == [(n << TEXT_ID_BITS) + n % 5 + 2 for n in range(1, 2_501)]

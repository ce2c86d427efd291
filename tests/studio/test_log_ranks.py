"""Positions of a text filter's matches from the FTS5 index's rowids (``log_ranks``), against
the display order computed in Python, on real SQLite stores whose ids and times disagree."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lumos_studio.records import LogRecord
from lumos_studio.records_codec import log_row
from lumos_studio.store import log_queries as lq
from lumos_studio.store import log_ranks
from lumos_studio.store import log_windows as lw
from lumos_studio.store.connection import open_reader_connection, open_writer_connection
from lumos_studio.store.log_filter import LogFilter, expanded_query_and_hits
from lumos_studio.store.log_index import index_new_logs
from lumos_studio.store.schema import LOG_COLUMNS, ensure_schema
from tests.builders import T0

# (time offset, holds the word): times repeat, go back (late logs) and jump ahead (early ones).
logs_strategy = st.lists(
    st.tuples(st.integers(0, 40), st.booleans()), min_size=1, max_size=120
)


@contextmanager
def store_of(entries: list[tuple[int, bool]], indexed: int | None = None
             ) -> Iterator[sqlite3.Connection]:
    """A real store holding ``entries`` in that id order, indexed up to ``indexed`` logs."""
    with store_of_records([LogRecord(T0 + offset, f"{'timeout' if word else 'quiet'} n={i}", 9,
                                     "INFO") for i, (offset, word) in enumerate(entries)],
                          indexed) as reader:
        yield reader


@contextmanager
def store_of_records(records: list[LogRecord], indexed: int | None = None
                     ) -> Iterator[sqlite3.Connection]:
    """A real store holding ``records`` in that id order, indexed up to ``indexed`` of them (all
    by default), written as the writer writes them; a reader of it."""
    with tempfile.TemporaryDirectory(prefix="lumos-ranks-") as tmp:
        path = Path(tmp) / "s.db"
        writer = open_writer_connection(path)
        ensure_schema(writer)
        insert = (f"INSERT INTO logs ({', '.join(LOG_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(LOG_COLUMNS))})")
        rows = [log_row(record) for record in records]
        split = len(rows) if indexed is None else indexed
        for part in (rows[:split], rows[split:]):
            with writer:
                writer.execute("BEGIN")
                writer.executemany(insert, part)
                if part is rows[:split] or indexed is None:
                    index_new_logs(writer)
        writer.close()
        reader = open_reader_connection(path, plain_rows=True)
        try:
            yield reader
        finally:
            reader.close()


def display_order(entries: list[tuple[int, bool]]) -> list[tuple[int, int]]:
    """The matches' (time_ns, id) as the pane orders them."""
    return sorted((T0 + offset, i) for i, (offset, word) in enumerate(entries, 1) if word)


def before(keys: list[tuple[int, int]], key: tuple[int, int]) -> int:
    return sum(1 for k in keys if k < key)


@settings(max_examples=60, deadline=None, database=None)
@given(entries=logs_strategy, limit=st.sampled_from([0, 1, 5_000]))
def test_positions_from_the_index_agree_with_the_display_order(
    entries: list[tuple[int, bool]], limit: int
) -> None:
    keys = display_order(entries)
    with store_of(entries) as reader, pytest.MonkeyPatch.context() as patch:
        patch.setattr(log_ranks, "OUT_OF_ORDER_LIMIT", limit)
        last_id = len(entries)
        probes = [(T0 + offset, log_id) for offset in range(-1, 42) for log_id in (0, 7)]
        probes += [(T0 + offset, i) for i, (offset, _) in enumerate(entries, 1)]
        for key in probes:
            found = log_ranks.text_position(reader, '"timeout"', last_id, *key)
            assert found is None or found == before(keys, key), key
            if limit == 5_000:
                assert found is not None  # a store this small is never too out of order
        hits = sorted(i for _, i in keys)
        for rank, log_id in enumerate(hits):
            assert log_ranks.nth_hit(reader, '"timeout"', last_id, len(hits), rank) == log_id


@settings(max_examples=40, deadline=None, database=None)
@given(entries=logs_strategy, limit=st.sampled_from([1, 5_000]))
def test_windows_and_jumps_found_by_rank_are_the_walks(
    entries: list[tuple[int, bool]], limit: int
) -> None:
    """Every window (the ranked anchor used for any walk at all) and every jump, unmaterialised."""
    keys = display_order(entries)
    want = [i for _, i in keys]
    with store_of(entries) as reader, pytest.MonkeyPatch.context() as patch:
        patch.setattr(lq, "MATERIALIZE_LIMIT", -1)
        patch.setattr(lw, "LONG_WALK", 0)
        patch.setattr(lw, "CHUNK", 3)
        patch.setattr(log_ranks, "OUT_OF_ORDER_LIMIT", limit)
        matches = lq.match_logs(reader, LogFilter(text="timeout"))
        assert not matches.materialized and matches.count == len(want)
        for offset in range(len(want)):
            for size in (1, 4):
                rows = lw.fetch_window(reader, matches, offset, size)
                assert [r.id for r in rows] == want[offset : offset + size], (offset, size)
        for offset in range(-1, 42):
            assert lw.position_at(reader, matches, T0 + offset) == before(keys, (T0 + offset, 0))


def test_logs_not_indexed_yet_keep_the_walk() -> None:
    """Above the index's watermark FTS5 cannot count: the old walk answers, the same."""
    entries = [(i % 7, i % 3 == 0) for i in range(60)]
    keys = display_order(entries)
    with store_of(entries, indexed=30) as reader, pytest.MonkeyPatch.context() as patch:
        patch.setattr(lq, "MATERIALIZE_LIMIT", -1)
        patch.setattr(lw, "LONG_WALK", 0)
        matches = lq.match_logs(reader, LogFilter(text="timeout"))
        assert lw._ranked_hits(reader, matches) is None
        assert [r.id for r in lw.fetch_window(reader, matches, 5, 6)] == [
            i for _, i in keys][5:11]
        assert lw.position_at(reader, matches, T0 + 3) == before(keys, (T0 + 3, 0))


def test_text_alone_a_level_alone_and_no_filter_are_ranked() -> None:
    entries = [(i, True) for i in range(10)]
    with store_of(entries) as reader:
        def ranked(log_filter: LogFilter) -> object:
            return lw._ranked_hits(reader, lq.match_logs(reader, log_filter))

        assert ranked(LogFilter(text="timeout")) == log_ranks.TextHits(reader, '(("timeout"))')
        assert ranked(LogFilter()) == log_ranks.EveryLog(1)
        assert isinstance(ranked(LogFilter(min_severity=9)), log_ranks.IndexHits)
        for other in (LogFilter(text="timeout", min_severity=9), LogFilter(regex="time"),
                      LogFilter(min_severity=9, loggers=frozenset({"x"})),
                      LogFilter(trace_id="ab" * 16)):
            assert ranked(other) is None
    with store_of(entries) as reader:
        writer = sqlite3.connect(reader.execute("PRAGMA database_list").fetchone()[2])
        writer.execute("DELETE FROM logs WHERE id = 5")  # a gap: no filter counts by walking
        writer.commit()
        writer.close()
        assert lw._ranked_hits(reader, lq.match_logs(reader, LogFilter())) is None


def marked_and_present(connection: sqlite3.Connection) -> tuple[set[int], list[tuple[int, int]]]:
    """The marked ids, and every log's (id, time_ns) in id order."""
    marked = {r[0] for r in connection.execute("SELECT id FROM logs_late")}
    present = connection.execute("SELECT id, time_ns FROM logs ORDER BY id").fetchall()
    return marked, present


def assert_unmarked_in_display_order(connection: sqlite3.Connection, exact: bool) -> None:
    """What ``log_ranks`` rests on: the unmarked logs, in id order, are in (time_ns, id) order;
    with no log deleted (``exact``), the marked ones are exactly those with a later time before
    them in id order."""
    marked, present = marked_and_present(connection)
    unmarked = [(t, i) for i, t in present if i not in marked]
    assert unmarked == sorted(unmarked)
    assert marked <= {i for i, _ in present}
    if exact:
        latest, late = -1, set()
        for log_id, time_ns in present:
            if time_ns < latest:
                late.add(log_id)
            latest = max(latest, time_ns)
        assert marked == late


@settings(max_examples=60, deadline=None, database=None)
@given(entries=logs_strategy, cuts=st.lists(st.integers(0, 120), max_size=4),
       deleted=st.lists(st.integers(1, 120), max_size=6))
def test_marks_made_batch_by_batch_and_after_deletes_keep_positions_exact(
    entries: list[tuple[int, bool]], cuts: list[int], deleted: list[int]
) -> None:
    """Logs written in batches (each indexed and marked as the writer does), some deleted
    between batches: every position from the marks equals the display order's, never None."""
    bounds = sorted({0, len(entries), *(c for c in cuts if c < len(entries))})
    with tempfile.TemporaryDirectory(prefix="lumos-ranks-") as tmp:
        path = Path(tmp) / "s.db"
        writer = open_writer_connection(path)
        ensure_schema(writer)
        insert = (f"INSERT INTO logs ({', '.join(LOG_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(LOG_COLUMNS))})")
        gone: set[int] = set()
        for number, (start, end) in enumerate(pairwise(bounds)):
            with writer:
                writer.execute("BEGIN")
                writer.executemany(insert, [log_row(LogRecord(
                    T0 + offset, f"{'timeout' if word else 'quiet'} n={i}", 9, "INFO"))
                    for i, (offset, word) in enumerate(entries[start:end], start)])
                index_new_logs(writer)
                if number == 0 and deleted:  # the oldest are deleted, as retention does
                    writer.executemany("DELETE FROM logs WHERE id = ?", [(d,) for d in deleted])
                    gone = {d for d in deleted if d <= end}
        assert_unmarked_in_display_order(writer, exact=not gone)
        # What is left, read plainly (a deleted highest id is given again to the next log).
        kept = writer.execute("SELECT id, time_ns, body FROM logs").fetchall()
        last_id = writer.execute("SELECT max(id) FROM logs").fetchone()[0] or 0
        writer.close()
        keys = sorted((t, i) for i, t, body in kept if "timeout" in body)
        reader = open_reader_connection(path, plain_rows=True)
        try:
            probes = [(T0 + offset, log_id) for offset in range(-1, 42) for log_id in (0, 7)]
            probes += [(t, i) for i, t, _ in kept]
            for key in probes:
                assert log_ranks.text_position(
                    reader, '"timeout"', last_id, *key) == before(keys, key), key
        finally:
            reader.close()


def test_a_clock_ahead_marks_the_logs_after_it_and_positions_stay_exact() -> None:
    """One log an hour ahead: the logs after it, until time catches up, are marked late."""
    entries = [(i, True) for i in range(10)] + [(3_600, True)] + [(10 + i, i % 2 == 0)
                                                                   for i in range(10)]
    keys = display_order(entries)
    with store_of(entries) as reader:
        assert {r[0] for r in reader.execute("SELECT id FROM logs_late")} == set(range(12, 22))
        for key in [(T0 + o, 0) for o in range(-1, 30)] + [(T0 + 3_600, 11)]:
            assert log_ranks.text_position(reader, '"timeout"', 21, *key) == before(keys, key)


def test_a_store_of_schema_11_gets_its_late_logs_marked(tmp_path: Path) -> None:
    from lumos_studio.store import log_index, schema

    path = tmp_path / "v11.db"
    connection = sqlite3.connect(path, isolation_level=None)
    real = schema.MIGRATIONS
    schema.MIGRATIONS = real[:11]
    try:
        ensure_schema(connection)
    finally:
        schema.MIGRATIONS = real
    times = [5, 1, 6, 6, 2, 9, 3]
    rows = [log_row(LogRecord(T0 + t, f"timeout {i}", 9, "INFO")) for i, t in enumerate(times)]
    insert = (f"INSERT INTO logs ({', '.join(LOG_COLUMNS)}) "
              f"VALUES ({', '.join('?' * len(LOG_COLUMNS))})")
    connection.execute("BEGIN")
    connection.executemany(insert, rows[:5])
    connection.execute(log_index._INDEX_NEW_LOGS)  # as a schema 11 writer indexed them
    connection.executemany(insert, rows[5:])  # and two more it had not indexed yet
    connection.execute("COMMIT")
    ensure_schema(connection)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert [r[0] for r in connection.execute("SELECT id FROM logs_late ORDER BY id")] == [2, 5]
    with connection:
        connection.execute("BEGIN")
        index_new_logs(connection)
    assert [r[0] for r in connection.execute("SELECT id FROM logs_late ORDER BY id")] == [2, 5, 7]
    connection.close()


@settings(max_examples=40, deadline=None, database=None)
@given(entries=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3)), min_size=1,
                        max_size=80),
       refine=st.sampled_from([0, 2_000]), guess_range=st.sampled_from([1, 50_000]))
def test_level_logger_and_no_filter_windows_and_jumps_are_the_full_scans(
    entries: list[tuple[int, int]], refine: int, guess_range: int
) -> None:
    """Level, logger and no filter, with late and early logs: every window (from an anchor
    found by rank, or a logger's walk) and every jump equals the matches sorted in Python."""
    levels = (5, 9, 13, 17)
    rows = [LogRecord(T0 + offset, f"m{i}", levels[kind], "", scope_name=f"app.{kind % 2}")
            for i, (offset, kind) in enumerate(entries)]
    filters = {
        LogFilter(): lambda kind: True,
        LogFilter(min_severity=13): lambda kind: levels[kind] >= 13,
        LogFilter(loggers=frozenset({"app.1"})): lambda kind: kind % 2 == 1,
        LogFilter(min_severity=13, loggers=frozenset({"app.0"})): lambda kind: kind == 2,
    }
    with store_of_records(rows) as reader, pytest.MonkeyPatch.context() as patch:
        patch.setattr(lw, "LONG_WALK", 0)
        patch.setattr(lw, "REFINE_WITHIN", refine)
        patch.setattr(log_ranks, "GUESS_RANGE", guess_range)
        for log_filter, keep in filters.items():
            keys = sorted((T0 + offset, i) for i, (offset, kind)
                          in enumerate(entries, 1) if keep(kind))
            want = [i for _, i in keys]
            matches = lq.match_logs(reader, log_filter)
            assert not matches.materialized and matches.count == len(want)
            ranked = lw._ranked_hits(reader, matches)
            assert (ranked is None) == bool(log_filter.loggers)
            for offset in range(len(want)):
                rows_found = lw.fetch_window(reader, matches, offset, 3)
                assert [r.id for r in rows_found] == want[offset : offset + 3]
            for offset in range(-1, 42):
                for log_id in (0, 5):
                    assert lw.position_at(reader, matches, T0 + offset, log_id) == (
                        before(keys, (T0 + offset, log_id)))


def test_one_word_counted_by_the_vocabulary_is_the_plain_count_after_deletes() -> None:
    entries = [(i % 9, i % 4 != 0) for i in range(50)]
    with store_of(entries) as reader:
        writer = sqlite3.connect(reader.execute("PRAGMA database_list").fetchone()[2])
        writer.executemany("DELETE FROM logs WHERE id = ?", [(i,) for i in (2, 3, 17, 50)])
        writer.commit()
        writer.close()
        bodies = [r[0] for r in reader.execute("SELECT body FROM logs")]
        for typed, word in (("timeout", "timeout"), ("time", "timeout"), ("quie", "quiet"),
                            ("nothing", "nothing")):
            hits = expanded_query_and_hits(reader, typed)[1]
            assert hits == sum(1 for b in bodies if word in b), typed
            assert lq.match_logs(reader, LogFilter(text=typed)).count == hits
        assert expanded_query_and_hits(reader, "n timeout")[1] is None  # two words: counted


PHRASE_BODIES = ("connection refused", "connection refusedly", "refused connection",
                 "connection reset", "connected refused", "refusal noted")


@settings(max_examples=30, deadline=None, database=None)
@given(entries=st.lists(st.tuples(st.integers(0, 40), st.sampled_from(PHRASE_BODIES)),
                        min_size=1, max_size=80),
       materialize=st.booleans())
def test_several_words_typed_match_and_page_as_a_plain_scan(
    entries: list[tuple[int, str]], materialize: bool
) -> None:
    """The words before the last exact, the last a prefix (listed without its own doclist):
    counts, every window and jumps as a scan of the bodies in display order finds them."""
    records = [LogRecord(T0 + offset, f"{body} n={i}", 9, "INFO")
               for i, (offset, body) in enumerate(entries)]
    with store_of_records(records) as reader, pytest.MonkeyPatch.context() as patch:
        if not materialize:
            patch.setattr(lq, "MATERIALIZE_LIMIT", -1)
            patch.setattr(lw, "LONG_WALK", 0)
            patch.setattr(lw, "CHUNK", 3)
        for typed in ("connection refused", "connection refuse", "connection refusedly",
                      "connection ref", "refused connection", "connection nowhere",
                      "connected refus", "connection refused extra"):
            *exact, last = typed.split()
            keys = sorted(
                (T0 + offset, i) for i, (offset, body) in enumerate(entries, 1)
                if all(w in body.split() for w in exact)
                and any(w.startswith(last) for w in body.split()))
            want = [i for _, i in keys]
            matches = lq.match_logs(reader, LogFilter(text=typed))
            assert matches.count == len(want), typed
            for offset in range(len(want)):
                rows = lw.fetch_window(reader, matches, offset, 4)
                assert [r.id for r in rows] == want[offset : offset + 4], typed
            for offset in range(-1, 42, 5):
                assert lw.position_at(reader, matches, T0 + offset) == before(
                    keys, (T0 + offset, 0)), typed

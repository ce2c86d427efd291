"""The logs' trigram index: what a regex must contain, the candidates it finds, and that a regex
filter through it finds exactly what Python's ``re`` finds, indexed or not, after a migration."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lumos_studio.records import LogRecord
from lumos_studio.records_codec import log_row
from lumos_studio.store import Store
from lumos_studio.store import log_queries as lq
from lumos_studio.store.connection import open_reader_connection, open_writer_connection
from lumos_studio.store.log_filter import LogFilter, compile_regex, plan_filter
from lumos_studio.store.log_index import index_new_logs
from lumos_studio.store.log_trigrams import narrowest_query, trigram_query, trigram_terms
from lumos_studio.store.schema import LOG_COLUMNS, SCHEMA_VERSION, ensure_schema
from tests.builders import T0

WORDS = ("timeout", "connection", "refused", "paris", "took", "TİMEOUT", "tımeout", "\u212aey",
         'say "hi"', "a\\b", "café", "line\nbreak", "barbaz", "fooqux", "\u017fay \u212aeys")


def make_logs(count: int, seed: int = 3) -> list[LogRecord]:
    rng = random.Random(seed)
    return [
        LogRecord(T0 + i * 1_000, " ".join(rng.choice(WORDS) for _ in range(4))
                  + f" took {rng.random() * 100:.1f}ms", 9, "INFO")
        for i in range(count)
    ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "s.db") as store:
        yield store


@pytest.fixture
def reader(store: Store) -> Iterator[sqlite3.Connection]:
    connection = open_reader_connection(store.path, plain_rows=True)
    yield connection
    connection.close()


def insert_unindexed(path: Path, logs: list[LogRecord]) -> None:
    """Rows as a writer that never called ``index_new_logs`` leaves them."""
    connection = open_writer_connection(path)
    with connection:
        connection.execute("BEGIN")
        connection.executemany(
            f"INSERT INTO logs ({', '.join(LOG_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(LOG_COLUMNS))})", [log_row(log) for log in logs])
    connection.close()


def python_ids(logs: list[LogRecord], pattern: str) -> list[int]:
    compiled = compile_regex(pattern)
    return [i for i, log in enumerate(logs, 1) if compiled.search(str(log.body))]


PATTERNS = (
    r"timeout \w+ refused", r"took 9\d\.5ms", r"(barbaz|fooqux) took", r"\btimeout\b",
    r"TIMEOUT", r"Timeout", r"\u212aey", r"kEY", r'say "hi"', r"a\\b", r"café", r"line\nbreak",
    r"(conn)+ection", r"x?paris", r"ab|cd", r"[tT]ook", r"key", r"say keys", r"tooks?",
)


def test_what_a_regex_must_contain() -> None:
    assert trigram_query(r"took 9\d\.5ms") == (
        '"too" AND "ok " AND "k 9" AND ".5m" AND "5ms"')
    # Case-blind (no capitals): no trigram with an "i", which "ı" or "İ" would match (the
    # tokenizer folds the Kelvin sign and the long s to "k" and "s": those stay).
    # Alternatives: one of them; optional parts: nothing; repeats at least once: their text.
    assert trigram_query(r"(foo|barbaz)qux") == (
        '(("foo") OR ("bar" AND "rba" AND "baz")) AND "qux"')
    assert trigram_query(r"(abc)?def") == '"def"'
    assert trigram_query(r"a(bcd)+e") == '"bcd"'
    assert trigram_query(r"ab|cd") is None and trigram_query(r"(\w+)") is None
    assert trigram_query(r"(foo|b)qux") == '"qux"'  # one alternative says nothing
    assert trigram_query(r"timeout") == '"meo" AND "eou" AND "out"'
    assert trigram_query(r"Timeout") == '"tim" AND "meo" AND "out"'
    # JSON escapes the stored body's quotes, backslashes and controls: never looked for.
    assert trigram_query(r'say "hi"') == '"say" AND "ay "' and trigram_query("a\\\\bc\nde") is None
    assert trigram_query("(unclosed") is None


def test_regex_through_the_index_finds_what_python_finds(
    store: Store, reader: sqlite3.Connection
) -> None:
    logs = make_logs(3_000)
    store.writer.submit_many(logs[:2_000])
    assert store.writer.flush()
    insert_unindexed(store.path, logs[2_000:])  # above the watermark: found by a scan
    for pattern in PATTERNS:
        matches = lq.match_logs(reader, LogFilter(regex=pattern))
        assert matches.ids is not None
        assert sorted(matches.ids) == python_ids(logs, pattern), pattern
        newest = lq.newest_matches(reader, LogFilter(regex=pattern), 40)
        assert list(newest.ids or ()) == python_ids(logs, pattern)[-40:], pattern


def test_the_regex_reads_the_trigram_candidates_not_every_log(store: Store) -> None:
    plan = plan_filter(LogFilter(regex=r"timeout \w+ refused"))
    assert plan.trigram is not None and plan_filter(LogFilter(regex=r"\d+")).trigram is None
    store.writer.submit_many(make_logs(50))
    assert store.writer.flush()
    connection = sqlite3.connect(store.path)
    steps = " ".join(row[-1] for row in connection.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM logs_trigram CROSS JOIN logs ON id = logs_trigram.rowid"
        " WHERE logs_trigram MATCH ?", (plan.trigram,)))
    assert "SCAN logs_trigram VIRTUAL TABLE" in steps and "SEARCH logs USING INTEGER" in steps


def test_deleted_and_edited_logs_leave_the_index(store: Store) -> None:
    logs = make_logs(200)
    store.writer.submit_many(logs)
    assert store.writer.flush()
    connection = open_writer_connection(store.path)
    with connection:
        connection.execute("BEGIN")
        connection.execute("DELETE FROM logs WHERE id <= 100")
        connection.execute("UPDATE logs SET body = '\"zzzqqq\"' WHERE id = 150")
    reader = open_reader_connection(store.path, plain_rows=True)
    assert reader.execute("SELECT rowid FROM logs_trigram WHERE logs_trigram MATCH "
                          "'\"zzz\" AND \"qqq\"'").fetchall() == [(150,)]
    candidates = {r[0] for r in reader.execute(
        "SELECT rowid FROM logs_trigram WHERE logs_trigram MATCH '\"too\"'")}
    assert candidates == {i for i in range(101, 201) if i != 150}
    connection.close()
    reader.close()


def test_a_version_9_store_gets_its_logs_into_the_trigram_index(tmp_path: Path) -> None:
    from lumos_studio.store import log_index, schema

    path = tmp_path / "v9.db"
    connection = sqlite3.connect(path, isolation_level=None)
    real = schema.MIGRATIONS
    schema.MIGRATIONS = real[:9]
    try:
        ensure_schema(connection)
    finally:
        schema.MIGRATIONS = real
    logs = make_logs(500)
    connection.execute("BEGIN")
    connection.executemany(
        f"INSERT INTO logs ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join('?' * len(LOG_COLUMNS))})",
        [log_row(log) for log in logs[:400]])
    connection.execute(log_index._INDEX_NEW_LOGS)  # as a schema 9 writer indexed them
    connection.executemany(  # and 100 more it had not indexed yet
        f"INSERT INTO logs ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join('?' * len(LOG_COLUMNS))})",
        [log_row(log) for log in logs[400:]])
    connection.execute("COMMIT")
    connection.close()

    with Store(path):
        pass  # the studio opens it: migrated to the current schema
    migrated = sqlite3.connect(path)
    assert migrated.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {"spans_roots", "spans_workflows"} <= {r[0] for r in migrated.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert migrated.execute(  # the indexed logs, not the 100 above the watermark
        "SELECT count(*) FROM logs_trigram WHERE logs_trigram MATCH '\"ook\"'").fetchone()[0] == 400
    with migrated:
        migrated.execute("BEGIN")
        index_new_logs(migrated)
    assert migrated.execute(
        "SELECT count(*) FROM logs_trigram WHERE logs_trigram MATCH '\"ook\"'").fetchone()[0] == 500
    migrated.row_factory = None
    for pattern in (r"timeout \w+ refused", r"(barbaz|fooqux) took"):
        matches = lq.match_logs(migrated, LogFilter(regex=pattern))
        assert sorted(matches.ids or ()) == python_ids(logs, pattern)
    migrated.close()


def test_indexed_logs_are_found_through_the_index_alone(store: Store) -> None:
    """With the index emptied behind the store's back, indexed logs vanish from a regex's
    result (it reads the index, not the table) while logs above the watermark still match."""
    logs = make_logs(300)
    store.writer.submit_many(logs[:200])
    assert store.writer.flush()
    insert_unindexed(store.path, logs[200:])
    connection = open_writer_connection(store.path)
    with connection:
        connection.execute("BEGIN")
        connection.execute("INSERT INTO logs_trigram(logs_trigram) VALUES ('delete-all')")
    connection.close()
    reader = open_reader_connection(store.path, plain_rows=True)
    for pattern in (r"timeout \w+ refused", r"took \d"):
        for matches in (lq.match_logs(reader, LogFilter(regex=pattern)),
                        lq.newest_matches(reader, LogFilter(regex=pattern), 500)):
            assert list(matches.ids or ()) == [i for i in python_ids(logs, pattern) if i > 200]
    reader.close()


def test_only_the_terms_worth_their_doclist_are_asked(store: Store,
                                                      reader: sqlite3.Connection) -> None:
    """"too" is in every log: weighed on the newest logs, it narrows nothing and is left out;
    what is kept is still a query every match satisfies."""
    store.writer.submit_many(make_logs(1_000))
    assert store.writer.flush()
    terms = trigram_terms(r"took 9\d\.5ms")
    query = narrowest_query(reader, terms, 1_000)
    assert query is not None and '"too"' not in query and '"ok "' not in query
    assert set(query.split(" AND ")) < set(terms)
    assert narrowest_query(reader, (), 1_000) is None
    assert narrowest_query(reader, ('"abc"',), 1_000) == '"abc"'


def test_a_regex_s_literals_are_looked_for_in_their_order() -> None:
    plan = plan_filter(LogFilter(regex=r"timeout \w+ refused"))
    assert plan.params == ("%meout % refu%",)  # no "s" when case-blind: "ſ" would match it
    assert plan_filter(LogFilter(regex=r"a_b%c\.x50%")).params == (r"%a\_b\%c.x50\%%",)


_PIECES = st.sampled_from([
    "timeout", "refused", "took", " ", r"\w+", r"\d", r"\.", "(barbaz|fooqux)", "(conn)?",
    "[tT]", r"\b", "ms", "paris", "caf", "é", "x?", "(ok|ook)", "9", "K", "ey",
])


def test_any_regex_through_the_index_finds_what_python_finds(
    store: Store, reader: sqlite3.Connection
) -> None:
    """Regexes made of literals, gaps, options and alternatives, in both orders: the trigram
    terms kept, the ordered LIKE and the unindexed tail never lose a match."""
    logs = make_logs(1_500, seed=11)
    logs += [LogRecord(T0 + 10**9 + i, text, 9, "INFO") for i, text in enumerate(
        ("refused x timeout", "timeout x refused", "took 9.5ms ok", "ms took"))]
    store.writer.submit_many(logs[:1_200])
    assert store.writer.flush()
    insert_unindexed(store.path, logs[1_200:])

    @settings(max_examples=60, deadline=None, database=None)
    @given(pieces=st.lists(_PIECES, min_size=1, max_size=5))
    def check(pieces: list[str]) -> None:
        pattern = "".join(pieces)
        matches = lq.match_logs(reader, LogFilter(regex=pattern))
        assert sorted(matches.ids or ()) == python_ids(logs, pattern), pattern

    check()


def test_a_regex_count_tells_how_far_it_has_read(store: Store, reader: sqlite3.Connection
                                                 ) -> None:
    """Every 4,096 rows it reads, the count reports its share of the logs, growing to the end;
    the indexed candidates first, then the logs not indexed yet."""
    logs = make_logs(12_000)
    store.writer.submit_many(logs[:8_000])
    assert store.writer.flush()
    insert_unindexed(store.path, logs[8_000:])
    for pattern in (r"took \d+\.\dms", r"\d+"):  # trigram candidates, and a scan of them all
        shares: list[float] = []
        matches = lq.match_logs(reader, LogFilter(regex=pattern), progress=shares.append)
        assert matches.count == len(python_ids(logs, pattern)), pattern
        # Each log a candidate (each holds "took"): at the 4,096th and 8,192nd rows read.
        assert shares == [pytest.approx(4_096 / 12_000, abs=0.001),
                          pytest.approx(8_192 / 12_000, abs=0.001)], pattern

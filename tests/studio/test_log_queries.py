"""Log filtering on a real store: every filter, windows by position, live updates, the FTS path."""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from lumos_studio.records import LogRecord
from lumos_studio.records_codec import log_row
from lumos_studio.store import Store
from lumos_studio.store import log_filter as lf
from lumos_studio.store import log_matches as lm
from lumos_studio.store import log_queries as lq
from lumos_studio.store import log_windows as lw
from lumos_studio.store.connection import open_reader_connection, open_writer_connection
from lumos_studio.store.log_filter import LogFilter
from lumos_studio.store.log_index import indexed_up_to
from lumos_studio.store.log_matches import Anchor, LogMatches
from lumos_studio.store.schema import LOG_COLUMNS
from tests.builders import T0

LEVELS = ((5, "DEBUG"), (9, "INFO"), (13, "WARN"), (17, "ERROR"), (21, "FATAL"))
WORDS = ("timeout", "connection", "refused", "paris", "weather", "cache", "retry", "token")
TRACE = "0af7651916cd43dd8448eb211c80319c"


def make_logs(count: int, seed: int = 1) -> list[LogRecord]:
    """Mixed levels, loggers and services; every 10th log arrives late (an earlier time)."""
    rng = random.Random(seed)
    logs = []
    for i in range(count):
        number, text = LEVELS[i % len(LEVELS)]
        words = " ".join(rng.choice(WORDS) for _ in range(4))
        late = -5_000 if i % 10 == 9 else 0
        logs.append(LogRecord(
            T0 + (i + late) * 1_000, f"{words} n={i}", number, text,
            TRACE if i % 7 == 0 else None, f"{i % 3:016x}" if i % 7 == 0 else None,
            attributes={"code.function": f"fn_{i % 4}"},
            resource={"service.name": ("api", "worker")[i % 2]},
            scope_name=("app.db", "app.http", "httpx")[i % 3],
        ))
    return logs


@pytest.fixture
def reader(store: Store) -> Iterator[sqlite3.Connection]:
    connection = open_reader_connection(store.path, plain_rows=True)
    yield connection
    connection.close()


def write(store: Store, logs: list[LogRecord], *, index: bool = True) -> None:
    """Through the real writer (which fills the FTS index per batch); ``index=False`` inserts
    the rows straight into the table, as a writer that never indexed would have left them."""
    if index:
        store.writer.submit_many(logs)
        assert store.writer.flush()
        return
    connection = open_writer_connection(store.path)
    columns = ", ".join(LOG_COLUMNS)
    with connection:
        connection.execute("BEGIN")
        connection.executemany(
            f"INSERT INTO logs ({columns}) VALUES ({', '.join('?' * len(LOG_COLUMNS))})",
            [log_row(log) for log in logs],
        )
    connection.close()


def expected(logs: list[LogRecord], keep) -> list[int]:  # type: ignore[no-untyped-def]
    """Ids (1-based insertion order) of the logs ``keep`` accepts, in display order."""
    kept = [(log.time_ns, i) for i, log in enumerate(logs, 1) if keep(log)]
    return [i for _, i in sorted(kept)]


def all_ids(reader: sqlite3.Connection, matches: LogMatches, page: int = 97) -> list[int]:
    """Every match, page by page from the top, as a scrolling view would read them."""
    ids: list[int] = []
    for offset in range(0, matches.count, page):
        ids += [row.id for row in lw.fetch_window(reader, matches, offset, page)]
    return ids


CASES = {
    "everything": (LogFilter(), lambda log: True),
    "level": (LogFilter(min_severity=17), lambda log: log.severity_number >= 17),
    "logger": (LogFilter(loggers=frozenset({"httpx"})), lambda log: log.scope_name == "httpx"),
    "service and level": (
        LogFilter(services=frozenset({"api"}), min_severity=13),
        lambda log: log.service_name == "api" and log.severity_number >= 13,
    ),
    "text": (LogFilter(text="paris"), lambda log: "paris" in log.body),
    "text, two words": (
        LogFilter(text="Paris TIMEOUT"), lambda log: "paris" in log.body and "timeout" in log.body
    ),
    "text as typed": (LogFilter(text="refu"), lambda log: "refused" in log.body),
    "text in attributes": (LogFilter(text="fn_2"), lambda log: log.attributes["code.function"]
                           == "fn_2"),
    "regex": (LogFilter(regex=r"timeout \w+ refused"),
              lambda log: bool(re.search(r"timeout \w+ refused", log.body))),
    "regex and level": (
        LogFilter(regex=r"n=\d*7$", min_severity=9),
        lambda log: log.body.endswith("7") and log.severity_number >= 9,
    ),
    "trace": (LogFilter(trace_id=TRACE), lambda log: log.trace_id == TRACE),
    "span": (LogFilter(trace_id=TRACE, span_id=f"{1:016x}"),
             lambda log: log.span_id == f"{1:016x}"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_filter_counts_and_pages_exactly_what_it_should(
    store: Store, reader: sqlite3.Connection, name: str
) -> None:
    logs = make_logs(600)
    write(store, logs)
    log_filter, keep = CASES[name]
    matches = lq.match_logs(reader, log_filter)
    assert matches.count == len(expected(logs, keep)) > 0
    assert all_ids(reader, matches) == expected(logs, keep)


@pytest.mark.parametrize("name", ["everything", "level", "text", "text as typed", "logger"])
def test_large_results_are_paged_from_sqlite_the_same(
    store: Store, reader: sqlite3.Connection, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MATERIALIZE_LIMIT, windows walk indexes (chunks near known rows, SQL when far)."""
    monkeypatch.setattr(lq, "MATERIALIZE_LIMIT", 10)
    monkeypatch.setattr(lw, "CHUNK", 50)
    monkeypatch.setattr(lw, "LONG_WALK", 300)
    logs = make_logs(800)
    write(store, logs)
    log_filter, keep = CASES[name]
    matches = lq.match_logs(reader, log_filter)
    want = expected(logs, keep)
    assert not matches.materialized and matches.count == len(want)
    assert all_ids(reader, matches) == want
    # Page by page from the bottom, each window anchored on the one fetched before.
    got, end, anchors = [], matches.count, []
    while end > 0:
        start = max(0, end - 40)
        rows = lw.fetch_window(reader, matches, start, end - start, anchors)
        got[:0] = [row.id for row in rows]
        anchors = [Anchor(start, rows[0].time_ns, rows[0].id)]
        end = start
    assert got == want
    middle = matches.count // 2
    assert [r.id for r in lw.fetch_window(reader, matches, middle, 5)] == want[middle:middle + 5]


def test_rows_carry_what_the_view_shows(store: Store, reader: sqlite3.Connection) -> None:
    write(store, [
        LogRecord(T0, "plain text", 9, "INFO", TRACE, "b7ad6b7169203331", scope_name="demo",
                  resource={"service.name": "svc"}),
        LogRecord(T0 + 1, {"key": "city", "value": "Paris"}, 0, "",
                  event_name="lumos.memory.update"),
        LogRecord(T0 + 2, "multi\nline", 18, "ERROR2"),
    ])
    rows = lw.fetch_window(reader, lq.match_logs(reader, LogFilter()), 0, 10)
    assert [(r.message, r.level) for r in rows] == [
        ("plain text", "INFO"), ('{"key":"city","value":"Paris"}', ""), ("multi\nline", "ERROR"),
    ]
    assert (rows[0].scope_name, rows[0].service_name, rows[0].span_id) == (
        "demo", "svc", "b7ad6b7169203331")
    assert rows[1].event_name == "lumos.memory.update" and rows[1].trace_id is None


def test_text_finds_words_after_escaped_newlines_and_event_names(
    store: Store, reader: sqlite3.Connection
) -> None:
    write(store, [
        LogRecord(T0, "boom\nTraceback (most recent call last)", 17, "ERROR"),
        LogRecord(T0 + 1, "", 9, "INFO", event_name="lumos.memory.update"),
    ])
    assert lq.match_logs(reader, LogFilter(text="traceback")).count == 1
    assert lq.match_logs(reader, LogFilter(text="ntraceback")).count == 0
    assert lq.match_logs(reader, LogFilter(text="memory")).count == 1


def test_logs_the_index_has_not_seen_are_still_found(
    store: Store, reader: sqlite3.Connection
) -> None:
    """A writer that never calls index_new_logs stays correct (LIKE over the unindexed rows)."""
    logs = make_logs(200)
    write(store, logs[:100])
    write(store, logs[100:], index=False)
    assert indexed_up_to(reader) == 100
    matches = lq.match_logs(reader, LogFilter(text="paris"))
    assert all_ids(reader, matches) == expected(logs, lambda log: "paris" in log.body)


@pytest.mark.parametrize("limit", [20_000, 10])
def test_live_updates_add_new_logs_in_their_place(
    store: Store, reader: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """New logs, late ones among them, join a resolved view as if it had been resolved anew."""
    monkeypatch.setattr(lq, "MATERIALIZE_LIMIT", limit)
    logs = make_logs(300)
    write(store, logs[:200])
    names = ("everything", "level", "text", "text as typed", "regex")
    resolved = {name: lq.match_logs(reader, CASES[name][0]) for name in names}
    assert all(lq.update_matches(reader, m) is m for m in resolved.values())
    write(store, logs[200:])
    for name, matches in resolved.items():
        updated = lq.update_matches(reader, matches)
        want = expected(logs, CASES[name][1])
        assert updated.count == len(want), name
        assert all_ids(reader, updated) == want, name


def test_newest_matches_give_a_first_screen_without_counting(
    store: Store, reader: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lq, "CHUNK", 50)
    logs = make_logs(600)
    write(store, logs)
    for name in ("regex", "regex and level", "text", "everything"):
        log_filter, keep = CASES[name]
        first = lq.newest_matches(reader, log_filter, 25)
        assert list(first.ids or []) == expected(logs, keep)[-25:], name
    few = lq.newest_matches(reader, LogFilter(regex=r"n=\d*7$"), 1_000, max_rows=100)
    assert 0 < few.count <= 11  # stopped after the newest 100 logs (60 of all 600 match)


def test_a_newer_request_stops_a_regex_count_between_rows(
    store: Store, reader: sqlite3.Connection
) -> None:
    """The regex runs inside the rows' query: it stops there, and the connection still works."""
    logs = make_logs(6_000)
    write(store, logs)
    no_match = LogFilter(regex=r"n=\d+7x")  # no literal run of three: every log is read
    with pytest.raises(lm.Cancelled):
        lq.match_logs(reader, no_match, should_stop=lambda: True)
    assert lq.match_logs(reader, no_match).count == 0
    log_filter, keep = CASES["regex and level"]
    assert all_ids(reader, lq.match_logs(reader, log_filter)) == expected(logs, keep)


def test_position_at_finds_a_time_and_a_log(store: Store, reader: sqlite3.Connection,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    logs = make_logs(400)
    write(store, logs)
    for limit in (20_000, 10):  # sorted in memory, then paged from SQLite
        monkeypatch.setattr(lq, "MATERIALIZE_LIMIT", limit)
        for log_filter, keep in (CASES["everything"], CASES["text"], CASES["level"]):
            matches = lq.match_logs(reader, log_filter)
            want = expected(logs, keep)
            for position in (0, len(want) // 3, len(want) - 1):
                log = logs[want[position] - 1]
                assert lw.position_at(reader, matches, log.time_ns, want[position]) == position
            assert lw.position_at(reader, matches, 0) == 0
            assert lw.position_at(reader, matches, T0 * 2) == matches.count


def test_fts_queries_from_typed_text_and_regex_words() -> None:
    assert lf.fts_query("  ") is None and lf.fts_query("= -") is None
    assert lf.fts_query('connection re"f') == '"connection" AND "re""f"*'
    assert lf.fts_query("a") == '"a"'  # a one-letter prefix would expand to everything
    # Case-blind, Python's "i" also matches "ı" and "İ", "k" the Kelvin sign and "s" the long s,
    # which LIKE does not: LIKE looks for none of them.
    assert lf.regex_prefilter(r"timeout \w+ refused") == (['"refused"*'], ["meout ", " refu"])
    assert lf.regex_prefilter(r"\btimeout\b") == (['"timeout"'], ["meout"])
    assert lf.regex_prefilter(r"\bTimeout\b") == (['"Timeout"'], ["Timeout"])
    assert lf.regex_prefilter(r"^ERROR: disk full") == (
        ['"ERROR"', '"disk"', '"full"*'], ["ERROR: disk full"])
    assert lf.regex_prefilter(r"a|b") == ([], []) and lf.regex_prefilter(r"(") == ([], [])
    # Non-ASCII: the tokenizer folds it its own way, so no word touching it is used.
    assert lf.regex_prefilter(r"café au lait") == (['"au"', '"lait"*'], ["caf", " au la"])
    # Quotes and backslashes are escaped in the stored JSON: never a substring to look for.
    assert lf.regex_prefilter(r'Say "hello" now\n') == (['"hello"', '"now"'], ["Say ", "hello",
                                                                               " now"])


def test_invalid_regex_raises_for_the_view_to_report(
    store: Store, reader: sqlite3.Connection
) -> None:
    write(store, make_logs(10))
    with pytest.raises(re.error):
        lq.match_logs(reader, LogFilter(regex="(unclosed"))


def test_ten_thousand_logs_filter_through_fts_fast_enough_to_type(
    store: Store, reader: sqlite3.Connection
) -> None:
    """The FTS path on a store big enough that a scan would show: counts agree with Python."""
    logs = make_logs(10_000, seed=7)
    write(store, logs)
    want = expected(logs, lambda log: "connection" in log.body and "paris" in log.body)
    matches = lq.match_logs(reader, LogFilter(text="connection pari"))
    assert matches.count == len(want)
    tail = lw.fetch_window(reader, matches, matches.count - 40, 40)
    assert [r.id for r in tail] == want[-40:]
    query = reader.execute(
        "EXPLAIN QUERY PLAN SELECT rowid FROM logs_fts WHERE logs_fts MATCH 'x'"
    ).fetchall()
    assert "VIRTUAL TABLE" in query[0][-1]


def test_a_store_at_schema_2_gains_the_index_for_its_logs(tmp_path: Path) -> None:
    from lumos_studio.store.schema import ensure_schema
    from lumos_studio.store.schema_migrations import MIGRATIONS

    path = tmp_path / "old.db"
    connection = sqlite3.connect(path, isolation_level=None)
    import sqlite_utils

    for migrate in MIGRATIONS[:2]:
        migrate(sqlite_utils.Database(connection))
    connection.execute("PRAGMA user_version = 2")
    connection.execute(
        "INSERT INTO logs (fingerprint, time_ns, body, severity_number) "
        "VALUES (1, 1, '\"old timeout\"', 9)"
    )
    ensure_schema(connection)
    assert connection.execute(
        "SELECT rowid FROM logs_fts WHERE logs_fts MATCH 'timeout'"
    ).fetchall() == [(1,)]
    connection.close()


def test_a_jump_counts_only_the_logs_its_matches_were_resolved_on(
    store: Store, reader: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Logs written after ``match_logs`` (some with earlier times) are not counted before a
    time: the count through an index is corrected by a rowid range over the newer logs."""
    monkeypatch.setattr(lq, "MATERIALIZE_LIMIT", 10)
    logs = make_logs(400)
    write(store, logs[:250])
    names = ("everything", "level", "logger", "service and level", "text", "text, two words")
    resolved = {name: lq.match_logs(reader, CASES[name][0]) for name in names}
    earlier = [replace_time(log, log.time_ns - 200_000) for log in logs[250:]]
    write(store, earlier)
    for name, matches in resolved.items():
        assert not matches.materialized, name
        want = sorted((log.time_ns, i) for i, log in enumerate(logs[:250], 1)
                      if CASES[name][1](log))
        for log_id in (1, 60, 125, 249):
            key = (logs[log_id - 1].time_ns, log_id)
            assert lw.position_at(reader, matches, *key) == sum(1 for k in want if k < key), (
                name, log_id)


def replace_time(log: LogRecord, time_ns: int) -> LogRecord:
    from dataclasses import replace

    return replace(log, time_ns=time_ns)

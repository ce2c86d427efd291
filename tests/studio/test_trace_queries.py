"""The trace list's queries against a real store: search, sort, group, pin, delete.

Each test that reads through the store's API runs on both engines (``store_target``: a SQLite
file and a PostgreSQL database); those that look into SQLite's own tables run on SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.records_codec import span_row
from lumos_studio.store import Store, StoreTarget, StoreWriter, TracePage, TraceQuery, trace_search
from lumos_studio.store.postgres import trace_walk
from lumos_studio.store.schema import SCHEMA_VERSION, SPAN_COLUMNS, ensure_schema
from lumos_studio.store.text_ids import TEXT_ID_BITS
from lumos_studio.store.trace_filter import filter_sql, parse_filter
from lumos_studio.store.trace_index import text_digest
from tests.builders import T0, agent_run, make_span, weather_trace

# Before schema 7 (and 8): attributes and events as JSON text, no extra, no flags, no span.
OLD_SPAN_COLUMNS = (*SPAN_COLUMNS[: SPAN_COLUMNS.index("resource")], "attributes", "events",
                    "resource")


def v7_row(record: SpanRecord) -> tuple[Any, ...]:
    """A span as a studio before schema 8 stored one from in-process code (JSON text)."""
    row = span_row(record)
    events = [[e.name, e.time_ns, e.attributes] for e in record.events]
    return (*row[: SPAN_COLUMNS.index("resource")], orjson.dumps(dict(record.attributes)).decode(),
            orjson.dumps(events).decode(), row[SPAN_COLUMNS.index("resource")])


@pytest.fixture
def store(store_target: StoreTarget) -> Iterator[Store]:
    opened = Store.open(store_target)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "studio.db")
    yield opened
    opened.close()


def fill(store: Store, *runs: list[SpanRecord]) -> None:
    for spans in runs:
        store.writer.submit_many(spans)
    assert store.writer.flush()


def ids(store: Store, query: str = "", **options: object) -> list[int]:
    page = store.reader.find_traces(TraceQuery(parse_filter(query), **options))  # type: ignore[arg-type]
    return [int(t.trace_id, 16) for t in page.summaries]


@contextmanager
def migrations_upto(version: int) -> Iterator[None]:
    """Stores made or opened inside are brought up to schema ``version`` only, as the studio
    of that schema left them."""
    from lumos_studio.store import schema

    real = schema.MIGRATIONS
    schema.MIGRATIONS = real[:version]
    try:
        yield
    finally:
        schema.MIGRATIONS = real


def write_unstarted(path: Path, spans: list[SpanRecord]) -> None:
    """``spans`` written by a writer that is never started: stored, their text only queued."""
    old = StoreWriter(path)
    try:
        assert old._write(spans)
    finally:
        old.close()


def test_each_qualifier_narrows_the_list(store: Store) -> None:
    fill(store,
         agent_run(1, agent="weather", tool="get_weather", duration_ms=3_000),
         agent_run(2, agent="support", model="gpt-4o", status="ERROR", duration_ms=200),
         agent_run(3, agent="support", model="gpt-4o-mini", conversation="thread-a", running=True),
         agent_run(4, agent="trip planner", conversation="thread-b", duration_ms=400))
    assert ids(store) == [4, 3, 2, 1]
    assert ids(store, "agent:weather") == [1]
    assert ids(store, 'agent:"trip planner"') == [4]
    assert ids(store, "model:gpt-4o") == [3, 2]
    assert ids(store, "model:gpt-4o-mini") == [3]
    assert ids(store, "tool:get_weather") == [1]
    assert ids(store, "status:error") == [2]
    assert ids(store, "status:running") == [3]
    assert ids(store, "status:ok") == [4, 1]
    assert ids(store, "status:ok|error") == [4, 2, 1]
    assert ids(store, "dur:>2s") == [1]
    assert ids(store, "dur:<500ms") == [4, 2]  # a running trace has no duration yet
    assert ids(store, "thread:thread-a") == [3]
    assert ids(store, "support status:error") == [2]
    assert ids(store, "nobody") == []


def test_free_words_find_text_in_messages_by_prefix(store: Store) -> None:
    fill(store, agent_run(1, said="What is the weather in Paris?", answer="Sunny in Paris"),
         agent_run(2, said="Book a train to Lyon", answer="Done: train 6612 booked"),
         agent_run(3, agent="support", said="refund please"))
    assert ids(store, "paris") == [1]
    assert ids(store, "boo") == []  # three letters: whole words only
    assert ids(store, "book") == [2]  # from four, a prefix of the last token, as one types
    assert ids(store, "train booked") == [2]
    assert ids(store, "6612") == [2]
    assert ids(store, "support") == [3]  # free words also match agent names
    assert ids(store, "weather") == [2, 1]  # agent name of 1 and 2, and text of 1
    assert ids(store, "!!!") == []  # no word: matched by names only, never an FTS error


@pytest.mark.parametrize("names_read", [200, 0], ids=["names-by-index", "names-by-like"])
def test_words_found_by_names_and_by_text_agree_however_they_are_read(
    store: Store, monkeypatch: pytest.MonkeyPatch, names_read: int
) -> None:
    """Names read by index seeks or LIKE on every run (too many distinct values); text-only
    words read by their runs' ids when few, or by walking the runs when many."""
    from lumos_studio.store import trace_search

    monkeypatch.setattr(trace_search, "MAX_NAMES", names_read)
    fill(store, *(agent_run(n, agent=("weather", "support", "a_b")[n % 3],
                            said=f"paris {'london' if n % 4 == 0 else 'rome'} trip {n}")
                  for n in range(1, 13)), agent_run(13, said="nothing here"))
    for sparse in (20_000, 0):
        monkeypatch.setattr(trace_search, "SPARSE_HITS", sparse)
        assert ids(store, "paris london") == [12, 8, 4]
        query = TraceQuery(parse_filter("paris trip"), limit=4)
        page = store.reader.find_traces(query)
        assert [int(t.trace_id, 16) for t in page.summaries] == [12, 11, 10, 9]
        # Many runs to count (SQLite): by their ids at once; by reading every run, after.
        assert page.total == (12 if page.counted else 4)
        assert page.truncated and store.reader.count_matches(query) == 12
        assert ids(store, "paris london status:ok", sort="oldest") == [4, 8, 12]
        assert ids(store, "support") == [10, 7, 4, 1]  # an agent's name: no text needed
        assert ids(store, "support london") == [4]  # by name one word, by text the other
        assert ids(store, "a_b") == [11, 8, 5, 2]  # "_" is a character, not LIKE's wildcard
        assert ids(store, "wea") == [13, 12, 9, 6, 3]  # a part of a name


def test_a_word_under_four_characters_matches_whole_words_in_messages(store: Store) -> None:
    # As a prefix, a letter or two matched most of a big store, and took seconds; three
    # letters match many words too, and their index cost a third of indexing a text.
    fill(store, agent_run(1, said="ok go"), agent_run(2, said="good morning"),
         agent_run(3, said="go home"), agent_run(4, said="goo goodbye"))
    assert ids(store, "go") == [3, 1]  # not "good"
    assert ids(store, "goo") == [4]  # not "good", nor "goodbye"
    assert ids(store, "good") == [4, 2]  # from four characters on, a prefix


def test_a_prefix_is_asked_as_the_indexed_words_it_stands_for(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FTS5 merges a prefix's words over the whole index for every range read: a prefix of a
    few words is asked as an OR of them, with the same runs found (and as a prefix again when
    it stands for too many words)."""
    from lumos_studio.store import text_prefixes
    from lumos_studio.store.text_prefixes import text_query

    fill(sqlite_store, *(agent_run(n, said=f"w120{n % 4} Été trip", answer=f"gpt-4o w99{n}")
                         for n in range(1, 13)))
    db = sqlite_store.reader._db
    assert text_query(db, "w120") == '("w1200" OR "w1201" OR "w1202" OR "w1203")'
    assert text_query(db, "W12") == '"W12"'  # three letters: a whole word, as before
    assert text_query(db, "trip") == '("trip")'
    assert text_query(db, "gpt-4o") == '"gpt-4o"*'  # two tokens: a phrase, as FTS5 cuts it
    assert text_query(db, "été") == '"été"'  # folded by the tokenizer: left to FTS5
    assert text_query(db, "zzzz") == '"zzzz"*'  # in no text
    expanded = {q: ids(sqlite_store, q) for q in ("w120", "w1201", "w120 trip", "w99")}
    assert expanded["w120"] == list(range(12, 0, -1))
    assert expanded["w1201"] == [9, 5, 1]
    monkeypatch.setattr(text_prefixes, "PREFIX_WORDS", 2)  # "w120": four words, too many
    assert text_query(db, "w120") == '"w120"*'
    assert {q: ids(sqlite_store, q) for q in expanded} == expanded


def test_a_text_match_serves_the_page_the_count_and_the_groups(store: Store) -> None:
    fill(store, *(agent_run(n, said=f"forecast for day {n}", conversation=f"thread-{n % 2}")
                  for n in range(1, 6)), agent_run(6, said="unrelated"))
    for grouped in (False, True):
        page = store.reader.find_traces(
            TraceQuery(parse_filter("forec day"), grouped=grouped, limit=2))
        assert len(page.summaries) == 2 and page.total == 5
    grouped_page = store.reader.find_traces(TraceQuery(parse_filter("forec"), grouped=True))
    assert grouped_page.group_sizes == {"thread-0": 2, "thread-1": 3}


def page_of(store: Store, text: str, **options: object) -> tuple[list[int], TracePage]:
    page = store.reader.find_traces(TraceQuery(parse_filter(text), **options))  # type: ignore[arg-type]
    return [int(t.trace_id, 16) for t in page.summaries], page


def test_a_word_in_most_runs_shows_its_page_before_its_total(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each engine walks a word in most runs' texts (made to walk it in a store this small):
    the page comes uncounted when full, its total from ``count_matches``; counted when the walk
    read every run, gave up, or is not taken (grouped, another sort); a fields-only full page
    comes uncounted too. The same pages, pins and totals on both engines."""
    monkeypatch.setattr(trace_search, "DENSE_TEXTS", 0)  # SQLite: every word in texts is dense
    monkeypatch.setattr(trace_walk, "WALK_MIN_RUNS", 0)  # PostgreSQL: a store of any size
    runs = [agent_run(n, said=f"w1200{n} trip", status="ERROR" if n in (5, 7) else "OK")
            for n in range(1, 11)]
    runs[3] = agent_run(4, said="nothing")
    fill(store, *runs)
    assert store.writer.pin_traces([f"{1:032x}"], pinned=True)
    shown, page = page_of(store, "w120", limit=4)
    assert shown == [1, 10, 9, 8] and page.pinned == 1
    assert not page.counted and page.truncated and page.total == 4
    assert store.reader.count_matches(page.query) == 9
    shown, page = page_of(store, "w120", limit=20)  # the walk read every run: counted
    assert shown == [1, 10, 9, 8, 7, 6, 5, 3, 2] and page.counted and page.total == 9
    shown, page = page_of(store, "w120 trip", sort="oldest", limit=3)
    assert shown == [1, 2, 3] and not page.counted and page.total == 3
    shown, page = page_of(store, "w120 status:error", limit=1)
    assert shown == [7] and not page.counted and store.reader.count_matches(page.query) == 2
    shown, page = page_of(store, "w120 nothing", limit=1)  # in no run's texts together
    assert shown == [] and page.counted and page.total == 0
    for options in ({"grouped": True}, {"sort": "tokens"}):  # not walked: counted with the page
        shown, page = page_of(store, "w120", limit=4, **options)
        assert len(shown) == 4 and page.counted and page.total == 9
    shown, page = page_of(store, "status:ok", limit=2)  # its count reads every run: later
    assert shown == [1, 10] and not page.counted and page.total == 2
    assert store.reader.count_matches(page.query) == 8
    for module, budget in ((trace_search, "_WALK_BUDGET"), (trace_walk, "WALK_BUDGET")):
        monkeypatch.setattr(module, budget, 2)  # the walk gives up: the plain page, counted
    monkeypatch.setattr(trace_search, "_WALK_CHUNK", 1)
    monkeypatch.setattr(trace_walk, "FIRST_CHUNK", 1)
    shown, page = page_of(store, "w120", limit=4)
    assert shown == [1, 10, 9, 8] and page.counted and page.total == 9


def test_sort_orders(store: Store) -> None:
    fill(store, agent_run(1, duration_ms=300, tokens=5),
         agent_run(2, duration_ms=900, tokens=50, status="ERROR"),
         agent_run(3, duration_ms=100, tokens=500),
         agent_run(4, running=True))
    assert ids(store, sort="newest") == [4, 3, 2, 1]
    assert ids(store, sort="oldest") == [1, 2, 3, 4]
    assert ids(store, sort="slowest") == [2, 1, 3, 4]  # the running one last
    assert ids(store, sort="tokens") == [3, 2, 4, 1]
    assert ids(store, sort="errors") == [2, 4, 3, 1]


def test_grouped_by_conversation_newest_group_first(store: Store) -> None:
    fill(store, agent_run(1, conversation="a"), agent_run(2, conversation="b"),
         agent_run(3, conversation="a"), agent_run(4))
    page = store.reader.find_traces(TraceQuery(grouped=True))
    assert [(t.conversation_id, int(t.trace_id, 16)) for t in page.summaries] == [
        (None, 4), ("a", 3), ("a", 1), ("b", 2)]
    assert page.group_sizes == {"a": 2, "b": 1, None: 1}


def test_a_grouped_page_holds_the_newest_groups_that_fill_it(store: Store) -> None:
    """Runs of five conversations, interleaved: a page of 5 takes the two newest groups (the
    second completes it, cut at the page), sized in full; older groups are not looked at."""
    fill(store, *(agent_run(n, conversation=f"c{n % 5}") for n in range(1, 16)))
    page = store.reader.find_traces(TraceQuery(grouped=True, limit=5))
    assert [(t.conversation_id, int(t.trace_id, 16)) for t in page.summaries] == [
        ("c0", 15), ("c0", 10), ("c0", 5), ("c4", 14), ("c4", 9)]
    assert page.group_sizes == {"c0": 3, "c4": 3} and page.total == 15
    filtered = store.reader.find_traces(TraceQuery(parse_filter("thread:c1"), grouped=True))
    assert [int(t.trace_id, 16) for t in filtered.summaries] == [11, 6, 1]


def test_the_conversation_id_is_kept_when_the_trace_grows(store: Store) -> None:
    spans = agent_run(1, conversation="c1")
    fill(store, spans[:1])
    fill(store, spans[1:])
    assert store.reader.find_traces(TraceQuery()).summaries[0].conversation_id == "c1"


def test_a_trace_keeps_the_first_conversation_id_it_was_given(store: Store) -> None:
    root, *rest = agent_run(1, conversation="c1")  # the builder gives the root the id
    fill(store, agent_run(2)[1:2])  # a trace without one gets one when a span brings it
    fill(store, [root])
    fill(store, agent_run(1, conversation="c2")[:1], rest, agent_run(2, conversation="c3")[:1])
    ids_by_trace = {int(t.trace_id, 16): t.conversation_id
                    for t in store.reader.find_traces(TraceQuery()).summaries}
    assert ids_by_trace == {1: "c1", 2: "c3"}


def test_pinned_traces_stay_on_top_and_survive_refreshes(store: Store) -> None:
    fill(store, agent_run(1), agent_run(2), agent_run(3))
    assert store.writer.pin_traces([f"{1:032x}"], pinned=True)
    assert ids(store) == [1, 3, 2]
    assert ids(store, sort="oldest") == [1, 2, 3]
    assert ids(store, "is:pinned") == [1]
    fill(store, [make_span("late", trace_id=f"{1:032x}", span_id="f" * 16, start=T0)])
    page = store.reader.find_traces(TraceQuery())
    assert page.summaries[0].pinned and page.summaries[0].span_count == 3 and page.pinned == 1
    assert store.writer.pin_traces([f"{1:032x}"], pinned=False)
    assert ids(store) == [3, 2, 1]


def test_the_list_is_limited_and_counts_every_match(store: Store) -> None:
    fill(store, *(agent_run(n) for n in range(1, 8)))
    page = store.reader.find_traces(TraceQuery(limit=3))
    assert [int(t.trace_id, 16) for t in page.summaries] == [7, 6, 5]
    assert page.total == 7 and page.truncated


def test_delete_removes_spans_logs_text_and_summary(store: Store) -> None:
    keep, gone = agent_run(1, said="keep me"), agent_run(2, said="delete me")
    logs = [LogRecord(T0 + n, f"log {n}", 9, "INFO", spans[0].trace_id, spans[0].span_id)
            for n, spans in enumerate((keep, gone))]
    fill(store, keep, gone)
    store.writer.submit_many(logs)
    store.writer.flush()
    heard: list[frozenset[str]] = []
    store.writer.subscribe(lambda change: heard.append(change.trace_ids))

    assert store.writer.delete_traces([gone[0].trace_id])

    assert ids(store) == [1]
    assert store.reader.trace_spans(gone[0].trace_id) == []
    assert [log.body for log in store.reader.logs()] == ["log 0"]
    assert ids(store, "delete") == [] and ids(store, "keep") == [1]
    assert heard == [frozenset({gone[0].trace_id})]
    if not isinstance(store.target, Path):
        return
    connection = sqlite3.connect(store.path)
    assert connection.execute("SELECT count(*) FROM trace_texts WHERE trace_id = ?",
                              (gone[0].trace_id,)).fetchone()[0] == 0
    assert connection.execute(  # the full-text index forgot it too
        "SELECT count(*) FROM trace_texts_fts WHERE trace_texts_fts MATCH 'delete'"
    ).fetchone()[0] == 0


def test_a_span_is_indexed_once_whatever_the_reimports(sqlite_store: Store) -> None:
    for _ in range(2):
        fill(sqlite_store, weather_trace())
    connection = sqlite3.connect(sqlite_store.path)
    digests = [r[0] for r in connection.execute("SELECT digest FROM trace_texts ORDER BY id")]
    # The agent span (question + answer), each chat span's new messages, no repeats, and the
    # tool call (name, arguments, result), as ``semantics.searchable_text`` gives them (model
    # and agent names first).
    assert digests == [text_digest(text) for text in (
        "scripted\nweather\nweather in Paris?\nSunny, 18 °C in Paris.",
        'scripted\nweather in Paris?\nget_weather({"city":"Paris"})',
        'get_weather\n{"city":"Paris"}\nSunny, 18 °C in Paris.',
        "scripted\nSunny, 18 °C in Paris.",
    )]


def test_a_version_3_store_is_migrated_with_its_traces_searchable(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    connection = sqlite3.connect(path, isolation_level=None)
    with migrations_upto(3):  # build a store as the previous studio did
        ensure_schema(connection)
        spans = agent_run(1, said="old question", conversation="old-thread")
        marks = ", ".join("?" * len(OLD_SPAN_COLUMNS))
        connection.executemany(f"INSERT INTO spans VALUES ({marks})",
                               [v7_row(s) for s in spans])
        connection.execute(
            "INSERT INTO traces VALUES (?, 'invoke_agent weather', 'weather', 'tests', ?, ?, 2, "
            "0, 0, 10, 0)", (spans[0].trace_id, spans[0].start_ns, spans[0].end_ns))
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 3
    connection.close()

    with Store(path) as store:
        assert store.writer.flush()  # the text is indexed in idle time; flushed: searchable
        assert ids(store, "old") == [1]
        assert ids(store, "thread:old-thread model:scripted") == [1]
        assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_version_13_store_loses_its_prefix_index_and_is_indexed_again(tmp_path: Path) -> None:
    """Schema 14 drops the 3-letter prefixes' index (a third of indexing's cost): the words the
    old index held are found again once the writer has indexed the spans in idle time."""
    from lumos_studio.store import trace_index

    path = tmp_path / "v13.db"
    with migrations_upto(13):  # the previous studio's store: its index had the prefixes
        write_unstarted(path, [*agent_run(1, said="old question"), *agent_run(2, said="other")])
    connection = sqlite3.connect(path, isolation_level=None)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 13
    with connection:
        connection.execute("BEGIN")
        while trace_index.index_pending(connection):
            pass

    def fts(connection: sqlite3.Connection, query: str = "") -> object:
        if not query:
            return connection.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'trace_texts_fts'").fetchone()[0]
        return connection.execute(
            "SELECT count(*) FROM trace_texts_fts WHERE trace_texts_fts MATCH ?", (query,)
        ).fetchone()[0]

    assert "prefix='3'" in str(fts(connection)) and fts(connection, '"que"*') == 1
    connection.close()

    with Store(path) as store:
        assert store.writer.flush()  # indexed again; flushed: searchable
        assert ids(store, "question") == [1] and ids(store, "other") == [2]
        assert ids(store, "ques") == [1] and ids(store, "que") == []
        connection = sqlite3.connect(path)
        assert "prefix" not in str(fts(connection)) and fts(connection, '"que"*') == 1
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 16
        assert connection.execute("SELECT count(*) FROM text_queue").fetchone()[0] == 0
        connection.close()


def test_a_version_5_store_is_indexed_again_with_ids_that_tell_the_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lumos_studio.store import pending, schema, write_statements

    path = tmp_path / "v5.db"
    real = schema.MIGRATIONS
    schema.MIGRATIONS = real[:5]  # the previous studio's store, with its columns
    monkeypatch.setattr(write_statements, "SPAN_COLUMNS", OLD_SPAN_COLUMNS)
    monkeypatch.setattr(write_statements, "_PADDING", (None,) * len(OLD_SPAN_COLUMNS))
    write_statements.upsert_spans.cache_clear()
    monkeypatch.setattr(pending, "span_row", v7_row)
    try:
        write_unstarted(path, [*agent_run(1, said="old question"), *agent_run(2, said="other")])
    finally:
        schema.MIGRATIONS = real
        monkeypatch.undo()
        write_statements.upsert_spans.cache_clear()
    connection = sqlite3.connect(path, isolation_level=None)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 5
    connection.execute("DELETE FROM text_queue")  # indexed as schema 5 did: ids 1, 2, ...
    connection.execute("INSERT INTO trace_texts (trace_id, span_id, text) SELECT trace_id, "
                       "span_id, 'old words' FROM spans WHERE parent_span_id IS NULL")
    connection.execute("INSERT INTO trace_texts_fts(rowid, text) SELECT id, text FROM trace_texts")
    connection.close()

    with Store(path) as store:
        assert store.writer.flush()
        assert ids(store, "old") == [1] and ids(store, "other") == [2]  # from the spans again
        assert ids(store, "words") == []  # what schema 5 had indexed is gone
        connection = sqlite3.connect(path)
        for trace_id, seq, text_id in connection.execute(
            "SELECT t.trace_id, t.text_seq, x.id FROM trace_texts x JOIN traces t USING (trace_id)"
        ):
            assert text_id >> TEXT_ID_BITS == seq, trace_id
        assert connection.execute("SELECT count(DISTINCT text_seq) FROM traces").fetchone()[0] == 2


def test_a_version_8_store_keeps_its_indexed_words_once(tmp_path: Path) -> None:
    """Schema 9: the text indexed so far moves into the contentless index, not re-indexed."""
    from lumos_studio.store import trace_index

    path = tmp_path / "v8.db"
    connection = sqlite3.connect(path, isolation_level=None)
    with migrations_upto(8):
        ensure_schema(connection)
    spans = agent_run(1, said="old question")
    marks = ", ".join("?" * len(SPAN_COLUMNS))
    connection.executemany(f"INSERT INTO spans VALUES ({marks})", [span_row(s) for s in spans])
    connection.execute(
        "INSERT INTO traces (trace_id, root_name, start_ns, end_ns, span_count, error_count, "
        "running_count, text_seq) VALUES (?, 'invoke_agent weather', ?, ?, 2, 0, 0, 1)",
        (spans[0].trace_id, spans[0].start_ns, spans[0].end_ns))
    text = trace_index.span_text(connection, spans[0])
    connection.execute("INSERT INTO trace_texts (id, trace_id, span_id, text) VALUES (?, ?, ?, ?)",
                       (1 << TEXT_ID_BITS | 1, spans[0].trace_id, spans[0].span_id, text))
    connection.execute("INSERT INTO trace_texts_fts(rowid, text) SELECT id, text FROM trace_texts")
    with migrations_upto(13):  # up to the last schema that kept the moved words
        ensure_schema(connection)
    moved = connection.execute("SELECT digest FROM trace_texts").fetchall()
    assert moved == [(text_digest(text),)]
    assert connection.execute("SELECT rowid FROM trace_texts_fts WHERE trace_texts_fts MATCH "
                              "'question'").fetchall() == [(1 << TEXT_ID_BITS | 1,)]
    connection.close()

    with Store(path) as store:
        assert store.writer.flush()  # schema 14 indexes the text again, in idle time
        assert ids(store, "question") == [1]
        assert store.writer.delete_traces([spans[0].trace_id])
        assert sqlite3.connect(path).execute(
            "SELECT count(*) FROM trace_texts_fts_docsize").fetchone()[0] == 0


def test_every_sort_reads_an_index_also_in_a_store_from_schema_12(tmp_path: Path) -> None:
    """Sorting every run for a page took 35–50 ms at 3M spans: each order has its index (schema
    13), which a store made before gets when it is opened."""
    from lumos_studio.store.trace_page import SORT_INDEXES, SORTS

    path = tmp_path / "studio.db"
    Store(path).close()
    old = sqlite3.connect(path)
    for name in ("traces_by_duration", "traces_by_tokens", "traces_by_erred"):
        old.execute(f"DROP INDEX {name}")
    old.execute("PRAGMA user_version = 12")
    old.commit()
    old.close()
    store = Store(path)
    fill(store, agent_run(1, duration_ms=300, tokens=5), agent_run(2, status="ERROR"))
    store.close()
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    for sort, order in SORTS.items():
        plan = " ".join(row[3] for row in connection.execute(
            f"EXPLAIN QUERY PLAN SELECT t.* FROM traces t WHERE t.pinned_ns IS NULL "
            f"ORDER BY {order} LIMIT 500"))
        assert "USING INDEX" in plan and "TEMP B-TREE" not in plan, (sort, plan)
    assert len(SORT_INDEXES) == 3


def test_status_error_reads_the_erred_runs_by_their_index(tmp_path: Path) -> None:
    """``status:error`` says its condition as ``traces_by_erred`` is written: SQLite reads the
    erred runs from that index in start order, not every run (a dense word with it walked
    ~125,000 runs at 10M spans for the 6,000 erred ones)."""
    store = Store(tmp_path / "s.db")
    store.close()
    where, params = filter_sql(parse_filter("status:error"))
    connection = sqlite3.connect(tmp_path / "s.db")
    plan = " ".join(row[-1] for row in connection.execute(
        f"EXPLAIN QUERY PLAN SELECT t.trace_id FROM traces t WHERE t.pinned_ns IS NULL AND "
        f"{where} ORDER BY t.start_ns DESC", params))
    connection.close()
    assert "traces_by_erred" in plan and "TEMP B-TREE" not in plan

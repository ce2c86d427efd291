"""The trace list on PostgreSQL against SQLite's, on the same generated stores (runs stored out
of their time order, some pinned): a search walked run by run (``postgres.trace_walk``, with
small chunks and budgets, so it walks, gives up or runs out) or read from its matches finds the
same runs in the same order, the same pins and the same totals as SQLite."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lumos_studio.store import Store, TracePage, TraceQuery, parse_target
from lumos_studio.store.postgres import trace_walk
from lumos_studio.store.trace_filter import parse_filter
from tests.studio.test_trace_dense_search import filled, queries, stores


def shown(page: TracePage) -> list[tuple[str, str]]:
    return [(t.trace_id, t.status) for t in page.summaries]


# How a query is listed: in the two orders a walk serves, in the order drawn, or grouped.
LISTINGS = ("newest", "oldest", "newest", "drawn", "grouped")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(stores, st.lists(st.tuples(queries, st.sampled_from(LISTINGS)), min_size=1, max_size=6),
       st.sampled_from((1, 2, 64)), st.sampled_from((3, 40, 5_000)))
def test_postgres_finds_the_page_and_the_total_sqlite_finds(
    monkeypatch: pytest.MonkeyPatch, pg_url: str,
    generated: tuple[list[dict[str, object]], list[int], set[int]],
    asked: list[tuple[tuple[str, str, str, int], str]], first_chunk: int, budget: int,
) -> None:
    """Same runs, statuses, pins and group sizes; the same ``count_matches``; a page's total
    is that count when it came counted, else the full page's own length."""
    monkeypatch.setattr(trace_walk, "WALK_MIN_RUNS", 0)
    monkeypatch.setattr(trace_walk, "FIRST_CHUNK", first_chunk)
    monkeypatch.setattr(trace_walk, "WALK_CHUNK", max(first_chunk, 4))
    monkeypatch.setattr(trace_walk, "WALK_BUDGET", budget)
    with psycopg.connect(pg_url, autocommit=True) as connection:  # a fresh store each example
        connection.execute("DROP TABLE IF EXISTS spans, traces, span_texts, text_queue, logs, "
                           "trace_refresh_due, lumos_schema")
    with tempfile.TemporaryDirectory(prefix="lumos-pg-walk-") as tmp:
        lite = filled(Store(Path(tmp) / "s.db"), *generated)
        pg = filled(Store.open(parse_target(pg_url)), *generated)
        try:
            for (words, qualifier, sort, limit), listing in asked:
                query = TraceQuery(parse_filter(words + qualifier),
                                   sort=sort if listing in ("drawn", "grouped") else listing,
                                   grouped=listing == "grouped", limit=limit)
                expected, page = lite.reader.find_traces(query), pg.reader.find_traces(query)
                assert shown(page) == shown(expected)
                assert page.pinned == expected.pinned
                assert page.group_sizes == expected.group_sizes
                total = pg.reader.count_matches(query)
                assert total == lite.reader.count_matches(query)
                if page.counted:
                    assert page.total == total
                else:
                    assert page.total == len(page.summaries) == limit and page.truncated
        finally:
            lite.close()
            pg.close()



def test_a_rare_word_beside_a_dense_one_is_read_whole_and_the_dense_one_walked(
        monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:
    """A walk of both words that gives up (its budget too small for their shared runs) walks
    again the word in most runs through the rare word's runs: the page comes, uncounted."""
    monkeypatch.setattr(trace_walk, "WALK_MIN_RUNS", 0)
    monkeypatch.setattr(trace_walk, "WALK_BUDGET", 2)
    monkeypatch.setattr(trace_walk, "FIRST_CHUNK", 1)
    monkeypatch.setattr(trace_walk, "WALK_CHUNK", 1)
    runs: list[dict[str, object]] = [
        {"said": f"w120{n} trip" + (" refund" if n in (1, 5) else "")} for n in range(10)]
    with tempfile.TemporaryDirectory(prefix="lumos-pg-walk-") as tmp:
        lite = filled(Store(Path(tmp) / "s.db"), runs, list(range(10)), set())
        pg = filled(Store.open(parse_target(pg_url)), runs, list(range(10)), set())
        try:
            for text in ("w120 refund", "refund w120"):
                query = TraceQuery(parse_filter(text), limit=1)
                page = pg.reader.find_traces(query)
                assert shown(page) == shown(lite.reader.find_traces(query))
                assert [t.trace_id for t in page.summaries] == [f"{6:032x}"]
                assert not page.counted and page.total == 1
                assert pg.reader.count_matches(query) == 2
                monkeypatch.setattr(trace_walk, "WALK_BUDGET", 0)  # no word fills it alone
                assert pg.reader.find_traces(query).counted
                monkeypatch.setattr(trace_walk, "WALK_BUDGET", 2)
        finally:
            lite.close()
            pg.close()

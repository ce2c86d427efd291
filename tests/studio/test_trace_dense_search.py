"""A word in most message texts: the page walked run by run in the list's order
(``trace_search.walk``) against the page read from every match (the plain path), on real SQLite
stores generated with runs stored out of their time order (so the index's numbers and the list's
order disagree), pins, sorts and qualifiers combined with the words."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lumos_studio.store import Store, TraceQuery, trace_filter, trace_search
from lumos_studio.store.trace_filter import parse_filter
from lumos_studio.store.trace_page import SORTS, TracePage
from tests.builders import agent_run

ERRED_TERM = trace_filter.ERRED_TERM
WORDS = ("paris", "london", "rome", "refund", "w120a", "w120b", "w13")
AGENTS = ("weather", "support", "planner")

run_strategy = st.fixed_dictionaries({
    "said": st.lists(st.sampled_from(WORDS), min_size=0, max_size=3).map(" ".join),
    "answer": st.lists(st.sampled_from(WORDS), min_size=0, max_size=2).map(" ".join),
    "agent": st.sampled_from(AGENTS),
    "status": st.sampled_from(("OK", "OK", "ERROR")),
    "conversation": st.sampled_from((None, "c1", "c2")),
    "duration_ms": st.integers(1, 3_000),
    "tokens": st.integers(0, 50),
    "running": st.booleans(),
})
stores = st.lists(run_strategy, min_size=1, max_size=24).flatmap(
    lambda runs: st.tuples(st.just(runs), st.permutations(range(len(runs))),
                           st.sets(st.integers(0, len(runs) - 1), max_size=3)))
queries = st.tuples(
    st.lists(st.sampled_from((*WORDS, "w120", "lond", "w12", "sup", "zzz", "paris london")),
             min_size=1, max_size=2).map(" ".join),
    st.sampled_from(("", " status:error", " status:ok", " status:error|running", " dur:>1s",
                     " thread:c1", " agent:support", " is:pinned")),
    st.sampled_from(tuple(SORTS)),
    st.integers(1, 12),
)


@contextmanager
def generated_store(runs: list[dict[str, object]], order: list[int], pinned: set[int]
                    ) -> Iterator[Store]:
    """The runs stored in ``order`` (each flush numbers its runs' texts in turn), some pinned."""
    with tempfile.TemporaryDirectory(prefix="lumos-dense-") as tmp:
        store = Store(Path(tmp) / "s.db")
        try:
            yield filled(store, runs, order, pinned)
        finally:
            store.close()


def filled(store: Store, runs: list[dict[str, object]], order: list[int],
           pinned: set[int]) -> Store:
    """``store`` (of either engine) with the runs stored in ``order``, some pinned."""
    for position in order:
        store.writer.submit_many(agent_run(position + 1, **runs[position]))  # type: ignore[arg-type]
        assert store.writer.flush()
    if pinned:
        assert store.writer.pin_traces([f"{n + 1:032x}" for n in pinned], pinned=True)
    return store


def page_of(store: Store, query: TraceQuery, dense_texts: int,
            monkeypatch: pytest.MonkeyPatch) -> TracePage:
    monkeypatch.setattr(trace_search, "DENSE_TEXTS", dense_texts)
    return store.reader.find_traces(query)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(stores, st.lists(queries, min_size=1, max_size=6), st.sampled_from((1, 2, 64)),
       st.sampled_from((0, 1, 64)), st.sampled_from((3, 40_000)))
def test_the_walked_page_is_the_plain_page(
    monkeypatch: pytest.MonkeyPatch, generated: tuple[list[dict[str, object]], list[int],
                                                      set[int]],
    asked: list[tuple[str, str, str, int]], first_chunk: int, gap: int, budget: int,
) -> None:
    """Same runs in the same order, same pinned count; the total is ``count_matches``', given
    with the page when it was counted (the walk read every run; the plain path counted). A
    walk that reads its budget of runs without filling the page leaves it to the plain path."""
    monkeypatch.setattr(trace_search, "_WALK_BUDGET", budget)
    monkeypatch.setattr(trace_search, "_FIRST_CHUNK", first_chunk)
    monkeypatch.setattr(trace_search, "_WALK_CHUNK", max(first_chunk, 4))
    monkeypatch.setattr(trace_search, "_RANGE_GAP", gap)
    with generated_store(*generated) as store:
        listed = {t.trace_id: t for t in store.reader.find_traces(TraceQuery(limit=100)).summaries}
        for words, qualifier, sort, limit in asked:
            query = TraceQuery(parse_filter(words + qualifier), sort=sort, limit=limit)
            plain = page_of(store, query, 10**9, monkeypatch)
            monkeypatch.setattr(trace_filter, "ERRED_TERM", "1")  # no erred index read
            unhelped = page_of(store, query, 10**9, monkeypatch)
            monkeypatch.setattr(trace_filter, "ERRED_TERM", ERRED_TERM)
            assert unhelped.summaries == plain.summaries
            walked = page_of(store, query, -1, monkeypatch)  # every word walked
            assert [t.trace_id for t in walked.summaries] == [
                t.trace_id for t in plain.summaries]
            assert walked.summaries == plain.summaries
            assert walked.pinned == plain.pinned
            assert plain.summaries == [listed[t.trace_id] for t in plain.summaries]  # as listed
            total = store.reader.count_matches(query)
            assert total >= len(plain.summaries)
            for page in (plain, walked):
                if page.counted:
                    assert page.total == total
                else:  # a full page, its total counted after it
                    assert page.total == len(page.summaries) == limit and page.truncated


def test_a_dense_word_pages_without_counting_then_counts(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    runs: list[dict[str, object]] = [{"said": f"w120{n} trip"} for n in range(10)]
    runs[3] = {"said": "nothing"}
    with generated_store(runs, list(range(10)), {0}) as store:
        query = TraceQuery(parse_filter("w120"), limit=4)
        page = page_of(store, query, 5, monkeypatch)  # 9 texts match: more than 5
        assert [int(t.trace_id, 16) for t in page.summaries] == [1, 10, 9, 8]  # pinned first
        assert not page.counted and page.truncated and page.total == 4 and page.pinned == 1
        assert store.reader.count_matches(query) == 9
        everything = page_of(store, TraceQuery(parse_filter("w120"), limit=20), 5, monkeypatch)
        assert everything.counted and everything.total == 9  # the walk read every run
        monkeypatch.setattr(trace_search, "_WALK_BUDGET", 2)
        monkeypatch.setattr(trace_search, "_WALK_CHUNK", 1)
        assert page_of(store, query, 5, monkeypatch).counted  # given up: the plain path
        monkeypatch.setattr(trace_search, "_WALK_BUDGET", 40_000)
        grouped = page_of(store, TraceQuery(parse_filter("w120"), grouped=True, limit=4), 5,
                          monkeypatch)
        assert grouped.counted and grouped.total == 9  # grouped: read in full, as before
        sparse = page_of(store, query, 9, monkeypatch)  # 9 texts: not more than 9
        assert sparse.counted and sparse.total == 9


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(stores, st.lists(st.tuples(
    st.sampled_from(("thread:c1", "thread:c", "thread:zz", 'thread:"%"', "thread:c1 thread:2",
                     "thread:c status:error", "thread:c1 refund", "thread:c paris london")),
    st.sampled_from(tuple(SORTS)), st.integers(1, 12), st.booleans()), min_size=1, max_size=4))
def test_a_thread_read_by_its_conversations_is_the_thread_matched_run_by_run(
    monkeypatch: pytest.MonkeyPatch, generated: tuple[list[dict[str, object]], list[int],
                                                      set[int]],
    asked: list[tuple[str, str, int, bool]],
) -> None:
    """``thread:`` as the conversation ids that contain it (``threads_matching``) finds the
    same page, pins and total as its LIKE on every run (too many ids: the LIKE is kept)."""
    with generated_store(*generated) as store:
        for text, sort, limit, grouped in asked:
            query = TraceQuery(parse_filter(text), sort=sort, grouped=grouped, limit=limit)
            for dense_texts in (10**9, -1):
                monkeypatch.setattr(trace_search, "MAX_THREADS", 2_000)
                by_ids = page_of(store, query, dense_texts, monkeypatch)
                by_ids_total = store.reader.count_matches(query)
                monkeypatch.setattr(trace_search, "MAX_THREADS", 0)
                by_like = page_of(store, query, dense_texts, monkeypatch)
                assert by_ids.summaries == by_like.summaries
                assert by_ids.pinned == by_like.pinned
                assert by_ids.group_sizes == by_like.group_sizes
                assert by_ids_total == store.reader.count_matches(query)

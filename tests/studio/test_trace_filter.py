"""The trace list's search language: what it reads, and what it says about what it cannot."""

from __future__ import annotations

import pytest

from lumos_studio.store.trace_filter import FilterError, TraceFilter, parse_filter

MS = 1_000_000
S = 1_000 * MS


def test_the_empty_query_matches_everything() -> None:
    assert parse_filter("").empty and parse_filter("   ").empty


def test_free_words_and_every_qualifier() -> None:
    parsed = parse_filter(
        'paris agent:weather status:error|running model:gpt-4o tool:get_weather '
        'dur:>2s dur:<=500ms thread:t1 is:pinned "hello world"'
    )
    assert parsed == TraceFilter(
        words=("paris", "hello world"),
        agents=("weather",),
        models=("gpt-4o",),
        tools=("get_weather",),
        threads=("t1",),
        statuses=frozenset({"error", "running"}),
        durations=((">", 2 * S), ("<=", 500 * MS)),
        pinned=True,
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("dur:2s", (">=", 2 * S)),
        ("dur:>1.5m", (">", 90 * S)),
        ("duration:<250us", ("<", 250_000)),
        ("dur:=1h", ("=", 3_600 * S)),
    ],
)
def test_durations_take_units_and_operators(query: str, expected: tuple[str, int]) -> None:
    assert parse_filter(query).durations == (expected,)


def test_aliases_and_case() -> None:
    assert parse_filter("Agent:W conv:c1 STATUS:OK").threads == ("c1",)
    assert parse_filter("Agent:W").agents == ("W",)
    assert parse_filter("state:ok,error").statuses == {"ok", "error"}
    assert parse_filter("status:SUSPENDED").statuses == {"suspended"}


def test_quoted_values_keep_spaces_and_colons() -> None:
    assert parse_filter('agent:"trip planner"').agents == ("trip planner",)
    assert parse_filter('"http://example.com"').words == ("http://example.com",)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("colour:red", "unknown qualifier colour:"),
        ("agent:", "agent: needs a value"),
        ("status:broken", "status:broken — use error, ok, running or suspended"),
        ("dur:fast", "dur:fast — write dur:>2s"),
        ("dur:>2", "needs a unit"),
        ('"unclosed', "a quote is not closed"),
        ("is:starred", "only is:pinned"),
    ],
)
def test_bad_queries_say_what_to_write(query: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        parse_filter(query)

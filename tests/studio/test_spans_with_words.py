"""The tree's find in a trace's messages: ``spans_with_words`` on both engines."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lumos_studio.store import Store, StoreTarget
from tests.builders import T0, weather_trace

PARIS = "0af7651916cd43dd8448eb211c80319c"
ROME = "1bf7651916cd43dd8448eb211c80319c"
AGENT, CHAT, TOOL, ANSWER = (f"a00000000000000{i}" for i in range(1, 5))


@pytest.fixture
def any_store(store_target: StoreTarget) -> Iterator[Store]:
    opened = Store.open(store_target)
    opened.writer.submit_many(weather_trace(PARIS, T0))
    opened.writer.submit_many(weather_trace(ROME, T0 + 10**9))
    assert opened.writer.flush(timeout=30)  # searchable
    yield opened
    opened.close()


def test_a_word_finds_the_spans_of_the_trace_whose_messages_hold_it(any_store: Store) -> None:
    reader = any_store.reader
    # The user's question is in the agent's and the first chat's messages; the tool's result
    # and the answer say "Sunny" (the tool's text: its arguments and result).
    assert reader.spans_with_words(PARIS, "paris") >= {AGENT, CHAT}
    assert reader.spans_with_words(PARIS, "SUNNY") >= {ANSWER}
    assert reader.spans_with_words(PARIS, "weather sunny") <= reader.spans_with_words(
        PARIS, "sunny")


def test_every_word_must_be_there_and_other_traces_do_not_count(any_store: Store) -> None:
    reader = any_store.reader
    assert reader.spans_with_words(PARIS, "paris nowhere") == set()
    assert reader.spans_with_words(PARIS, "sun") == set()  # a short word is a whole word
    assert reader.spans_with_words(PARIS, "Sunn") == reader.spans_with_words(PARIS, "sunny")
    assert reader.spans_with_words(PARIS, "sunny")  # both traces say it: each finds its own
    assert reader.spans_with_words("f" * 32, "sunny") == set()  # a trace the store lacks


@pytest.mark.parametrize("text", ["", "   ", "\"", "*", "AND OR NOT", "(\"x", "-- ;"])
def test_text_that_holds_no_word_or_fts_syntax_finds_without_failing(
    any_store: Store, text: str
) -> None:
    assert isinstance(any_store.reader.spans_with_words(PARIS, text), set)

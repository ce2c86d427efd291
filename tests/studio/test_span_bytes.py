"""``span_bytes`` writes exactly the bytes upb serialises for a record (``encode_span``)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lumos_studio.otlp.proto_encode import encode_span
from lumos_studio.otlp.span_bytes import span_bytes
from lumos_studio.records import SpanEvent, SpanLink, SpanRecord
from tests.builders import weather_trace
from tests.studio.test_records_codec import full_span

_ints = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.integers(), st.sampled_from([0, -1, 127, 128])
)
_scalars = st.one_of(
    st.text(max_size=20), st.booleans(), _ints, st.floats(allow_nan=True), st.none(),
    st.binary(max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.tuples(inner),
        st.dictionaries(st.text(max_size=6), inner, max_size=3),
    ),
    max_leaves=8,
)
_attributes = st.dictionaries(st.text(max_size=12), _values, max_size=6)
_hex = st.one_of(st.just(""), st.binary(min_size=1, max_size=16).map(bytes.hex))


@st.composite
def records(draw: st.DrawFn) -> SpanRecord:
    base = weather_trace()[1]
    return replace(
        base,
        trace_id=draw(_hex), span_id=draw(_hex), parent_span_id=draw(st.one_of(st.none(), _hex)),
        name=draw(st.text(max_size=10)),
        kind=draw(st.sampled_from(["INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"])),
        start_ns=draw(st.integers(0, 2**64 - 1)),
        end_ns=draw(st.one_of(st.none(), st.integers(0, 2**64 - 1))),
        status_code=draw(st.sampled_from(["UNSET", "OK", "ERROR"])),
        status_message=draw(st.text(max_size=5)),
        attributes=draw(_attributes),
        events=tuple(
            SpanEvent(name, time_ns, attributes, dropped)
            for name, time_ns, attributes, dropped in draw(st.lists(st.tuples(
                st.text(max_size=5), st.integers(0, 2**64 - 1), _attributes,
                st.integers(0, 2**32 - 1)), max_size=2))
        ),
        links=tuple(
            SpanLink(trace_id, span_id, state, attributes, flags, dropped)
            for trace_id, span_id, state, attributes, flags, dropped in draw(st.lists(st.tuples(
                _hex, _hex, st.text(max_size=5), _attributes, st.integers(0, 2**32 - 1),
                st.integers(0, 2**32 - 1)), max_size=2))
        ),
        trace_state=draw(st.text(max_size=5)),
        flags=draw(st.integers(0, 2**32 - 1)),
        dropped_attributes_count=draw(st.integers(0, 2**32 - 1)),
        dropped_events_count=draw(st.integers(0, 2**32 - 1)),
        dropped_links_count=draw(st.integers(0, 2**32 - 1)),
    )


@settings(max_examples=400, deadline=None)
@given(records())
def test_any_record_is_written_as_upb_writes_it(record: SpanRecord) -> None:
    assert span_bytes(record) == encode_span(record)


def test_the_spans_the_studio_writes_are_written_as_upb_writes_them() -> None:
    for record in (*weather_trace(), full_span()):
        assert span_bytes(record) == encode_span(record)
        assert span_bytes(record) == encode_span(record)  # the second time from remembered pairs


class _Odd:
    def __str__(self) -> str:
        return "odd"


@pytest.mark.parametrize("value", [_Odd(), math.nan, -0.0, 2**64, True, "x" * 20_000, None])
def test_odd_values_are_written_as_upb_writes_them(value: Any) -> None:
    record = replace(weather_trace()[0], attributes={"k": value, "n": {"k": value}})
    assert span_bytes(record) == encode_span(record)


def test_a_lone_surrogate_fails_as_it_fails_upb() -> None:
    record = replace(weather_trace()[0], attributes={"k": "a\ud800"})
    with pytest.raises(ValueError):
        encode_span(record)
    with pytest.raises(ValueError):
        span_bytes(record)


def test_remembered_pairs_stay_within_their_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    from lumos_studio.otlp import span_bytes as module

    monkeypatch.setattr(module, "_MAX_REMEMBERED_BYTES", 10_000)
    for n in range(200):  # unique messages, as a real agent's are
        record = replace(weather_trace()[0], attributes={"gen_ai.input.messages": f"{n}" * 300})
        assert span_bytes(record) == encode_span(record)
        assert module._remembered <= 10_000 + 1_000


def test_remembered_numbers_and_lists_stay_apart_from_equal_values_of_other_types() -> None:
    """1, True, 1.0 and "1" are equal or hash alike in Python but encode differently: each
    value under the same key, twice over (the second time from the remembered pairs)."""
    values: list[Any] = [1, True, 1.0, "1", 0, False, 0.0, -0.0, 2**64, ["stop"], ("stop",),
                         ["stop", "length"], [1], [True], ["x"] * 9, []]
    for _ in range(2):
        for value in values:
            record = replace(weather_trace()[0], attributes={"k": value})
            assert span_bytes(record) == encode_span(record), value


def test_remembered_numbers_count_towards_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    from lumos_studio.otlp import span_bytes as module

    monkeypatch.setattr(module, "_MAX_REMEMBERED_BYTES", 10_000)
    for n in range(1_000):  # unique numbers (sizes, durations) are remembered too
        record = replace(weather_trace()[0], attributes={"gen_ai.usage.input_tokens": n})
        assert span_bytes(record) == encode_span(record)
        assert module._remembered <= 10_000 + 1_000
        # Each counts its key's size too, not only its few encoded bytes.
        remembered = sum(len(by_value) for by_key in module._pairs.values()
                         for by_value in by_key.values())
        assert remembered <= 10_000 // module._TUPLE_KEY_BYTES + 1

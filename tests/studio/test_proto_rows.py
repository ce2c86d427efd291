"""The receiver's shortcut makes the very rows that records of the same request would."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lumos_core.telemetry import semconv as sc
from lumos_studio.ingest.proto_rows import decode_trace_rows
from lumos_studio.otlp import OtlpDecodeError
from lumos_studio.otlp.proto_codec import decode_trace_request_proto
from lumos_studio.otlp.proto_encode import encode_trace_request_proto
from lumos_studio.records import SpanEvent, SpanRecord
from lumos_studio.store.pending import PendingRows
from tests.builders import T0, weather_trace


def odd_spans() -> list[SpanRecord]:
    """Spans that take every branch of a row: no attributes, events only, copies, foreign."""
    agent, chat, tool, answer = weather_trace()
    bare = replace(tool, span_id="b000000000000001", attributes={}, events=())
    events_only = replace(tool, span_id="b000000000000002", attributes={},
                          events=(SpanEvent("retry", T0, {"n": 1}),))
    started_copy = replace(chat, end_ns=None)  # and its finished copy, later in the request
    other_service = replace(
        answer, trace_id="2" * 32, resource={"service.name": "billing"},
        attributes={**answer.attributes, sc.CONVERSATION_ID: 42, sc.RESPONSE_MODEL: "m-2"},
    )
    running_root = replace(agent, trace_id="3" * 32, end_ns=None)
    return [started_copy, agent, chat, tool, answer, bare, events_only, other_service,
            running_root, replace(chat, trace_id="2" * 32)]


@pytest.mark.parametrize(
    ("spans", "conversations"),
    [(weather_trace(), {}), (odd_spans(), {"2" * 32: "42"})],
    ids=["weather", "odd"],
)
def test_the_rows_are_those_of_the_records(
    spans: list[SpanRecord], conversations: dict[str, str]
) -> None:
    body = encode_trace_request_proto(spans)

    direct = decode_trace_rows(body)
    via_records = PendingRows.of(decode_trace_request_proto(body))

    assert direct.spans == via_records.spans
    assert direct.facts == via_records.facts
    assert direct.spans and direct.facts.to_index  # and there is something to compare
    assert direct.facts.conversations == conversations


def test_invalid_ids_are_rejected_or_refuse_the_request_as_for_records() -> None:
    body = encode_trace_request_proto(weather_trace()).replace(
        bytes.fromhex("a000000000000003"), b"\0" * 8)

    direct: list[str] = []
    via_records: list[str] = []
    rows = decode_trace_rows(body, direct)
    decode_trace_request_proto(body, via_records)

    assert direct == via_records and "all-zero" in direct[0]
    assert len(rows) == 3
    with pytest.raises(OtlpDecodeError, match="spanId: all-zero"):
        decode_trace_rows(body)
    with pytest.raises(OtlpDecodeError, match="invalid protobuf body"):
        decode_trace_rows(body[:-3])

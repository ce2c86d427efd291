"""Property-based tests: whatever arrives, the OTLP decoders and the receiver answer, never crash,
and hand the writer only values SQLite holds.

Fast by default (``EXAMPLES`` each, ``LUMOS_HYPOTHESIS_EXAMPLES`` to change it); ``make fuzz``
runs the long version against a live server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lumos_studio.ingest.otlp_answers import JSON, PROTOBUF
from lumos_studio.ingest.otlp_http import OtlpReceiver, Refusal
from lumos_studio.ingest.proto_rows import decode_trace_rows
from lumos_studio.otlp import (
    OtlpDecodeError,
    decode_logs_request,
    decode_logs_request_proto,
    decode_trace_request,
    decode_trace_request_proto,
)
from lumos_studio.otlp._common import INT64_MAX
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.store import StoreWriter
from lumos_studio.store.pending import PendingRows
from tests.studio.ingest_strategies import (
    json_body,
    logs_request_json,
    logs_request_proto,
    trace_request_json,
    trace_request_proto,
)

EXAMPLES = int(os.environ.get("LUMOS_HYPOTHESIS_EXAMPLES", "200"))
FAST = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


def holdable(records: list[Any]) -> None:
    """Records whose times SQLite holds, which become rows without a failure."""
    for record in records:
        if isinstance(record, SpanRecord):
            assert 0 <= record.start_ns <= INT64_MAX
            assert record.end_ns is None or 0 < record.end_ns <= INT64_MAX
            dict(record.attributes)  # attributes left encoded decode without raising
            tuple(record.events)
        else:
            assert isinstance(record, LogRecord)
            assert 0 <= record.time_ns <= INT64_MAX
    assert PendingRows.of(records).dropped == 0


@FAST
@given(body=st.one_of(trace_request_proto(), st.binary(max_size=200)))
def test_protobuf_trace_decoding_raises_only_decode_errors(body: bytes) -> None:
    rejected: list[str] = []
    try:
        records = decode_trace_request_proto(body, rejected)
    except OtlpDecodeError:
        with pytest.raises(OtlpDecodeError):
            decode_trace_rows(body, [])
        return
    holdable(records)
    rows = decode_trace_rows(body, [])
    assert rows.spans == PendingRows.of(records).spans


@FAST
@given(obj=trace_request_json)
def test_json_trace_decoding_raises_only_decode_errors(obj: Any) -> None:
    try:
        records = decode_trace_request(obj, [])
    except OtlpDecodeError:
        return
    holdable(records)


@FAST
@given(body=st.one_of(logs_request_proto(), st.binary(max_size=200)))
def test_protobuf_logs_decoding_raises_only_decode_errors(body: bytes) -> None:
    try:
        records = decode_logs_request_proto(body, [])
    except OtlpDecodeError:
        return
    holdable(records)


@FAST
@given(obj=logs_request_json)
def test_json_logs_decoding_raises_only_decode_errors(obj: Any) -> None:
    try:
        records = decode_logs_request(obj, [])
    except OtlpDecodeError:
        return
    holdable(records)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[OtlpReceiver]:
    writer = StoreWriter(tmp_path / "fuzzed.db").start()
    opened = OtlpReceiver(writer, port=0, max_body=1 << 16)  # bound, never started: handle only
    yield opened
    opened.stop()
    writer.close()


bodies = st.one_of(
    st.tuples(st.just("traces"), st.just(PROTOBUF), trace_request_proto()),
    st.tuples(st.just("logs"), st.just(PROTOBUF), logs_request_proto()),
    st.tuples(st.just("traces"), st.just(JSON), trace_request_json.map(json_body)),
    st.tuples(st.just("logs"), st.just(JSON), logs_request_json.map(json_body)),
    st.tuples(st.sampled_from(["traces", "logs"]), st.sampled_from([PROTOBUF, JSON]),
              st.binary(max_size=100)),
)


@FAST
@given(request=bodies)
def test_the_receiver_answers_every_request_and_the_writer_never_meets_a_poison(
    receiver: OtlpReceiver, request: tuple[str, str, bytes]
) -> None:
    signal_name, media, body = request
    writer = receiver.writer
    before = (writer.rejected, writer.failed_batches, writer.dropped)
    try:
        answer, rejected = receiver.handle(signal_name, media, body)
    except Refusal as refusal:
        assert refusal.status in (400, 413, 415, 503) and refusal.message.strip()
    else:
        assert isinstance(answer, bytes) and rejected >= 0
    assert (writer.rejected, writer.failed_batches, writer.dropped) == before

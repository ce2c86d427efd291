"""OTLP/protobuf codec: round trips, agreement with the JSON codec, and rejecting bad bodies."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from lumos_core.telemetry import semconv as sc
from lumos_studio.otlp import (
    OtlpDecodeError,
    decode_trace_request,
    decode_trace_request_proto,
    encode_trace_request,
    encode_trace_request_proto,
    proto_codec,
)
from lumos_studio.otlp._common import KIND_TO_OTLP, STATUS_TO_OTLP
from lumos_studio.records import SpanEvent, SpanRecord

TRACE_ID = "5b8efff798038103d269b633813fc60c"
ROOT_ID = "eee19b7ec3c1b173"
CHILD_ID = "eee19b7ec3c1b174"


def make_span(**overrides: Any) -> SpanRecord:
    """A finished child span with nested values; override what a test is about."""
    fields: dict[str, Any] = {
        "trace_id": TRACE_ID,
        "span_id": CHILD_ID,
        "parent_span_id": ROOT_ID,
        "name": "execute_tool search",
        "start_ns": 1_700_000_000_000_000_000,
        "end_ns": 1_700_000_000_250_000_000,
        "kind": "SERVER",
        "status_code": "OK",
        "status_message": "",
        "attributes": {
            "s": "text",
            "i": -(2**63),
            "f": 1.5,
            "b": False,
            "arr": [1, "x", [2.5, None]],
            "kv": {"inner": {"deeper": [True]}, "empty": {}},
            "none": None,
        },
        "events": (SpanEvent("retry", 1_700_000_000_100_000_000, {"attempt": 2}),),
        "resource": {"service.name": "demo"},
        "scope_name": "lumos_core",
        "scope_version": "0.1.0",
    }
    fields.update(overrides)
    return SpanRecord(**fields)


def sample_records() -> list[SpanRecord]:
    return [
        make_span(span_id=ROOT_ID, parent_span_id=None, kind="INTERNAL", status_code="UNSET"),
        make_span(),
        make_span(span_id="a" * 16, end_ns=None, status_code="ERROR", status_message="timeout"),
        make_span(span_id="b" * 16, resource={"service.name": "other"}, scope_name=""),
    ]


def raw_request(**span_fields: Any) -> bytes:
    """A hand-built protobuf body with one span, for inputs the encoder would never produce."""
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = bytes.fromhex(TRACE_ID)
    span.span_id = bytes.fromhex(CHILD_ID)
    span.name = "raw"
    for key, value in span_fields.items():
        setattr(span, key, value)
    body: bytes = request.SerializeToString()
    return body


def test_round_trip() -> None:
    records = sample_records()
    assert decode_trace_request_proto(encode_trace_request_proto(records)) == records


def test_records_of_one_resource_share_one_resource_dict() -> None:
    decoded = decode_trace_request_proto(encode_trace_request_proto(sample_records()))
    assert decoded[0].resource is decoded[1].resource


def test_protobuf_and_json_codecs_agree() -> None:
    blob = make_span(span_id="c" * 16, attributes={"blob": b"\x01\x02"})
    records = [*sample_records(), blob]
    from_proto = decode_trace_request_proto(encode_trace_request_proto(records))
    from_json = decode_trace_request(encode_trace_request(records))
    assert from_proto == from_json
    [decoded_blob] = [record for record in from_proto if record.span_id == blob.span_id]
    assert decoded_blob.attributes == {"blob": b"\x01\x02"}


def test_enum_tables_match_the_generated_protobuf() -> None:
    for name, code in KIND_TO_OTLP.items():
        assert Span.SpanKind.Value(f"SPAN_KIND_{name}") == code
    for name, code in STATUS_TO_OTLP.items():
        assert Status.StatusCode.Value(f"STATUS_CODE_{name}") == code


def test_unspecified_kind_reads_as_internal_and_zero_parent_as_root() -> None:
    [record] = decode_trace_request_proto(raw_request(parent_span_id=bytes(8)))
    assert (record.kind, record.parent_span_id, record.end_ns) == ("INTERNAL", None, None)


def test_truncated_body_raises() -> None:
    body = encode_trace_request_proto(sample_records())
    for cut in (1, len(body) // 2, len(body) - 1):
        with pytest.raises(OtlpDecodeError, match="invalid protobuf body"):
            decode_trace_request_proto(body[:cut])


def test_garbage_body_raises() -> None:
    with pytest.raises(OtlpDecodeError):
        decode_trace_request_proto(b"\xff\xff\xff\xff")


def test_empty_body_is_an_empty_request() -> None:
    assert decode_trace_request_proto(b"") == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"trace_id": b"\x01" * 15}, r"traceId: invalid id .*15 bytes, expected 16"),
        ({"trace_id": b""}, "traceId: missing"),
        ({"trace_id": bytes(16)}, "traceId: all-zero"),
        ({"span_id": b"\x01" * 9}, r"spanId: invalid id .*9 bytes, expected 8"),
        ({"parent_span_id": b"\x01" * 4}, r"parentSpanId: invalid id .*4 bytes, expected 8"),
        ({"kind": 7}, "unknown span kind 7"),
    ],
)
def test_invalid_fields_raise_with_position(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(OtlpDecodeError, match=r"resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]"):
        decode_trace_request_proto(raw_request(**fields))
    with pytest.raises(OtlpDecodeError, match=message):
        decode_trace_request_proto(raw_request(**fields))


def test_hot_values_read_twice_are_equal_and_composites_are_never_shared() -> None:
    attributes = {sc.OPERATION_NAME: "chat", sc.USAGE_INPUT_TOKENS: [1, {"k": "v"}]}
    body = encode_trace_request_proto(
        [make_span(attributes=attributes), make_span(span_id="c" * 16, attributes=attributes)]
    )
    first, second = decode_trace_request_proto(body)

    assert first.attributes.get(sc.OPERATION_NAME) == "chat"
    assert first.attributes.get(sc.USAGE_INPUT_TOKENS) == [1, {"k": "v"}]
    first.attributes.get(sc.USAGE_INPUT_TOKENS).append("changed")
    assert second.attributes.get(sc.USAGE_INPUT_TOKENS) == [1, {"k": "v"}]


def test_remembered_hot_values_stay_bounded() -> None:
    conversations = [f"conversation-{n}" for n in range(proto_codec._KNOWN_VALUES_MAX + 10)]
    body = encode_trace_request_proto(
        [make_span(span_id=f"{n + 1:016x}", attributes={sc.CONVERSATION_ID: conversation})
         for n, conversation in enumerate(conversations)]
    )
    records = decode_trace_request_proto(body)

    assert [r.attributes.get(sc.CONVERSATION_ID) for r in records] == conversations
    assert len(proto_codec._KNOWN_VALUES) <= proto_codec._KNOWN_VALUES_MAX

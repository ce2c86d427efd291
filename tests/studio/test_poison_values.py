"""Finding 3: a value SQLite or the UI cannot hold costs its own span (or attribute), no more.

Each test sends one poison value next to a good span and checks the good one is kept and the
poison is rejected with a reason (or kept in a form the store holds), as far as the store.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue

from lumos_core.telemetry import semconv as sc
from lumos_studio.ingest.live_spans import started_span_from_log
from lumos_studio.ingest.proto_rows import decode_trace_rows
from lumos_studio.otlp import decode_logs_request, decode_logs_request_proto, decode_trace_request
from lumos_studio.otlp.proto_codec import decode_trace_request_proto
from lumos_studio.records import LogRecord
from lumos_studio.store import Store
from lumos_studio.store.pending import PendingRows
from tests.builders import T0, make_span

TRACE = "0af7651916cd43dd8448eb211c80319c"
GOOD, POISON = "b7ad6b7169203331", "b7ad6b7169203332"
U64_MAX = 2**64 - 1


def proto_request(*spans: dict[str, Any]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for fields in spans:
        span = scope.spans.add(trace_id=bytes.fromhex(TRACE), name="ok", start_time_unix_nano=T0,
                               end_time_unix_nano=T0 + 1)
        for key, value in fields.items():
            setattr(span, key, value)
    return request


def json_span(span_id: str, **fields: Any) -> dict[str, Any]:
    return {"traceId": TRACE, "spanId": span_id, "name": "ok", "startTimeUnixNano": str(T0),
            "endTimeUnixNano": str(T0 + 1), **fields}


def json_request(*spans: dict[str, Any], resource: list[Any] | None = None) -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {"attributes": resource or []},
                               "scopeSpans": [{"spans": list(spans)}]}]}


def commit(store: Store, rows: PendingRows) -> None:
    assert store.writer.commit_rows(rows)


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"start_time_unix_nano": U64_MAX}, "startTimeUnixNano"),
     ({"start_time_unix_nano": 2**63}, "startTimeUnixNano"),
     ({"end_time_unix_nano": U64_MAX}, "endTimeUnixNano")],
)
def test_a_protobuf_time_past_int64_rejects_its_span_alone(
    store: Store, fields: dict[str, int], field: str
) -> None:
    body = proto_request({"span_id": bytes.fromhex(GOOD)},
                         {"span_id": bytes.fromhex(POISON), **fields}).SerializeToString()
    rejected: list[str] = []
    rows = decode_trace_rows(body, rejected)
    assert len(rejected) == 1 and field in rejected[0] and "2262" in rejected[0]
    assert [key[1] for key in rows.spans] == [GOOD]
    records_rejected: list[str] = []
    assert [r.span_id for r in decode_trace_request_proto(body, records_rejected)] == [GOOD]
    assert records_rejected == rejected

    commit(store, rows)
    assert [s.span_id for s in store.reader.trace_spans(TRACE)] == [GOOD]


@pytest.mark.parametrize(
    "start", [1e30, 1e300, -1, "-5", str(U64_MAX), "9" * 40, 2**63], ids=repr
)
def test_a_json_time_sqlite_cannot_hold_rejects_its_span_alone(store: Store, start: Any) -> None:
    request = json_request(json_span(GOOD), json_span(POISON, startTimeUnixNano=start))
    rejected: list[str] = []
    records = decode_trace_request(request, rejected)
    assert [r.span_id for r in records] == [GOOD]
    assert len(rejected) == 1 and "startTimeUnixNano" in rejected[0]

    commit(store, PendingRows.of(records))
    assert [s.span_id for s in store.reader.trace_spans(TRACE)] == [GOOD]


def test_json_event_and_end_times_are_bounded_too() -> None:
    request = json_request(
        json_span(GOOD),
        json_span(POISON, endTimeUnixNano=1e30),
        json_span("b7ad6b7169203333", events=[{"name": "e", "timeUnixNano": "1" + "0" * 30}]),
    )
    rejected: list[str] = []
    assert [r.span_id for r in decode_trace_request(request, rejected)] == [GOOD]
    assert "endTimeUnixNano" in rejected[0] and "events.timeUnixNano" in rejected[1]


def test_a_json_int_value_beyond_int64_is_kept_not_fatal(store: Store) -> None:
    attributes = [
        {"key": "float", "value": {"intValue": 1e30}},
        {"key": "digits", "value": {"intValue": "1" + "0" * 30}},
        {"key": "fine", "value": {"intValue": "7"}},
        {"key": sc.USAGE_INPUT_TOKENS, "value": {"intValue": str(2**64)}},
    ]
    request = json_request(json_span(GOOD, attributes=attributes),
                           resource=[{"key": "big", "value": {"intValue": 1e300}}])
    rejected: list[str] = []
    [record] = decode_trace_request(request, rejected)
    assert not rejected
    assert record.attributes["float"] == 1e30 and record.attributes["fine"] == 7
    assert record.attributes["digits"] == "1" + "0" * 30
    assert record.resource["big"] == 1e300

    commit(store, PendingRows.of([record]))
    [stored] = store.reader.trace_spans(TRACE)
    assert stored.attributes["digits"] == "1" + "0" * 30
    assert stored.attributes[sc.USAGE_INPUT_TOKENS] == str(2**64)


def test_invalid_utf8_in_a_protobuf_name_keeps_the_span(store: Store) -> None:
    request = proto_request({"span_id": bytes.fromhex(GOOD), "name": "bad ? name"})
    request.resource_spans[0].scope_spans[0].spans[0].status.message = "why ? not"
    body = request.SerializeToString().replace(b"bad ? name", b"bad \xff name")
    body = body.replace(b"why ? not", b"why \xfe not")

    rejected: list[str] = []
    rows = decode_trace_rows(body, rejected)
    assert not rejected
    [record] = decode_trace_request_proto(body)
    assert record.name == "bad \ufffd name" and record.status_message == "why \ufffd not"

    commit(store, rows)
    [stored] = store.reader.trace_spans(TRACE)
    assert stored.name == "bad \ufffd name"


def test_a_list_where_a_hot_attribute_belongs_is_stored_as_text(store: Store) -> None:
    request = proto_request({"span_id": bytes.fromhex(GOOD)})
    listed = AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1)]))
    request.resource_spans[0].scope_spans[0].spans[0].attributes.extend(
        [KeyValue(key=sc.TOOL_NAME, value=listed), KeyValue(key=sc.AGENT_NAME,
                                                            value=AnyValue(string_value="a"))]
    )
    rows = decode_trace_rows(request.SerializeToString())

    commit(store, rows)
    [stored] = store.reader.trace_spans(TRACE)
    assert stored.attributes[sc.TOOL_NAME] == [1]  # the attribute itself is as sent
    summary = store.reader.list_traces()[0]
    assert summary.agent_name == "a"


def test_log_times_past_int64_reject_their_record_alone() -> None:
    request = ExportLogsServiceRequest()
    logs = request.resource_logs.add().scope_logs.add().log_records
    logs.add(time_unix_nano=T0).body.string_value = "good"
    logs.add(time_unix_nano=U64_MAX).body.string_value = "poison"
    logs.add(time_unix_nano=T0, observed_time_unix_nano=2**63).body.string_value = "poison"
    rejected: list[str] = []
    records = decode_logs_request_proto(request.SerializeToString(), rejected)
    assert [r.body for r in records] == ["good"] and len(rejected) == 2

    as_json = {"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"timeUnixNano": str(T0), "body": {"intValue": 1e30}},
        {"timeUnixNano": 1e30, "body": {"stringValue": "poison"}},
    ]}]}]}
    rejected = []
    [log] = decode_logs_request(as_json, rejected)
    assert log.body == 1e30 and "timeUnixNano" in rejected[0]
    orjson.dumps(log.body)  # storable


def test_a_started_event_with_a_huge_start_time_starts_at_the_event() -> None:
    event = LogRecord(time_ns=T0, event_name=sc.EVENT_SPAN_STARTED, trace_id=TRACE,
                      span_id=GOOD, body={"name": "step", "start_time_unix_nano": "9" * 30})
    span = started_span_from_log(event)
    assert span is not None and span.start_ns == T0
    odd_digits = LogRecord(time_ns=T0, event_name=sc.EVENT_SPAN_STARTED, trace_id=TRACE,
                           span_id=GOOD, body={"name": "step", "start_time_unix_nano": "²"})
    assert started_span_from_log(odd_digits) is not None


def test_in_process_values_past_int64_or_with_lone_surrogates_keep_their_span(
    store: Store,
) -> None:
    """Records from in-process code skip the decoders: the row is mended, not lost."""
    span = make_span("in process", trace_id=TRACE, span_id=GOOD, attributes={
        "big": 2**70, "nested": [{"bigger": -(2**80)}], "text": "a\udc80b",
        sc.USAGE_INPUT_TOKENS: 2**64, sc.TOOL_NAME: ["not", "a", "name"],
    })
    rows = PendingRows.of([span])
    assert not rows.dropped
    commit(store, rows)

    [stored] = store.reader.trace_spans(TRACE)
    assert stored.attributes["big"] == str(2**70)
    assert stored.attributes["nested"] == [{"bigger": str(-(2**80))}]
    assert stored.attributes["text"] == "a\ufffdb"
    assert stored.attributes[sc.USAGE_INPUT_TOKENS] == str(2**64)


def test_a_service_name_that_is_not_text_is_stored_as_text(store: Store) -> None:
    request = proto_request({"span_id": bytes.fromhex(GOOD)})
    service = AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="svc")]))
    request.resource_spans[0].resource.attributes.append(
        KeyValue(key="service.name", value=service))
    commit(store, decode_trace_rows(request.SerializeToString()))
    as_json = {"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"kvlistValue": {}}}]},
        "scopeLogs": [{"logRecords": [{"timeUnixNano": str(T0), "body": {"stringValue": "x"}}]}],
    }]}
    commit(store, PendingRows.of(decode_logs_request(as_json)))

    assert store.reader.list_traces()[0].service_name == '["svc"]'
    assert [log.body for log in store.reader.logs()] == ["x"]
    assert store.writer.rejected == 0


def test_an_operation_that_is_a_list_keeps_its_span_and_the_batch(store: Store) -> None:
    request = proto_request({"span_id": bytes.fromhex(GOOD), "parent_span_id": b"\1" * 8})
    listed = AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="chat")]))
    request.resource_spans[0].scope_spans[0].spans[0].attributes.append(
        KeyValue(key=sc.OPERATION_NAME, value=listed))
    records = decode_trace_request_proto(request.SerializeToString())

    commit(store, PendingRows.of(records))  # the records path reads the operation too
    [stored] = store.reader.trace_spans(TRACE)
    assert stored.attributes[sc.OPERATION_NAME] == ["chat"]

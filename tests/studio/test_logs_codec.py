"""OTLP logs codec (JSON and protobuf), started-span events, and files that mix spans and logs."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from lumos_core.telemetry import semconv as sc
from lumos_studio.ingest.live_spans import split_started, started_span_from_log
from lumos_studio.otlp import (
    OtlpDecodeError,
    decode_logs_request,
    decode_logs_request_proto,
    encode_lines,
    encode_log_lines,
    encode_logs_request,
    encode_logs_request_proto,
    read_file,
    read_lines,
    read_records,
)
from lumos_studio.records import LogRecord
from tests.builders import T0, make_span

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b173"
RESOURCE = {"service.name": "worker"}


def make_log(**overrides: Any) -> LogRecord:
    fields: dict[str, Any] = {
        "time_ns": T0,
        "body": "hello",
        "severity_number": 9,
        "severity_text": "INFO",
        "trace_id": TRACE_ID,
        "span_id": SPAN_ID,
        "attributes": {"code.line.number": 12, "tags": ["a", "b"]},
        "resource": RESOURCE,
        "scope_name": "agents",
        "observed_time_ns": T0 + 5,
    }
    fields.update(overrides)
    return LogRecord(**fields)


def started_event(span_id: str = "a000000000000002", **body: Any) -> LogRecord:
    fields: dict[str, Any] = {
        "name": "chat scripted",
        "kind": "CLIENT",
        "parent_span_id": "a000000000000001",
        "start_time_unix_nano": str(T0 + 7),
        "attributes": {sc.OPERATION_NAME: "chat"},
    }
    fields.update(body)
    return make_log(
        body=fields, event_name=sc.EVENT_SPAN_STARTED, span_id=span_id, severity_number=0,
        severity_text="", attributes={},
    )


def request_with(*logs: dict[str, Any]) -> dict[str, Any]:
    scope_logs = {"scope": {"name": "s"}, "logRecords": list(logs)}
    return {"resourceLogs": [{"resource": {}, "scopeLogs": [scope_logs]}]}


BODIES = [
    "text",
    42,
    -(2**62),
    0.5,
    True,
    None,
    ["a", 1, None, [False]],
    {"role": "user", "parts": [{"type": "text"}], "empty": {}},
    base64.b64encode(b"\x00\xffbytes").decode(),  # bytes read back as their base64 text
]


# ------------------------------------------------------------------------------------ round trip


@pytest.mark.parametrize("body", BODIES)
def test_json_and_protobuf_round_trip_any_body(body: Any) -> None:
    records = [
        make_log(body=body),
        make_log(body=body, trace_id=None, span_id=None, event_name="lumos.memory.add",
                 resource={"service.name": "other"}, scope_name=""),
    ]
    line = orjson.loads(next(encode_log_lines(records)))
    assert decode_logs_request(line) == records
    assert decode_logs_request_proto(encode_logs_request_proto(records)) == records


def test_encoding_groups_by_resource_and_scope_and_follows_otlp_json_rules() -> None:
    records = [make_log(), make_log(scope_name="other"), make_log(resource={"a": 1})]
    request = encode_logs_request(records)
    assert len(request["resourceLogs"]) == 2
    assert [s["scope"] for s in request["resourceLogs"][0]["scopeLogs"]] == [
        {"name": "agents"},
        {"name": "other"},
    ]
    log = request["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    assert log["timeUnixNano"] == str(T0) and log["traceId"] == TRACE_ID
    assert log["severityNumber"] == 9 and log["body"] == {"stringValue": "hello"}
    assert len(list(encode_log_lines(records * 3, batch_size=4))) == 3


# ------------------------------------------------------------------------------ lenient JSON


def test_json_reader_is_lenient_like_the_span_reader() -> None:
    raw_span = bytes.fromhex(SPAN_ID)
    request = request_with(
        {
            "time_unix_nano": T0,  # snake_case, int64 as a number
            "observedTimeUnixNano": str(T0 + 1),
            "severityNumber": "SEVERITY_NUMBER_WARN",
            "severityText": "WARNING",
            "traceId": TRACE_ID.upper(),
            "spanId": base64.b64encode(raw_span).decode(),
            "eventName": "lumos.memory.add",
            "body": {"kvlistValue": {"values": [{"key": "k", "value": {"intValue": "7"}}]}},
            "attributes": [{"key": "n", "value": {"doubleValue": "NaN"}}],
        },
        {"severityNumber": "error2", "observedTimeUnixNano": "99", "traceId": "", "spanId": None},
        {},  # every field is optional
    )
    first, second, third = decode_logs_request(request)
    assert (first.time_ns, first.observed_time_ns) == (T0, T0 + 1)
    assert (first.severity_number, first.severity_text) == (13, "WARNING")
    assert (first.trace_id, first.span_id) == (TRACE_ID, SPAN_ID)
    assert first.event_name == "lumos.memory.add" and first.body == {"k": 7}
    assert first.attributes["n"] != first.attributes["n"]  # NaN
    assert (second.severity_number, second.time_ns, second.trace_id) == (18, 99, None)
    assert third == LogRecord(time_ns=0, body=None, scope_name="s")


def test_all_zero_ids_mean_no_span() -> None:
    [log] = decode_logs_request(request_with({"traceId": "0" * 32, "spanId": "0" * 16}))
    assert log.trace_id is None and log.span_id is None
    proto = ExportLogsServiceRequest()
    record = proto.resource_logs.add().scope_logs.add().log_records.add()
    record.trace_id = bytes(16)
    record.span_id = bytes(8)
    [log] = decode_logs_request_proto(proto.SerializeToString())
    assert log.trace_id is None and log.span_id is None


@pytest.mark.parametrize(
    ("log", "message"),
    [
        ({"traceId": "abc"}, "logRecords[1]: traceId: invalid id 'abc'"),
        ({"spanId": "zz" * 8}, "spanId: invalid id"),
        ({"severityNumber": 25}, "out of range"),
        ({"severityNumber": "LOUD"}, "severityNumber: unknown value 'LOUD'"),
        ({"timeUnixNano": "soon"}, "timeUnixNano: not an integer"),
        ({"body": {"boolValue": "yes"}}, "boolValue"),
        ({"attributes": "nope"}, "expected a list"),
        ("not an object", "expected an object"),
    ],
)
def test_json_errors_name_the_record_and_field(log: Any, message: str) -> None:
    request = request_with({"body": {"stringValue": "fine"}}, log)
    with pytest.raises(OtlpDecodeError, match="resourceLogs") as caught:
        decode_logs_request(request)
    assert message in str(caught.value)

    rejected: list[str] = []
    kept = decode_logs_request(request, rejected)
    assert [r.body for r in kept] == ["fine"] and len(rejected) == 1 and message in rejected[0]


@pytest.mark.parametrize("request_obj", [[], {"resourceLogs": {}}, {"resourceLogs": [1]}])
def test_broken_envelopes_raise_even_when_collecting_rejections(request_obj: Any) -> None:
    with pytest.raises(OtlpDecodeError):
        decode_logs_request(request_obj, [])


# --------------------------------------------------------------------------------- protobuf


def test_protobuf_errors() -> None:
    body = encode_logs_request_proto([make_log(), make_log(body="second")])
    with pytest.raises(OtlpDecodeError, match="invalid protobuf body"):
        decode_logs_request_proto(body[:-3])

    proto = ExportLogsServiceRequest.FromString(body)
    proto.resource_logs[0].scope_logs[0].log_records[0].span_id = b"\x01\x02"
    with pytest.raises(OtlpDecodeError, match=r"logRecords\[0\]: spanId: invalid id '0102'"):
        decode_logs_request_proto(proto.SerializeToString())
    rejected: list[str] = []
    assert [r.body for r in decode_logs_request_proto(proto.SerializeToString(), rejected)] == [
        "second"
    ]
    assert len(rejected) == 1


def test_protobuf_time_falls_back_to_observed_time() -> None:
    proto = ExportLogsServiceRequest.FromString(encode_logs_request_proto([make_log(time_ns=0)]))
    [log] = decode_logs_request_proto(proto.SerializeToString())
    assert log.time_ns == log.observed_time_ns == T0 + 5


# ------------------------------------------------------------------------- started-span events


def test_started_event_becomes_a_running_span() -> None:
    span = started_span_from_log(started_event())
    assert span is not None and span.running
    assert (span.trace_id, span.span_id, span.parent_span_id) == (
        TRACE_ID, "a000000000000002", "a000000000000001",
    )
    assert (span.name, span.kind, span.start_ns) == ("chat scripted", "CLIENT", T0 + 7)
    assert span.attributes == {sc.OPERATION_NAME: "chat"}
    assert span.resource == RESOURCE and span.scope_name == "agents"


@pytest.mark.parametrize(
    ("body", "expected_kind", "expected_parent", "expected_start"),
    [
        ({"kind": 3, "parent_span_id": None}, "CLIENT", None, T0 + 7),
        ({"kind": "SPAN_KIND_SERVER", "parent_span_id": "0" * 16}, "SERVER", None, T0 + 7),
        ({"kind": None, "start_time_unix_nano": None, "attributes": None}, "INTERNAL",
         "a000000000000001", T0),
    ],
)
def test_started_event_variants(
    body: dict[str, Any], expected_kind: str, expected_parent: str | None, expected_start: int
) -> None:
    span = started_span_from_log(started_event(**body))
    assert span is not None
    assert (span.kind, span.parent_span_id, span.start_ns) == (
        expected_kind, expected_parent, expected_start,
    )


@pytest.mark.parametrize(
    "log",
    [
        make_log(),  # not the event
        started_event(name=""),
        started_event(name=3),
        started_event(kind="SIDEWAYS"),
        started_event(parent_span_id="nope"),
        started_event(attributes=["x"]),
        make_log(event_name=sc.EVENT_SPAN_STARTED, body="started"),
        make_log(event_name=sc.EVENT_SPAN_STARTED, body={"name": "x"}, span_id=None),
    ],
)
def test_anything_else_stays_a_log(log: LogRecord) -> None:
    assert started_span_from_log(log) is None
    assert split_started([log]) == ([], [log])


# ------------------------------------------------------------------------------------- files


def test_files_mixing_spans_and_logs_read_both_and_started_events_as_spans(
    tmp_path: Path,
) -> None:
    finished = make_span("chat scripted", trace_id=TRACE_ID, span_id="a000000000000003")
    logs = [make_log(), started_event(), make_log(body="after")]
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        "".join(encode_lines([finished]))
        + "".join(encode_log_lines(logs, batch_size=2))
        + '{"resourceMetrics": []}\n'
        + '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "abc"}]}]}]}\n'
    )

    records = read_records(path)

    assert [s.span_id for s in records.spans] == ["a000000000000003", "a000000000000002"]
    assert records.spans[1].running
    assert [log.body for log in records.logs] == ["hello", "after"]
    assert [p.line_number for p in records.problems] == [5]
    assert read_file(path) == (records.spans, records.problems)

    lines = list(read_lines(path.read_text().splitlines()))
    assert [(d.line_number, len(d.spans), len(d.logs)) for d in lines] == [
        (1, 1, 0), (2, 1, 1), (3, 0, 1),
    ]

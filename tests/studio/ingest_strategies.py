"""Hypothesis strategies for OTLP requests, valid and hostile: the property tests and the fuzz
bench (``bench/fuzz.py``) draw from them.

They aim at the edges a decoder must bound: ids of every length, times up to 2^64 - 1 (and, in
JSON, 1e300, negatives, 40-digit strings), ints past int64, enums out of range, invalid UTF-8
(protobuf bytes mutated after encoding), lists where a name belongs, and JSON of the wrong shape.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from lumos_core.telemetry import semconv as sc
from lumos_studio.otlp.json_encode import attributes_to_json
from lumos_studio.otlp.proto_encode import set_any, set_attributes

T0 = 1_764_000_000_000_000_000
U64_MAX = 2**64 - 1

HOT_KEYS = [sc.OPERATION_NAME, sc.AGENT_NAME, sc.REQUEST_MODEL, sc.TOOL_NAME,
            sc.USAGE_INPUT_TOKENS, sc.USAGE_OUTPUT_TOKENS, sc.CONVERSATION_ID, "service.name"]
names = st.one_of(st.text(max_size=12), st.sampled_from(["[/] x", "\x1b[2J", "a\u202eb", ""]))
keys = st.one_of(st.sampled_from(HOT_KEYS), names)
nanos = st.one_of(st.just(T0), st.integers(0, U64_MAX), st.just(U64_MAX), st.just(2**63))
# Mostly valid, so that most spans get as far as the values behind their ids.


def _nonzero(size: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=size, max_size=size).map(
        lambda raw: raw if raw.strip(b"\0") else raw[:-1] + b"\1")


trace_ids = st.one_of(*[_nonzero(16)] * 3, st.binary(max_size=17))
span_ids = st.one_of(*[_nonzero(8)] * 3, st.binary(max_size=9))
small_enums = st.one_of(*[st.integers(0, 2)] * 3, st.integers(-2, 30))

# Attribute values as Python values, as a producer's SDK would hold them.
plain_values = st.recursive(
    st.one_of(st.none(), st.booleans(), names, st.integers(-(2**63), 2**63 - 1),
              st.floats(allow_nan=True)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(names, inner, max_size=3)),
    max_leaves=6,
)
attributes = st.dictionaries(keys, plain_values, max_size=4)

# ----------------------------------------------------------------------------------- protobuf


@st.composite
def mutated(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` with a few bytes overwritten (invalid UTF-8, bad tags, cut lengths) or cut."""
    data = bytearray(body)
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        where = draw(st.integers(0, len(data) - 1))
        data[where] = draw(st.sampled_from([0xFF, 0xFE, 0x80, 0x00, 0x7F, 0x0A, 0x39]))
    if data and draw(st.booleans()) and draw(st.booleans()):
        del data[draw(st.integers(0, len(data) - 1)):]
    return bytes(data)


@st.composite
def trace_request_proto(draw: st.DrawFn) -> bytes:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(1, 2))):
        resource_spans = request.resource_spans.add()
        set_attributes(resource_spans.resource.attributes, draw(attributes))
        scope = resource_spans.scope_spans.add()
        scope.scope.name = draw(names)
        for _ in range(draw(st.integers(0, 4))):
            span = scope.spans.add()
            span.trace_id = draw(trace_ids)
            span.span_id = draw(span_ids)
            span.parent_span_id = draw(st.one_of(st.just(b""), span_ids))
            span.name = draw(names)
            span.kind = draw(small_enums)  # type: ignore[assignment]
            span.start_time_unix_nano = draw(nanos)
            span.end_time_unix_nano = draw(st.one_of(st.just(0), nanos))
            set_attributes(span.attributes, draw(attributes))
            for _ in range(draw(st.integers(0, 2))):
                event = span.events.add(name=draw(names), time_unix_nano=draw(nanos))
                set_attributes(event.attributes, draw(attributes))
            span.status.code = draw(small_enums)  # type: ignore[assignment]
            span.status.message = draw(names)
    body = request.SerializeToString()
    return draw(st.one_of(st.just(body), mutated(body)))


@st.composite
def logs_request_proto(draw: st.DrawFn) -> bytes:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    set_attributes(resource_logs.resource.attributes, draw(attributes))
    scope = resource_logs.scope_logs.add()
    for _ in range(draw(st.integers(0, 4))):
        log = scope.log_records.add()
        log.time_unix_nano = draw(st.one_of(st.just(0), nanos))
        log.observed_time_unix_nano = draw(st.one_of(st.just(0), nanos))
        log.severity_number = draw(small_enums)  # type: ignore[assignment]
        log.trace_id = draw(trace_ids)
        log.span_id = draw(span_ids)
        if draw(st.booleans()):  # a "span started" event, which becomes a running span
            log.event_name = sc.EVENT_SPAN_STARTED
            set_any(log.body, {"name": draw(names), "kind": draw(plain_values),
                               "start_time_unix_nano": draw(st.one_of(
                                   st.integers(-(2**63), 2**63 - 1),
                                   st.sampled_from(["9" * 30, "²", "-1"]))),
                               "parent_span_id": draw(st.one_of(st.none(), names)),
                               "attributes": draw(st.one_of(attributes, plain_values))})
        else:
            set_any(log.body, draw(plain_values))
        set_attributes(log.attributes, draw(attributes))
    body = request.SerializeToString()
    return draw(st.one_of(st.just(body), mutated(body)))


# --------------------------------------------------------------------------------------- JSON

json_numbers = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e30, 1e300, -1, 2**63, U64_MAX, T0]),
)
json_scalars = st.one_of(
    st.none(), st.booleans(), json_numbers, names,
    st.sampled_from(["1e30", "9" * 40, str(U64_MAX), "-5", "NaN", "SPAN_KIND_SERVER",
                     "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "AAAAAAAAAAE="]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(names, inner,
                                                                         max_size=3)),
    max_leaves=6,
)
json_any = st.deferred(lambda: st.one_of(
    st.fixed_dictionaries({"stringValue": st.one_of(names, json_values)}),
    st.fixed_dictionaries({"intValue": st.one_of(json_numbers, json_scalars)}),
    st.fixed_dictionaries({"doubleValue": st.one_of(json_numbers, json_scalars)}),
    st.fixed_dictionaries({"boolValue": json_scalars}),
    st.fixed_dictionaries({"bytesValue": json_scalars}),
    st.fixed_dictionaries({"arrayValue": st.fixed_dictionaries(
        {"values": st.lists(json_any, max_size=2)})}),
    st.fixed_dictionaries({"kvlistValue": st.fixed_dictionaries(
        {"values": st.lists(json_kv, max_size=2)})}),
    json_values,
))
json_kv = st.fixed_dictionaries({"key": st.one_of(keys, keys, json_scalars), "value": json_any})
json_attributes = st.one_of(
    attributes.map(attributes_to_json), st.lists(json_kv, max_size=4), json_values
)
json_trace_ids = st.one_of(*[trace_ids.map(bytes.hex)] * 3, json_scalars)
json_span_ids = st.one_of(*[span_ids.map(bytes.hex)] * 3, json_scalars)
json_enums = st.one_of(small_enums, json_scalars)
json_times = st.one_of(st.just(str(T0)), json_numbers, json_scalars)


def _optional(**fields: Any) -> Any:
    return st.fixed_dictionaries({}, optional=fields)


json_span = st.fixed_dictionaries({"traceId": json_trace_ids, "spanId": json_span_ids}, optional={
    "parentSpanId": json_span_ids, "name": st.one_of(names, json_values), "kind": json_enums,
    "startTimeUnixNano": json_times, "endTimeUnixNano": json_times,
    "attributes": json_attributes,
    "status": _optional(code=json_enums, message=st.one_of(names, json_scalars)),
    "events": st.lists(_optional(name=st.one_of(names, json_scalars), timeUnixNano=json_times,
                                 attributes=json_attributes), max_size=2),
})
json_log = _optional(
    timeUnixNano=json_times, observedTimeUnixNano=json_times, severityNumber=json_enums,
    severityText=json_scalars, body=json_any, attributes=json_attributes,
    traceId=json_trace_ids, spanId=json_span_ids,
    eventName=st.one_of(st.just(sc.EVENT_SPAN_STARTED), json_scalars),
)
trace_request_json = st.one_of(
    *[st.fixed_dictionaries({"resourceSpans": st.lists(st.fixed_dictionaries({
        "resource": _optional(attributes=json_attributes),
        "scopeSpans": st.lists(_optional(scope=_optional(name=st.one_of(names, json_scalars)),
                                         spans=st.lists(json_span, max_size=4)), max_size=2),
    }), max_size=2)})] * 3,
    json_values,
)
logs_request_json = st.one_of(
    *[st.fixed_dictionaries({"resourceLogs": st.lists(st.fixed_dictionaries({
        "resource": _optional(attributes=json_attributes),
        "scopeLogs": st.lists(_optional(scope=_optional(name=json_scalars),
                                        logRecords=st.lists(json_log, max_size=4)), max_size=2),
    }), max_size=2)})] * 3,
    json_values,
)


def json_body(obj: Any) -> bytes:
    """``obj`` as a request body; the stdlib writes ints of any size (orjson stops at 64 bits)."""
    return json.dumps(obj).encode()

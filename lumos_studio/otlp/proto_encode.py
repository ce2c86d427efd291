"""OTLP/protobuf spans out: records as an ``ExportTraceServiceRequest``, for tests, benchmarks
and forwarding (``proto_codec`` reads them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from lumos_studio.otlp._common import (
    INT64_MAX,
    INT64_MIN,
    group_records,
    kind_to_otlp,
    status_to_otlp,
)
from lumos_studio.records import STATUS_UNSET, SpanRecord

__all__ = ["encode_trace_request_proto", "set_any", "set_attributes"]


def encode_trace_request_proto(records: Iterable[SpanRecord]) -> bytes:
    """Serialise records as an ``ExportTraceServiceRequest``, grouped resource → scope."""
    request = ExportTraceServiceRequest()
    for resource, scopes in group_records(records):
        resource_spans = request.resource_spans.add()
        set_attributes(resource_spans.resource.attributes, resource)
        for (scope_name, scope_version), spans in scopes.items():
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name = scope_name
            scope_spans.scope.version = scope_version
            for record in spans:
                _set_span(scope_spans.spans.add(), record)
    body: bytes = request.SerializeToString()
    return body


def _set_span(span: Span, record: SpanRecord) -> None:
    span.trace_id = bytes.fromhex(record.trace_id)
    span.span_id = bytes.fromhex(record.span_id)
    if record.parent_span_id:
        span.parent_span_id = bytes.fromhex(record.parent_span_id)
    span.name = record.name
    span.kind = Span.SpanKind.ValueType(kind_to_otlp(record.kind))
    span.start_time_unix_nano = record.start_ns
    if record.end_ns is not None:
        span.end_time_unix_nano = record.end_ns
    set_attributes(span.attributes, record.attributes)
    for event in record.events:
        out = span.events.add()
        out.time_unix_nano = event.time_ns
        out.name = event.name
        set_attributes(out.attributes, event.attributes)
    if record.status_code != STATUS_UNSET:
        span.status.code = Status.StatusCode.ValueType(status_to_otlp(record.status_code))
    if record.status_message:
        span.status.message = record.status_message


def set_attributes(target: Any, attributes: dict[str, Any]) -> None:
    for key, value in attributes.items():
        kv = target.add()
        kv.key = str(key)
        set_any(kv.value, value)


def set_any(target: AnyValue, value: Any) -> None:
    """Fill an AnyValue the way the JSON codec writes it (same fallbacks for odd Python types)."""
    if isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            target.int_value = value
        else:
            target.string_value = str(value)
    elif isinstance(value, float):
        target.double_value = value
    elif value is None:
        return
    elif isinstance(value, dict):
        target.kvlist_value.SetInParent()
        set_attributes(target.kvlist_value.values, value)
    elif isinstance(value, list | tuple):
        target.array_value.SetInParent()
        values = target.array_value.values
        for item in value:
            set_any(values.add(), item)
    elif isinstance(value, bytes | bytearray | memoryview):
        target.bytes_value = bytes(value)
    else:
        target.string_value = str(value)

"""OTLP/protobuf spans out: records as an ``ExportTraceServiceRequest``, for tests, benchmarks
and forwarding (``proto_codec`` reads them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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

__all__ = ["encode_span", "encode_trace_request_proto", "set_any", "set_attributes", "set_span"]


def encode_trace_request_proto(records: Iterable[SpanRecord]) -> bytes:
    """Serialise records as an ``ExportTraceServiceRequest``, grouped resource → scope."""
    request = ExportTraceServiceRequest()
    for resource, scopes in group_records(records):
        resource_spans = request.resource_spans.add()
        set_attributes(resource_spans.resource.attributes, resource)
        for spans in scopes.values():
            first = spans[0]
            resource_spans.schema_url = first.resource_schema_url
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name = first.scope_name
            scope_spans.scope.version = first.scope_version
            set_attributes(scope_spans.scope.attributes, first.scope_attributes)
            scope_spans.schema_url = first.scope_schema_url
            for record in spans:
                set_span(scope_spans.spans.add(), record)
    body: bytes = request.SerializeToString()
    return body


def encode_span(record: SpanRecord) -> bytes:
    """One record as a serialised OTLP ``Span`` (how the store keeps a span it cannot keep as
    JSON text without loss: one with ``bytes`` values)."""
    span = Span()
    set_span(span, record)
    encoded: bytes = span.SerializeToString()
    return encoded


def set_span(span: Span, record: SpanRecord) -> None:
    """Fill ``span`` with everything ``record`` holds of it (not its resource and scope)."""
    span.trace_id = bytes.fromhex(record.trace_id)
    span.span_id = bytes.fromhex(record.span_id)
    span.trace_state = record.trace_state
    span.flags = record.flags
    span.dropped_attributes_count = record.dropped_attributes_count
    span.dropped_events_count = record.dropped_events_count
    span.dropped_links_count = record.dropped_links_count
    for link in record.links:
        out_link = span.links.add()
        out_link.trace_id = bytes.fromhex(link.trace_id)
        out_link.span_id = bytes.fromhex(link.span_id)
        out_link.trace_state = link.trace_state
        set_attributes(out_link.attributes, link.attributes)
        out_link.flags = link.flags
        out_link.dropped_attributes_count = link.dropped_attributes_count
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
        out.dropped_attributes_count = event.dropped_attributes_count
    if record.status_code != STATUS_UNSET:
        span.status.code = Status.StatusCode.ValueType(status_to_otlp(record.status_code))
    if record.status_message:
        span.status.message = record.status_message


def set_attributes(target: Any, attributes: Mapping[str, Any]) -> None:
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

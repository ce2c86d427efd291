"""OTLP/protobuf for spans: the OTLP receiver's hot path, and encoding for tests and forwarding.

Decoding is written for throughput: one resource dict shared by all spans of a ResourceSpans,
AnyValue dispatched on ``WhichOneof`` with scalars read inline, no intermediate dicts.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from lumos_studio.otlp._common import (
    INT64_MAX,
    INT64_MIN,
    KIND_FROM_OTLP,
    SPAN_ID_BYTES,
    STATUS_FROM_OTLP,
    TRACE_ID_BYTES,
    OtlpDecodeError,
    group_records,
    kind_from_otlp,
    kind_to_otlp,
    status_from_otlp,
    status_to_otlp,
)
from lumos_studio.records import STATUS_UNSET, SpanEvent, SpanRecord

__all__ = ["OtlpDecodeError", "decode_trace_request_proto", "encode_trace_request_proto"]

_SCALARS = frozenset(("string_value", "int_value", "bool_value", "double_value"))
_ZERO_TRACE_ID = bytes(TRACE_ID_BYTES)
_ZERO_SPAN_ID = bytes(SPAN_ID_BYTES)
_KIND_COUNT = len(KIND_FROM_OTLP)
_STATUS_COUNT = len(STATUS_FROM_OTLP)


def decode_trace_request_proto(body: bytes, rejected: list[str] | None = None) -> list[SpanRecord]:
    """Parse an ``ExportTraceServiceRequest`` body into records.

    Raises ``OtlpDecodeError`` for a truncated or invalid body and for invalid ids, so the
    receiver can answer 400 instead of storing half a batch. With a ``rejected`` list, a span with
    invalid ids is skipped and its message appended there instead (OTLP partial success).
    """
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RuntimeError) as exc:
        raise OtlpDecodeError(f"invalid protobuf body: {exc}") from None
    records: list[SpanRecord] = []
    append = records.append
    for ri, resource_spans in enumerate(request.resource_spans):
        resource = _attributes(resource_spans.resource.attributes)
        for si, scope_spans in enumerate(resource_spans.scope_spans):
            scope = scope_spans.scope
            scope_name = scope.name
            scope_version = scope.version
            for i, span in enumerate(scope_spans.spans):
                try:
                    append(_span(span, resource, scope_name, scope_version))
                except OtlpDecodeError as exc:
                    error = f"resourceSpans[{ri}].scopeSpans[{si}].spans[{i}]: {exc}"
                    if rejected is None:
                        raise OtlpDecodeError(error) from None
                    rejected.append(error)
    return records


def _span(span: Span, resource: dict[str, Any], scope_name: str, scope_version: str) -> SpanRecord:
    trace_id = span.trace_id
    span_id = span.span_id
    parent = span.parent_span_id
    if len(trace_id) != TRACE_ID_BYTES or trace_id == _ZERO_TRACE_ID:
        raise _bad_id("traceId", trace_id, TRACE_ID_BYTES)
    if len(span_id) != SPAN_ID_BYTES or span_id == _ZERO_SPAN_ID:
        raise _bad_id("spanId", span_id, SPAN_ID_BYTES)
    if parent and len(parent) != SPAN_ID_BYTES:
        raise _bad_id("parentSpanId", parent, SPAN_ID_BYTES)
    kind = span.kind
    status = span.status
    code = status.code
    events = span.events
    attributes = span.attributes
    return SpanRecord(
        trace_id=trace_id.hex(),
        span_id=span_id.hex(),
        parent_span_id=parent.hex() if parent and parent != _ZERO_SPAN_ID else None,
        name=span.name,
        start_ns=span.start_time_unix_nano,
        end_ns=span.end_time_unix_nano or None,
        kind=KIND_FROM_OTLP[kind] if 0 <= kind < _KIND_COUNT else kind_from_otlp(kind),
        status_code=STATUS_FROM_OTLP[code] if 0 <= code < _STATUS_COUNT else status_from_otlp(code),
        status_message=status.message,
        attributes=_attributes(attributes) if attributes else {},
        events=tuple(SpanEvent(e.name, e.time_unix_nano, _attributes(e.attributes)) for e in events)
        if events
        else (),
        resource=resource,
        scope_name=scope_name,
        scope_version=scope_version,
    )


def _bad_id(field: str, value: bytes, size: int) -> OtlpDecodeError:
    if len(value) == size:
        return OtlpDecodeError(f"{field}: all-zero id is invalid")
    if not value:
        return OtlpDecodeError(f"{field}: missing")
    return OtlpDecodeError(
        f"{field}: invalid id {value[:32].hex()!r} ({len(value)} bytes, expected {size})"
    )


def _attributes(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    """KeyValues as a dict; scalars are read inline (a call per value halves throughput)."""
    out: dict[str, Any] = {}
    for kv in attributes:
        value = kv.value
        which = value.WhichOneof("value")
        out[kv.key] = getattr(value, which) if which in _SCALARS else _composite(value, which)
    return out


def _composite(value: AnyValue, which: str | None) -> Any:
    """A non-scalar AnyValue as a JSON-compatible value (bytes become base64 text)."""
    if which == "array_value":
        items = []
        for item in value.array_value.values:
            kind = item.WhichOneof("value")
            items.append(getattr(item, kind) if kind in _SCALARS else _composite(item, kind))
        return items
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None  # the empty AnyValue


def encode_trace_request_proto(records: Iterable[SpanRecord]) -> bytes:
    """Serialise records as an ``ExportTraceServiceRequest``, grouped resource → scope."""
    request = ExportTraceServiceRequest()
    for resource, scopes in group_records(records):
        resource_spans = request.resource_spans.add()
        _set_attributes(resource_spans.resource.attributes, resource)
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
    _set_attributes(span.attributes, record.attributes)
    for event in record.events:
        out = span.events.add()
        out.time_unix_nano = event.time_ns
        out.name = event.name
        _set_attributes(out.attributes, event.attributes)
    if record.status_code != STATUS_UNSET:
        span.status.code = Status.StatusCode.ValueType(status_to_otlp(record.status_code))
    if record.status_message:
        span.status.message = record.status_message


def _set_attributes(target: Any, attributes: dict[str, Any]) -> None:
    for key, value in attributes.items():
        kv = target.add()
        kv.key = str(key)
        _set_any(kv.value, value)


def _set_any(target: AnyValue, value: Any) -> None:
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
        _set_attributes(target.kvlist_value.values, value)
    elif isinstance(value, list | tuple):
        target.array_value.SetInParent()
        values = target.array_value.values
        for item in value:
            _set_any(values.add(), item)
    elif isinstance(value, bytes | bytearray | memoryview):
        target.bytes_value = bytes(value)
    else:
        target.string_value = str(value)

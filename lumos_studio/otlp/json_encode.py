"""Spans out as OTLP/JSON (saved-trace files, ``files.py``), following the OTLP/JSON rules exactly.

Apart from the decoder (``json_codec``): writing is strict where reading is lenient, and the log
encoder (``logs_codec``) writes its attribute values with the same ``any_to_json``. An integer
beyond int64 is written as a ``stringValue`` of its digits (OTLP has no wider integer), a
non-finite float as proto3 JSON spells it.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from typing import Any

from lumos_studio.otlp._common import (
    INT64_MAX,
    INT64_MIN,
    group_records,
    kind_to_otlp,
    status_to_otlp,
)
from lumos_studio.records import STATUS_UNSET, SpanEvent, SpanLink, SpanRecord

__all__ = ["any_to_json", "attributes_to_json", "encode_trace_request"]


def encode_trace_request(records: Iterable[SpanRecord]) -> dict[str, Any]:
    """Build one ``ExportTraceServiceRequest`` as a JSON-ready dict, grouped resource → scope."""
    resource_spans = []
    for resource, scopes in group_records(records):
        scope_spans = []
        first: SpanRecord | None = None
        for spans in scopes.values():
            first = spans[0]
            scope: dict[str, Any] = {}
            if first.scope_name:
                scope["name"] = first.scope_name
            if first.scope_version:
                scope["version"] = first.scope_version
            if first.scope_attributes:
                scope["attributes"] = attributes_to_json(first.scope_attributes)
            scoped: dict[str, Any] = {"scope": scope, "spans": [_span_to_json(s) for s in spans]}
            if first.scope_schema_url:
                scoped["schemaUrl"] = first.scope_schema_url
            scope_spans.append(scoped)
        resource_json: dict[str, Any] = {}
        if resource:
            resource_json["attributes"] = attributes_to_json(resource)
        out: dict[str, Any] = {"resource": resource_json, "scopeSpans": scope_spans}
        if first is not None and first.resource_schema_url:
            out["schemaUrl"] = first.resource_schema_url
        resource_spans.append(out)
    return {"resourceSpans": resource_spans}


def _span_to_json(record: SpanRecord) -> dict[str, Any]:
    # Keys in protobuf field order, as the Collector writes them.
    span: dict[str, Any] = {"traceId": record.trace_id.lower(), "spanId": record.span_id.lower()}
    if record.trace_state:
        span["traceState"] = record.trace_state
    if record.parent_span_id:
        span["parentSpanId"] = record.parent_span_id.lower()
    if record.flags:
        span["flags"] = record.flags
    span["name"] = record.name
    span["kind"] = kind_to_otlp(record.kind)
    span["startTimeUnixNano"] = str(record.start_ns)
    if record.end_ns is not None:
        span["endTimeUnixNano"] = str(record.end_ns)
    if record.attributes:
        span["attributes"] = attributes_to_json(record.attributes)
    if record.dropped_attributes_count:
        span["droppedAttributesCount"] = record.dropped_attributes_count
    if record.events:
        span["events"] = [_event_to_json(event) for event in record.events]
    if record.dropped_events_count:
        span["droppedEventsCount"] = record.dropped_events_count
    if record.links:
        span["links"] = [_link_to_json(link) for link in record.links]
    if record.dropped_links_count:
        span["droppedLinksCount"] = record.dropped_links_count
    status: dict[str, Any] = {}
    if record.status_code != STATUS_UNSET:
        status["code"] = status_to_otlp(record.status_code)
    if record.status_message:
        status["message"] = record.status_message
    span["status"] = status
    return span


def _event_to_json(event: SpanEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"timeUnixNano": str(event.time_ns), "name": event.name}
    if event.attributes:
        out["attributes"] = attributes_to_json(event.attributes)
    if event.dropped_attributes_count:
        out["droppedAttributesCount"] = event.dropped_attributes_count
    return out


def _link_to_json(link: SpanLink) -> dict[str, Any]:
    out: dict[str, Any] = {"traceId": link.trace_id, "spanId": link.span_id}
    if link.trace_state:
        out["traceState"] = link.trace_state
    if link.attributes:
        out["attributes"] = attributes_to_json(link.attributes)
    if link.dropped_attributes_count:
        out["droppedAttributesCount"] = link.dropped_attributes_count
    if link.flags:
        out["flags"] = link.flags
    return out


def attributes_to_json(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": str(key), "value": any_to_json(value)} for key, value in attributes.items()]


def any_to_json(value: Any) -> dict[str, Any]:
    """Encode one attribute value as an OTLP ``AnyValue`` (None becomes the empty AnyValue)."""
    kind = type(value)
    if kind is str:
        return {"stringValue": value}
    if kind is bool:
        return {"boolValue": value}
    if kind is int:
        return _int_to_json(value)
    if kind is float:
        return _float_to_json(value)
    if value is None:
        return {}
    if isinstance(value, dict):
        if not value:
            return {"kvlistValue": {}}
        return {"kvlistValue": {"values": attributes_to_json(value)}}
    if isinstance(value, list | tuple):
        if not value:
            return {"arrayValue": {}}
        return {"arrayValue": {"values": [any_to_json(item) for item in value]}}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytesValue": base64.b64encode(value).decode("ascii")}
    if isinstance(value, int):  # IntEnum and friends; bool cannot be subclassed
        return _int_to_json(int(value))
    if isinstance(value, float):
        return _float_to_json(float(value))
    return {"stringValue": str(value)}


def _int_to_json(value: int) -> dict[str, Any]:
    if INT64_MIN <= value <= INT64_MAX:
        return {"intValue": str(value)}
    return {"stringValue": str(value)}  # OTLP has no wider integer; keep the digits


def _float_to_json(value: float) -> dict[str, Any]:
    if math.isfinite(value):
        return {"doubleValue": value}
    # Proto3 JSON spells non-finite doubles as strings; plain JSON cannot hold them.
    if math.isnan(value):
        return {"doubleValue": "NaN"}
    return {"doubleValue": "Infinity" if value > 0 else "-Infinity"}

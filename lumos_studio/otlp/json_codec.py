"""OTLP/JSON spans in: a parsed ``ExportTraceServiceRequest`` into records.

Used by saved-trace files (``files.py``) and the JSON half of the OTLP receiver. The reader is
lenient (the rules for each value: ``json_values``) because other producers are; the writer
(``json_encode``) follows the OTLP/JSON rules exactly. A running span is written without
``endTimeUnixNano`` and a missing or zero end time reads back as running.
"""

from __future__ import annotations

from typing import Any

from lumos_studio.otlp._common import (
    KIND_TO_OTLP,
    SPAN_ID_BYTES,
    STATUS_TO_OTLP,
    TRACE_ID_BYTES,
    OtlpDecodeError,
    kind_from_otlp,
    status_from_otlp,
)
from lumos_studio.otlp.json_encode import encode_trace_request
from lumos_studio.otlp.json_values import (
    MALFORMED,
    as_list,
    as_object,
    as_text,
    attributes_from_json,
    either,
    located,
    read_enum,
    read_hex_id,
    read_id,
    read_resource_list,
    read_time,
    read_uint32,
    require_object,
)
from lumos_studio.records import SpanEvent, SpanLink, SpanRecord

# ``encode_trace_request`` is ``json_encode``'s; it stays importable from here, where it was.
__all__ = ["OtlpDecodeError", "decode_trace_request", "encode_trace_request"]

_ZERO_SPAN_ID = "0" * (2 * SPAN_ID_BYTES)


def decode_trace_request(obj: Any, rejected: list[str] | None = None) -> list[SpanRecord]:
    """Turn one parsed ``ExportTraceServiceRequest`` into records.

    Raises ``OtlpDecodeError`` naming the span's position and the field that is wrong. With a
    ``rejected`` list, an invalid span is skipped and its message appended there instead, so a
    receiver can keep the valid rest (OTLP partial success); a broken envelope still raises.
    """
    resource_list = read_resource_list(obj, "resourceSpans", "resource_spans")
    records: list[SpanRecord] = []
    append = records.append
    for ri, resource_spans in enumerate(resource_list):
        try:
            resource, scope_list = _resource_from_json(resource_spans)
            resource_schema_url = as_text(
                either(resource_spans, "schemaUrl", "schema_url"), "schemaUrl")
        except MALFORMED as exc:
            raise located(f"resourceSpans[{ri}]", exc) from exc
        for si, scope_spans in enumerate(scope_list):
            try:
                scope_name, scope_version, span_list = _scope_from_json(scope_spans)
                scope_rest = _scope_rest(scope_spans, resource_schema_url)
            except MALFORMED as exc:
                raise located(f"resourceSpans[{ri}].scopeSpans[{si}]", exc) from exc
            for i, span in enumerate(span_list):
                try:
                    append(_span_from_json(span, resource, scope_name, scope_version, scope_rest))
                except MALFORMED as exc:
                    error = located(f"resourceSpans[{ri}].scopeSpans[{si}].spans[{i}]", exc)
                    if rejected is None:
                        raise error from exc
                    rejected.append(str(error))
    return records


def _resource_from_json(resource_spans: Any) -> tuple[dict[str, Any], list[Any]]:
    require_object(resource_spans)
    resource = attributes_from_json(as_object(resource_spans.get("resource")))
    scope_list = either(resource_spans, "scopeSpans", "scope_spans")
    if scope_list is None:  # OTLP before 0.15 (old files, old Jaeger)
        scope_list = resource_spans.get("instrumentationLibrarySpans")
    return resource, as_list(scope_list)


def _scope_from_json(scope_spans: Any) -> tuple[str, str, list[Any]]:
    require_object(scope_spans)
    scope = scope_spans.get("scope")
    if scope is None:
        scope = scope_spans.get("instrumentationLibrary")
    scope = as_object(scope)
    return (
        as_text(scope.get("name"), "scope.name"),
        as_text(scope.get("version"), "scope.version"),
        as_list(scope_spans.get("spans")),
    )


def _scope_rest(scope_spans: dict[str, Any], resource_schema_url: str) -> dict[str, Any]:
    """What a scope gives each of its spans beyond name and version, as ``SpanRecord`` fields."""
    rest: dict[str, Any] = {}
    scope = as_object(scope_spans.get("scope"))
    if scope.get("attributes"):
        rest["scope_attributes"] = attributes_from_json(scope)
    schema_url = as_text(either(scope_spans, "schemaUrl", "schema_url"), "schemaUrl")
    if schema_url:
        rest["scope_schema_url"] = schema_url
    if resource_schema_url:
        rest["resource_schema_url"] = resource_schema_url
    return rest


def _span_rest(span: dict[str, Any]) -> dict[str, Any]:
    """A span's links, trace state, flags and dropped counts, as ``SpanRecord`` fields."""
    rest: dict[str, Any] = {}
    trace_state = as_text(either(span, "traceState", "trace_state"), "traceState")
    if trace_state:
        rest["trace_state"] = trace_state
    flags = read_uint32(span.get("flags"), "flags")
    if flags:
        rest["flags"] = flags
    links = span.get("links")
    if links:
        rest["links"] = tuple(_link_from_json(link) for link in as_list(links))
    for camel, snake in _DROPPED:
        count = read_uint32(either(span, camel, snake), camel)
        if count:
            rest[snake] = count
    return rest


_DROPPED = (
    ("droppedAttributesCount", "dropped_attributes_count"),
    ("droppedEventsCount", "dropped_events_count"),
    ("droppedLinksCount", "dropped_links_count"),
)
_SPAN_REST_KEYS = frozenset(
    ("traceState", "trace_state", "flags", "links", *(name for pair in _DROPPED for name in pair))
)


def _link_from_json(link: Any) -> SpanLink:
    require_object(link)
    return SpanLink(
        trace_id=read_id(either(link, "traceId", "trace_id"), TRACE_ID_BYTES, "links.traceId"),
        span_id=read_id(either(link, "spanId", "span_id"), SPAN_ID_BYTES, "links.spanId"),
        trace_state=as_text(either(link, "traceState", "trace_state"), "links.traceState"),
        attributes=attributes_from_json(link),
        flags=read_uint32(link.get("flags"), "links.flags"),
        dropped_attributes_count=read_uint32(
            either(link, "droppedAttributesCount", "dropped_attributes_count"),
            "links.droppedAttributesCount",
        ),
    )


def _span_from_json(
    span: Any,
    resource: dict[str, Any],
    scope_name: str,
    scope_version: str,
    scope_rest: dict[str, Any] | None = None,
) -> SpanRecord:
    require_object(span)
    parent = either(span, "parentSpanId", "parent_span_id")
    parent_id = read_hex_id(parent, SPAN_ID_BYTES, "parentSpanId") if parent else None
    if parent_id == _ZERO_SPAN_ID:  # some producers write zeros for "no parent"
        parent_id = None
    end_ns = read_time(either(span, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano")
    status = as_object(span.get("status"))
    events = span.get("events")
    return SpanRecord(
        trace_id=read_id(either(span, "traceId", "trace_id"), TRACE_ID_BYTES, "traceId"),
        span_id=read_id(either(span, "spanId", "span_id"), SPAN_ID_BYTES, "spanId"),
        parent_span_id=parent_id,
        name=as_text(span.get("name"), "name"),
        start_ns=read_time(
            either(span, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano"
        ),
        end_ns=end_ns or None,
        kind=_kind_from_json(span.get("kind")),
        status_code=_status_from_json(status.get("code")),
        status_message=as_text(status.get("message"), "status.message"),
        attributes=attributes_from_json(span),
        events=tuple(_event_from_json(event) for event in events) if events else (),
        resource=resource,
        scope_name=scope_name,
        scope_version=scope_version,
        **(_span_rest(span) if not _SPAN_REST_KEYS.isdisjoint(span) else {}),
        **(scope_rest or {}),
    )


def _event_from_json(event: Any) -> SpanEvent:
    require_object(event)
    return SpanEvent(
        name=as_text(event.get("name"), "events.name"),
        time_ns=read_time(either(event, "timeUnixNano", "time_unix_nano"), "events.timeUnixNano"),
        attributes=attributes_from_json(event),
        dropped_attributes_count=read_uint32(
            either(event, "droppedAttributesCount", "dropped_attributes_count"),
            "events.droppedAttributesCount",
        ),
    )


_KIND_NAMES = {"UNSPECIFIED": 0, **KIND_TO_OTLP}
_KIND_NAMES.update({f"SPAN_KIND_{name}": code for name, code in list(_KIND_NAMES.items())})
_STATUS_NAMES = dict(STATUS_TO_OTLP)
_STATUS_NAMES.update({f"STATUS_CODE_{name}": code for name, code in list(_STATUS_NAMES.items())})


def _kind_from_json(value: Any) -> str:
    return kind_from_otlp(read_enum(value, _KIND_NAMES, "kind"))


def _status_from_json(value: Any) -> str:
    return status_from_otlp(read_enum(value, _STATUS_NAMES, "status.code"))

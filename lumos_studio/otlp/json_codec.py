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
    _MALFORMED,
    _attributes_from_json,
    _enum,
    _get,
    _hex_id,
    _id_from_json,
    _list,
    _located,
    _object,
    _require_object,
    _resource_list,
    _str,
    _time,
    _uint32,
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
    resource_list = _resource_list(obj, "resourceSpans", "resource_spans")
    records: list[SpanRecord] = []
    append = records.append
    for ri, resource_spans in enumerate(resource_list):
        try:
            resource, scope_list = _resource_from_json(resource_spans)
            resource_schema_url = _str(_get(resource_spans, "schemaUrl", "schema_url"), "schemaUrl")
        except _MALFORMED as exc:
            raise _located(f"resourceSpans[{ri}]", exc) from exc
        for si, scope_spans in enumerate(scope_list):
            try:
                scope_name, scope_version, span_list = _scope_from_json(scope_spans)
                scope_rest = _scope_rest(scope_spans, resource_schema_url)
            except _MALFORMED as exc:
                raise _located(f"resourceSpans[{ri}].scopeSpans[{si}]", exc) from exc
            for i, span in enumerate(span_list):
                try:
                    append(_span_from_json(span, resource, scope_name, scope_version, scope_rest))
                except _MALFORMED as exc:
                    error = _located(f"resourceSpans[{ri}].scopeSpans[{si}].spans[{i}]", exc)
                    if rejected is None:
                        raise error from exc
                    rejected.append(str(error))
    return records


def _resource_from_json(resource_spans: Any) -> tuple[dict[str, Any], list[Any]]:
    _require_object(resource_spans)
    resource = _attributes_from_json(_object(resource_spans.get("resource")))
    scope_list = _get(resource_spans, "scopeSpans", "scope_spans")
    if scope_list is None:  # OTLP before 0.15 (old files, old Jaeger)
        scope_list = resource_spans.get("instrumentationLibrarySpans")
    return resource, _list(scope_list)


def _scope_from_json(scope_spans: Any) -> tuple[str, str, list[Any]]:
    _require_object(scope_spans)
    scope = scope_spans.get("scope")
    if scope is None:
        scope = scope_spans.get("instrumentationLibrary")
    scope = _object(scope)
    return (
        _str(scope.get("name"), "scope.name"),
        _str(scope.get("version"), "scope.version"),
        _list(scope_spans.get("spans")),
    )


def _scope_rest(scope_spans: dict[str, Any], resource_schema_url: str) -> dict[str, Any]:
    """What a scope gives each of its spans beyond name and version, as ``SpanRecord`` fields."""
    rest: dict[str, Any] = {}
    scope = _object(scope_spans.get("scope"))
    if scope.get("attributes"):
        rest["scope_attributes"] = _attributes_from_json(scope)
    schema_url = _str(_get(scope_spans, "schemaUrl", "schema_url"), "schemaUrl")
    if schema_url:
        rest["scope_schema_url"] = schema_url
    if resource_schema_url:
        rest["resource_schema_url"] = resource_schema_url
    return rest


def _span_rest(span: dict[str, Any]) -> dict[str, Any]:
    """A span's links, trace state, flags and dropped counts, as ``SpanRecord`` fields."""
    rest: dict[str, Any] = {}
    trace_state = _str(_get(span, "traceState", "trace_state"), "traceState")
    if trace_state:
        rest["trace_state"] = trace_state
    flags = _uint32(span.get("flags"), "flags")
    if flags:
        rest["flags"] = flags
    links = span.get("links")
    if links:
        rest["links"] = tuple(_link_from_json(link) for link in _list(links))
    for camel, snake in _DROPPED:
        count = _uint32(_get(span, camel, snake), camel)
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
    _require_object(link)
    return SpanLink(
        trace_id=_id_from_json(_get(link, "traceId", "trace_id"), TRACE_ID_BYTES, "links.traceId"),
        span_id=_id_from_json(_get(link, "spanId", "span_id"), SPAN_ID_BYTES, "links.spanId"),
        trace_state=_str(_get(link, "traceState", "trace_state"), "links.traceState"),
        attributes=_attributes_from_json(link),
        flags=_uint32(link.get("flags"), "links.flags"),
        dropped_attributes_count=_uint32(
            _get(link, "droppedAttributesCount", "dropped_attributes_count"),
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
    _require_object(span)
    parent = _get(span, "parentSpanId", "parent_span_id")
    parent_id = _hex_id(parent, SPAN_ID_BYTES, "parentSpanId") if parent else None
    if parent_id == _ZERO_SPAN_ID:  # some producers write zeros for "no parent"
        parent_id = None
    end_ns = _time(_get(span, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano")
    status = _object(span.get("status"))
    events = span.get("events")
    return SpanRecord(
        trace_id=_id_from_json(_get(span, "traceId", "trace_id"), TRACE_ID_BYTES, "traceId"),
        span_id=_id_from_json(_get(span, "spanId", "span_id"), SPAN_ID_BYTES, "spanId"),
        parent_span_id=parent_id,
        name=_str(span.get("name"), "name"),
        start_ns=_time(
            _get(span, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano"
        ),
        end_ns=end_ns or None,
        kind=_kind_from_json(span.get("kind")),
        status_code=_status_from_json(status.get("code")),
        status_message=_str(status.get("message"), "status.message"),
        attributes=_attributes_from_json(span),
        events=tuple(_event_from_json(event) for event in events) if events else (),
        resource=resource,
        scope_name=scope_name,
        scope_version=scope_version,
        **(_span_rest(span) if not _SPAN_REST_KEYS.isdisjoint(span) else {}),
        **(scope_rest or {}),
    )


def _event_from_json(event: Any) -> SpanEvent:
    _require_object(event)
    return SpanEvent(
        name=_str(event.get("name"), "events.name"),
        time_ns=_time(_get(event, "timeUnixNano", "time_unix_nano"), "events.timeUnixNano"),
        attributes=_attributes_from_json(event),
        dropped_attributes_count=_uint32(
            _get(event, "droppedAttributesCount", "dropped_attributes_count"),
            "events.droppedAttributesCount",
        ),
    )


_KIND_NAMES = {"UNSPECIFIED": 0, **KIND_TO_OTLP}
_KIND_NAMES.update({f"SPAN_KIND_{name}": code for name, code in list(_KIND_NAMES.items())})
_STATUS_NAMES = dict(STATUS_TO_OTLP)
_STATUS_NAMES.update({f"STATUS_CODE_{name}": code for name, code in list(_STATUS_NAMES.items())})


def _kind_from_json(value: Any) -> str:
    return kind_from_otlp(_enum(value, _KIND_NAMES, "kind"))


def _status_from_json(value: Any) -> str:
    return status_from_otlp(_enum(value, _STATUS_NAMES, "status.code"))

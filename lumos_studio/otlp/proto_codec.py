"""OTLP/protobuf spans in: the OTLP receiver's hot path (``proto_encode`` writes them).

Turning every attribute into Python objects is most of the cost of a span: upb builds a wrapper per
KeyValue and per AnyValue, about 100 µs for a 20-attribute GenAI span on a 2-core machine, against
5 µs to parse it. So the decoder parses with "slim" message types (``proto_slim``): a request's
spans stay bytes (each is stored as it came), and a span's attributes parse as a map from key to
the encoded AnyValue (a KeyValue has the wire form of a map entry), so the attributes the store
makes columns of (``HOT_ATTRIBUTES``) are lookups in C and the others are never decoded at ingest.
A record's attributes and events are ``proto_span``'s ``RawAttributes`` / ``RawEvents``, which
decode the span's bytes on first access; the receiver makes rows from ``read_scopes`` without
records (``ingest.proto_rows``).

What stays encoded is not validated at ingest, and is decoded leniently (``proto_span``,
``proto_values``). Validating it meant parsing every request a second time in full, a fifth of
decoding (the receiver's bottleneck), and answering 400 to a batch of 500 spans for one bad byte,
which the exporter then drops: now the batch is kept and the bad value shows as such. What the
store reads at ingest (ids, keys, times, status code, resource, scope) is parsed strictly: a span
that fails is rejected on its own (OTLP partial success). The span's name and status message are
read leniently too (replacement characters for invalid UTF-8), as its attribute values are: one
bad byte in a name is no reason to lose the span.

Times are fixed64 on the wire but int64 in SQLite: a start or end time past 2^63 - 1 ns (the
year 2262) rejects its span, with the reason, rather than being clamped: no clock produces such
a time, so a clamped one would only put a made-up time in the store.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from google.protobuf.message import DecodeError

from lumos_studio.otlp._common import (
    INT64_MAX,
    KIND_FROM_OTLP,
    SPAN_ID_BYTES,
    STATUS_FROM_OTLP,
    TRACE_ID_BYTES,
    OtlpDecodeError,
    kind_from_otlp,
    status_from_otlp,
)
from lumos_studio.otlp.proto_slim import SlimRequest, SlimSpan
from lumos_studio.otlp.proto_span import RawAttributes, RawEvents, span_rest
from lumos_studio.otlp.proto_values import any_value, attributes_of
from lumos_studio.records import SpanRecord
from lumos_studio.semantics.hot import HOT_GROUPS, HOT_KEYS

__all__ = [
    "HOT_ATTRIBUTES",
    "OtlpDecodeError",
    "ReadSpan",
    "SpanHeader",
    "decode_trace_request_proto",
    "read_scopes",
    "read_span",
]

_ZERO_TRACE_ID = bytes(TRACE_ID_BYTES)
_ZERO_SPAN_ID = bytes(SPAN_ID_BYTES)
_KIND_COUNT = len(KIND_FROM_OTLP)
_STATUS_COUNT = len(STATUS_FROM_OTLP)

# The attributes the store reads at ingest (``semantics.hot`` makes columns of them, in any
# dialect). Anything else is read only when asked for.
HOT_ATTRIBUTES = HOT_KEYS
_HOT_GROUPS = HOT_GROUPS


def decode_trace_request_proto(body: bytes, rejected: list[str] | None = None) -> list[SpanRecord]:
    """Parse an ``ExportTraceServiceRequest`` body into records.

    Raises ``OtlpDecodeError`` for a truncated or invalid body and for invalid ids, so the
    receiver can answer 400 instead of storing half a batch. With a ``rejected`` list, a span with
    invalid ids is skipped and its message appended there instead (OTLP partial success).
    """
    records: list[SpanRecord] = []
    append = records.append
    for resource, scope_name, scope_version, spans, scope_rest in read_scopes(body, rejected):
        for otlp, header, hot, event_count in spans:
            trace_id, span_id, parent, name, kind, start_ns, end_ns, code, message = header
            # Positional, in field order: measurably cheaper than keywords for a frozen dataclass.
            record = SpanRecord(
                trace_id, span_id, parent, name, start_ns, end_ns, kind, code, message,
                {} if hot is None else RawAttributes(otlp, hot, event_count),
                # Without attributes, the events keep the span's bytes: stored as they came.
                RawEvents(otlp, event_count) if event_count or hot is None else (),
                resource, scope_name, scope_version,
            )
            rest = span_rest(otlp)
            if rest or scope_rest:
                record = replace(record, **rest, **scope_rest)
            append(record)
    return records


def read_scopes(
    body: bytes, rejected: list[str] | None = None
) -> Iterator[tuple[dict[str, Any], str, str, list[ReadSpan], dict[str, Any]]]:
    """Each scope of a request body: the resource's attributes, the scope's name and version,
    its spans read by ``read_span`` (still encoded but for their header and hot attributes), and
    what else the scope and resource say (``SpanRecord`` fields: scope attributes, schema URLs).

    Raises ``OtlpDecodeError`` for a body that is not a valid ``ExportTraceServiceRequest``, and
    for an invalid span (ids, or fields ``read_span`` reads) unless ``rejected`` is given (then
    it is left out and noted).
    """
    try:
        request: Any = SlimRequest.FromString(body)
    except (DecodeError, RuntimeError) as exc:
        raise OtlpDecodeError(f"invalid protobuf body: {exc}") from None
    for ri, resource_spans in enumerate(request.resource_spans):
        resource = attributes_of(resource_spans.resource.attributes)
        resource_schema_url = resource_spans.schema_url
        for si, scoped in enumerate(resource_spans.scope_spans):
            spans: list[ReadSpan] = []
            append = spans.append
            for i, otlp in enumerate(scoped.spans):
                try:
                    append((otlp, *read_span(otlp)))
                except OtlpDecodeError as exc:
                    error = f"resourceSpans[{ri}].scopeSpans[{si}].spans[{i}]: {exc}"
                    if rejected is None:
                        raise OtlpDecodeError(error) from None
                    rejected.append(error)  # OTLP partial success
            scope = scoped.scope
            scope_rest: dict[str, Any] = {}
            if scope.attributes:
                scope_rest["scope_attributes"] = attributes_of(scope.attributes)
            if scoped.schema_url:
                scope_rest["scope_schema_url"] = scoped.schema_url
            if resource_schema_url:
                scope_rest["resource_schema_url"] = resource_schema_url
            yield resource, scope.name, scope.version, spans, scope_rest


SpanHeader = tuple[str, str, str | None, str, str, int, int | None, str, str]
# A span as ``read_span`` leaves it: its bytes, header, hot attributes (or None) and event count.
ReadSpan = tuple[bytes, SpanHeader, dict[str, Any] | None, int]


def read_span(otlp: bytes) -> tuple[SpanHeader, dict[str, Any] | None, int]:
    """One encoded span of a request that ``read_scopes`` parsed: its header (trace id, span id,
    parent id, name, kind, start, end, status code and message, the ``spans`` table's column
    order), its ``HOT_ATTRIBUTES`` (None when it has no attributes at all) and its event count.

    Raises ``OtlpDecodeError`` for an invalid id, or a span whose fields read here are invalid.
    """
    try:
        span: Any = SlimSpan.FromString(otlp)
    except (DecodeError, RuntimeError) as exc:
        raise OtlpDecodeError(f"invalid span: {exc}") from None
    trace_id = span.trace_id
    span_id = span.span_id
    parent = span.parent_span_id
    if len(trace_id) != TRACE_ID_BYTES or trace_id == _ZERO_TRACE_ID:
        raise _bad_id("traceId", trace_id, TRACE_ID_BYTES)
    if len(span_id) != SPAN_ID_BYTES or span_id == _ZERO_SPAN_ID:
        raise _bad_id("spanId", span_id, SPAN_ID_BYTES)
    if parent and len(parent) != SPAN_ID_BYTES:
        raise _bad_id("parentSpanId", parent, SPAN_ID_BYTES)
    start_ns = span.start_time_unix_nano
    end_ns = span.end_time_unix_nano
    if start_ns > INT64_MAX or end_ns > INT64_MAX:  # two int compares: the hot path's price
        if start_ns > INT64_MAX:
            raise _bad_time("startTimeUnixNano", start_ns)
        raise _bad_time("endTimeUnixNano", end_ns)
    kind = span.kind
    status = span.status
    code = status.code
    encoded = span.attributes
    header = (
        trace_id.hex(),
        span_id.hex(),
        parent.hex() if parent and parent != _ZERO_SPAN_ID else None,
        span.name.decode("utf-8", "replace"),
        KIND_FROM_OTLP[kind] if 0 <= kind < _KIND_COUNT else kind_from_otlp(kind),
        start_ns,
        end_ns or None,
        STATUS_FROM_OTLP[code] if 0 <= code < _STATUS_COUNT else status_from_otlp(code),
        status.message.decode("utf-8", "replace"),
    )
    return header, _hot_attributes(encoded) if encoded else None, len(span.events)


# The hot attributes' values repeat: a few operation, agent, model and tool names, a conversation
# id per run, token counts. A hit here costs one lookup of the value's short bytes instead of
# decoding them (measured: reading the hot attributes of a GenAI span 7.4 → 5.6 µs).
_KNOWN_VALUES: dict[bytes, Any] = {}
_KNOWN_VALUE_MAX_BYTES = 128
_KNOWN_VALUES_MAX = 4_096
_SHAREABLE = (str, int, float, bool)  # immutable: one object may serve every span
_UNKNOWN = object()


class CompositeHot(dict[str, Any]):
    """Hot attributes of which one is a list or a map where a name or a count belongs.

    They become columns, which SQLite cannot bind a list to: ``ingest.proto_rows`` checks this
    type, once a span, and makes text of such values; plain dicts need no look at each value.
    """

    __slots__ = ()


def _hot_attributes(encoded: Mapping[str, bytes]) -> dict[str, Any]:
    """The ``HOT_ATTRIBUTES`` in a slim span's attribute map that ``hot_fields`` reads: per
    column, its keys up to the first with a value (a GenAI span: ~12 lookups of 28 keys); the
    others stay encoded."""
    found: dict[str, Any] = {}
    get = encoded.get
    known = _KNOWN_VALUES.get
    for group in _HOT_GROUPS:
        for name in group:
            value = get(name)
            if value is None:
                continue
            decoded = known(value, _UNKNOWN)
            if decoded is _UNKNOWN:
                decoded = any_value(value)
                if type(decoded) not in _SHAREABLE:
                    if decoded is not None and type(found) is dict:
                        found = CompositeHot(found)  # see there; checked once per span
                    found[name] = decoded
                    if decoded is None:
                        continue
                    break
                if len(value) <= _KNOWN_VALUE_MAX_BYTES:
                    if len(_KNOWN_VALUES) >= _KNOWN_VALUES_MAX:
                        _KNOWN_VALUES.clear()
                    _KNOWN_VALUES[value] = decoded
            found[name] = decoded
            if decoded != "":
                break
    return found


def _bad_id(field: str, value: bytes, size: int) -> OtlpDecodeError:
    if len(value) == size:
        return OtlpDecodeError(f"{field}: all-zero id is invalid")
    if not value:
        return OtlpDecodeError(f"{field}: missing")
    return OtlpDecodeError(
        f"{field}: invalid id {value[:32].hex()!r} ({len(value)} bytes, expected {size})"
    )


def _bad_time(field: str, value: int) -> OtlpDecodeError:
    return OtlpDecodeError(
        f"{field}: {value} ns is past the year 2262 (the store holds times up to 2^63-1 ns); "
        "send nanoseconds since 1970"
    )

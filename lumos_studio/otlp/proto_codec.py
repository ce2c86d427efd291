"""OTLP/protobuf spans in: the OTLP receiver's hot path (``proto_encode`` writes them).

Turning every attribute into Python objects is most of the cost of a span: upb builds a wrapper per
KeyValue and per AnyValue, about 100 µs for a 20-attribute GenAI span on a 2-core machine, against
5 µs to parse it. So the decoder parses with "slim" message types: a request's spans stay bytes
(each is stored as it came), and a span's attributes parse as a map from key to the encoded
AnyValue (a KeyValue has the wire form of a map entry), so the attributes the store makes columns
of (``HOT_ATTRIBUTES``) are lookups in C and the others are never decoded at ingest.
``RawAttributes`` / ``RawEvents`` behave as a record's mapping and sequence and decode the span's
bytes on first access; the store keeps those bytes as they are (``records_codec``), and the
receiver makes rows from ``read_scopes`` without records (``ingest.proto_rows``).

What stays encoded is not validated at ingest, and is decoded leniently: invalid UTF-8 in an
attribute's value reads with replacement characters, and a value or event that is not valid
protobuf reads as a placeholder saying so. Validating it meant parsing every request a second
time in full, a fifth of decoding (the receiver's bottleneck), and answering 400 to a batch of
500 spans for one bad byte, which the exporter then drops: now the batch is kept and the bad
value shows as such. What the store reads at ingest (ids, keys, times, status code, resource,
scope) is parsed strictly: a span that fails is rejected on its own (OTLP partial success). The
span's name and status message are read leniently too (replacement characters for invalid
UTF-8), as its attribute values are: one bad byte in a name is no reason to lose the span.

Times are fixed64 on the wire but int64 in SQLite: a start or end time past 2^63 - 1 ns (the
year 2262) rejects its span, with the reason, rather than being clamped: no clock produces such
a time, so a clamped one would only put a made-up time in the store. Event times stay encoded
(they never become SQLite integers) and read as sent.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1 import resource_pb2  # noqa: F401 (registers Resource)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

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
from lumos_studio.records import SpanEvent, SpanLink, SpanRecord
from lumos_studio.semantics.hot import HOT_GROUPS, HOT_KEYS

__all__ = [
    "HOT_ATTRIBUTES",
    "OtlpDecodeError",
    "RawAttributes",
    "RawEvents",
    "ReadSpan",
    "SpanHeader",
    "decode_span",
    "decode_span_attributes",
    "decode_span_events",
    "decode_trace_request_proto",
    "read_scopes",
    "read_span",
    "span_rest",
    "text_fields",
]

_SCALARS = frozenset(("string_value", "int_value", "bool_value", "double_value"))
_ZERO_TRACE_ID = bytes(TRACE_ID_BYTES)
_ZERO_SPAN_ID = bytes(SPAN_ID_BYTES)
_KIND_COUNT = len(KIND_FROM_OTLP)
_STATUS_COUNT = len(STATUS_FROM_OTLP)

# The attributes the store reads at ingest (``semantics.hot`` makes columns of them, in any
# dialect). Anything else is read only when asked for.
HOT_ATTRIBUTES = HOT_KEYS
_HOT_GROUPS = HOT_GROUPS


def _slim_messages() -> dict[str, type[Message]]:
    """Message classes wire-compatible with OTLP's that leave most of a span encoded.

    A slim ``ScopeSpans`` holds its spans as bytes: each is stored as it came. A slim ``Span``
    reads the fields that become columns; its attributes are a map of key → encoded AnyValue and
    its events stay bytes.
    """
    field = descriptor_pb2.FieldDescriptorProto
    one, many = field.LABEL_OPTIONAL, field.LABEL_REPEATED
    file = descriptor_pb2.FileDescriptorProto(
        name="lumos_studio/otlp_slim.proto",
        package="lumos_studio.slim",
        syntax="proto3",
        dependency=[
            "opentelemetry/proto/common/v1/common.proto",
            "opentelemetry/proto/resource/v1/resource.proto",
            "opentelemetry/proto/trace/v1/trace.proto",
        ],
    )
    layouts: dict[str, list[tuple[str, int, int, int, str]]] = {
        "Span": [
            ("trace_id", 1, field.TYPE_BYTES, one, ""),
            ("span_id", 2, field.TYPE_BYTES, one, ""),
            ("parent_span_id", 4, field.TYPE_BYTES, one, ""),
            # Bytes, not a string: upb refuses a string of invalid UTF-8, and with it the span.
            ("name", 5, field.TYPE_BYTES, one, ""),
            ("kind", 6, field.TYPE_INT32, one, ""),
            ("start_time_unix_nano", 7, field.TYPE_FIXED64, one, ""),
            ("end_time_unix_nano", 8, field.TYPE_FIXED64, one, ""),
            ("attributes", 9, field.TYPE_MESSAGE, many, ".lumos_studio.slim.Span.AttributesEntry"),
            ("events", 11, field.TYPE_BYTES, many, ""),
            ("status", 15, field.TYPE_MESSAGE, one, ".lumos_studio.slim.Status"),
            # Read only when a span is opened (``span_rest``), or to tell whether it has any.
            ("trace_state", 3, field.TYPE_BYTES, one, ""),
            ("dropped_attributes_count", 10, field.TYPE_UINT32, one, ""),
            ("dropped_events_count", 12, field.TYPE_UINT32, one, ""),
            ("links", 13, field.TYPE_BYTES, many, ""),
            ("dropped_links_count", 14, field.TYPE_UINT32, one, ""),
            ("flags", 16, field.TYPE_FIXED32, one, ""),
        ],
        "TextSpan": [  # what the search index reads of a stored span (``text_fields``)
            ("attributes", 9, field.TYPE_MESSAGE, many,
             ".lumos_studio.slim.TextSpan.AttributesEntry"),
            ("events", 11, field.TYPE_MESSAGE, many, ".lumos_studio.slim.Event"),
        ],
        "Event": [  # a span event's name alone (``event_names``): its attributes stay encoded
            ("time_unix_nano", 1, field.TYPE_FIXED64, one, ""),
            ("name", 2, field.TYPE_BYTES, one, ""),
        ],
        "Status": [  # OTLP's Status with its message as bytes, read leniently like the name
            ("message", 2, field.TYPE_BYTES, one, ""),
            ("code", 3, field.TYPE_INT32, one, ""),
        ],
        "ScopeSpans": [
            ("scope", 1, field.TYPE_MESSAGE, one,
             ".opentelemetry.proto.common.v1.InstrumentationScope"),
            ("spans", 2, field.TYPE_BYTES, many, ""),
            ("schema_url", 3, field.TYPE_STRING, one, ""),
        ],
        "ResourceSpans": [
            ("resource", 1, field.TYPE_MESSAGE, one, ".opentelemetry.proto.resource.v1.Resource"),
            ("scope_spans", 2, field.TYPE_MESSAGE, many, ".lumos_studio.slim.ScopeSpans"),
            ("schema_url", 3, field.TYPE_STRING, one, ""),
        ],
        "Request": [
            ("resource_spans", 1, field.TYPE_MESSAGE, many, ".lumos_studio.slim.ResourceSpans"),
        ],
    }
    for name, fields in layouts.items():
        message = file.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            added = message.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                added.type_name = type_name
    # A KeyValue has the wire form of a map entry (key = 1, value = 2), so the attributes parse
    # into a map from key to the AnyValue's bytes, looked up in C (the last of a repeated key
    # wins, as when decoding them into a dict).
    for message in file.message_type:
        if message.name in ("Span", "TextSpan"):
            entry = message.nested_type.add(name="AttributesEntry")
            entry.options.map_entry = True
            entry.field.add(name="key", number=1, type=field.TYPE_STRING, label=one)
            entry.field.add(name="value", number=2, type=field.TYPE_BYTES, label=one)
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(file.name)
    except KeyError:
        pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{file.package}.{name}"))
        for name in layouts
    }


_SLIM = _slim_messages()
_SlimRequest = _SLIM["Request"]
_SlimSpan = _SLIM["Span"]
_SlimEvent = _SLIM["Event"]
_SlimTextSpan = _SLIM["TextSpan"]


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
        request: Any = _SlimRequest.FromString(body)
    except (DecodeError, RuntimeError) as exc:
        raise OtlpDecodeError(f"invalid protobuf body: {exc}") from None
    for ri, resource_spans in enumerate(request.resource_spans):
        resource = _attributes(resource_spans.resource.attributes)
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
                scope_rest["scope_attributes"] = _attributes(scope.attributes)
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
        span: Any = _SlimSpan.FromString(otlp)
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


def text_fields(
    otlp: bytes, only: frozenset[str]
) -> tuple[list[str], dict[str, Any], list[str]]:
    """What a search index reads of a serialised span, from one parse in C: its attribute keys,
    the values of those in ``only`` decoded (the rest stay encoded), and its events' names (read
    leniently, as a span's). Raises ``DecodeError`` for a span that is not valid protobuf."""
    span: Any = _SlimTextSpan.FromString(otlp)
    encoded = span.attributes
    keys = list(encoded)
    values = {key: _any_value(encoded[key]) for key in only.intersection(keys)}
    return keys, values, [event.name.decode("utf-8", "replace") for event in span.events]


def span_rest(otlp: bytes) -> dict[str, Any]:
    """What a serialised span holds beyond its header, attributes and events, as ``SpanRecord``
    fields (links, trace state, flags, dropped counts); empty for most spans."""
    return _rest(_SlimSpan.FromString(otlp))


def _rest(span: Any) -> dict[str, Any]:
    rest: dict[str, Any] = {}
    if span.links:
        rest["links"] = tuple(_link(encoded) for encoded in span.links)
    if span.trace_state:
        rest["trace_state"] = span.trace_state.decode("utf-8", "replace")
    _add_counts(span, rest)
    return rest


_COUNTS = ("flags", "dropped_attributes_count", "dropped_events_count", "dropped_links_count")


def _add_counts(span: Any, rest: dict[str, Any]) -> None:
    """A span's flags and dropped counts that are set (the full and the slim message alike)."""
    for name in _COUNTS:
        value = getattr(span, name)
        if value:
            rest[name] = value


def decode_span(otlp: bytes) -> tuple[dict[str, Any], tuple[SpanEvent, ...], dict[str, Any]]:
    """A serialised span's attributes, events and ``span_rest`` fields, from one parse (how a
    stored span is read: ``records_codec``). A span with an invalid value is read leniently."""
    try:
        span = Span.FromString(otlp)
    except DecodeError:  # invalid UTF-8 or protobuf somewhere: read what is readable
        try:
            rest: dict[str, Any] = span_rest(otlp)
        except DecodeError:
            rest = {}
        try:
            return decode_span_attributes(otlp), decode_span_events(otlp), rest
        except DecodeError:  # damaged beyond the slim reader too
            return {"<invalid OTLP span>": _unreadable("span", otlp)}, (), rest
    events = tuple(
        SpanEvent(e.name, e.time_unix_nano, _attributes(e.attributes), e.dropped_attributes_count)
        for e in span.events
    )
    rest = {}
    if span.links:
        rest["links"] = tuple(
            SpanLink(link.trace_id.hex(), link.span_id.hex(), link.trace_state,
                     _attributes(link.attributes), link.flags, link.dropped_attributes_count)
            for link in span.links
        )
    if span.trace_state:
        rest["trace_state"] = span.trace_state
    _add_counts(span, rest)
    return _attributes(span.attributes), events, rest


def _link(encoded: bytes) -> SpanLink:
    try:
        link = Span.Link.FromString(encoded)
    except DecodeError:
        return SpanLink("0" * 32, "0" * 16, _unreadable("link", encoded))
    return SpanLink(
        link.trace_id.hex(),
        link.span_id.hex(),
        link.trace_state,
        _attributes(link.attributes),
        link.flags,
        link.dropped_attributes_count,
    )


# ------------------------------------------------------------------------ attributes left encoded


class RawAttributes(Mapping[str, Any]):
    """A span's attributes still in OTLP wire form (``otlp``: the serialised ``Span``).

    ``hot`` holds the ``HOT_ATTRIBUTES`` the decoder read (per column, up to the first with a
    value: what ``semantics.hot.hot_fields`` needs); everything else decodes on first access.
    ``records_codec`` stores ``otlp`` as it is (while the record's events are still its own).
    """

    __slots__ = ("_items", "event_count", "hot", "otlp")

    def __init__(self, otlp: bytes, hot: dict[str, Any], event_count: int = -1) -> None:
        self.otlp = otlp
        self.hot = hot
        self.event_count = event_count  # the span's, in ``otlp`` (-1: not known)
        self._items: dict[str, Any] | None = None

    def _decoded(self) -> dict[str, Any]:
        items = self._items
        if items is None:
            items = self._items = decode_span_attributes(self.otlp)
        return items

    def get(self, key: str, default: Any = None) -> Any:
        hot = self.hot
        if key in hot:
            return hot[key]
        return self._decoded().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._decoded()[key]

    def __contains__(self, key: object) -> bool:
        return key in self.hot or key in self._decoded()

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __repr__(self) -> str:
        return repr(self._decoded())


class RawEvents(Sequence[SpanEvent]):
    """A span's events still in OTLP wire form (``otlp``: the serialised ``Span``)."""

    __slots__ = ("_items", "otlp", "size")

    def __init__(self, otlp: bytes, size: int) -> None:
        self.otlp = otlp
        self.size = size
        self._items: tuple[SpanEvent, ...] | None = None

    def _decoded(self) -> tuple[SpanEvent, ...]:
        items = self._items
        if items is None:
            items = self._items = decode_span_events(self.otlp)
        return items

    def __getitem__(self, index: Any) -> Any:
        return self._decoded()[index]

    def __iter__(self) -> Iterator[SpanEvent]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._decoded())


def _slim_attributes(otlp: bytes) -> Any:
    """A serialised span's attributes as a map of still-encoded ``AnyValue``s by key."""
    span: Any = _SlimSpan.FromString(otlp)
    return span.attributes


def decode_span_attributes(otlp: bytes, only: frozenset[str] | None = None) -> dict[str, Any]:
    """The attributes of a serialised OTLP ``Span`` (how the store keeps protobuf spans).

    With ``only``, just those attributes, read from the encoded KeyValues without decoding the
    others (what the trace index needs of a stored span: its messages).
    """
    if only is None:
        try:
            return _attributes(Span.FromString(otlp).attributes)
        except DecodeError:  # a value is invalid: read the others, and a placeholder for it
            return {key: _any_value(value) for key, value in _slim_attributes(otlp).items()}
    encoded = _slim_attributes(otlp)
    return {name: _any_value(encoded[name]) for name in only if name in encoded}


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
                decoded = _any_value(value)
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


def decode_span_events(otlp: bytes) -> tuple[SpanEvent, ...]:
    """The events of a serialised OTLP ``Span``; one that is invalid reads as a placeholder."""
    try:
        events = Span.FromString(otlp).events
    except DecodeError:
        span: Any = _SlimSpan.FromString(otlp)
        return tuple(_event(encoded, span.start_time_unix_nano) for encoded in span.events)
    return tuple(
        SpanEvent(e.name, e.time_unix_nano, _attributes(e.attributes), e.dropped_attributes_count)
        for e in events
    )


def _event(encoded: bytes, fallback_time_ns: int) -> SpanEvent:
    try:
        event = Span.Event.FromString(encoded)
    except DecodeError:
        return SpanEvent(_unreadable("event", encoded), fallback_time_ns, {})
    return SpanEvent(
        event.name, event.time_unix_nano, _attributes(event.attributes),
        event.dropped_attributes_count,
    )


def _unreadable(what: str, encoded: bytes) -> str:
    """The placeholder for a value kept as it came that is not valid protobuf."""
    return f"<invalid OTLP {what}: {len(encoded)} bytes, not valid protobuf>"


_unpack_double = struct.Struct("<d").unpack_from


def _any_value(value: bytes) -> Any:
    """One encoded AnyValue: strings and numbers read inline, the rest via upb.

    Never raises: invalid UTF-8 reads with replacement characters, and an AnyValue that is not
    valid protobuf (or holds invalid UTF-8 deeper down) as ``_unreadable``'s placeholder.
    """
    end = len(value)
    if not end:
        return None  # the empty AnyValue
    tag = value[0]
    try:
        if tag == 0x0A:  # string_value
            size, start = _varint(value, 1)
            if start + size == end:
                return value[start:end].decode("utf-8", "replace")
        elif tag == 0x18:  # int_value
            number, stop = _varint(value, 1)
            if stop == end:
                return number - (1 << 64) if number >= 1 << 63 else number
        elif tag == 0x21 and end == 9:  # double_value
            return _unpack_double(value, 1)[0]
    except IndexError:  # an unusual but valid encoding: let upb read it
        pass
    try:
        any_value = AnyValue.FromString(value)
    except DecodeError:
        return _unreadable("value", value)
    which = any_value.WhichOneof("value")
    return getattr(any_value, which) if which in _SCALARS else _composite(any_value, which)


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7


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


def _attributes(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    """KeyValues as a dict; scalars are read inline (a call per value halves throughput)."""
    out: dict[str, Any] = {}
    for kv in attributes:
        value = kv.value
        which = value.WhichOneof("value")
        out[kv.key] = getattr(value, which) if which in _SCALARS else _composite(value, which)
    return out


def _composite(value: AnyValue, which: str | None) -> Any:
    """A non-scalar AnyValue as a JSON-compatible value, but bytes stay ``bytes``."""
    if which == "array_value":
        items = []
        for item in value.array_value.values:
            kind = item.WhichOneof("value")
            items.append(getattr(item, kind) if kind in _SCALARS else _composite(item, kind))
        return items
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return value.bytes_value
    return None  # the empty AnyValue

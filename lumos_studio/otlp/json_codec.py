"""OTLP/JSON for spans, and the JSON value rules every OTLP/JSON decoder here shares.

Used by saved-trace files (``files.py``) and the JSON half of the OTLP receiver. The writer follows
the OTLP/JSON rules exactly; the reader is lenient (upper-case or base64 ids, int64 as numbers,
enum names, snake_case keys) because other producers are. A running span is written without
``endTimeUnixNano`` and a missing or zero end time reads back as running.

Values are bounded to what SQLite and the UI hold, per value: a time outside 0..2^63-1 ns
(``1e30``, a negative number, a string of 40 digits) rejects its span with the reason (OTLP
partial success; clamping would store a made-up time), while an ``intValue`` beyond int64 is
kept as sent, a float as that float and anything else as its digits (the encoder writes such
integers as a ``stringValue`` too): one odd attribute never costs its span or its request.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterable, Mapping
from typing import Any

from lumos_studio.otlp._common import (
    INT64_MAX,
    INT64_MIN,
    KIND_TO_OTLP,
    SPAN_ID_BYTES,
    STATUS_TO_OTLP,
    TRACE_ID_BYTES,
    OtlpDecodeError,
    group_records,
    kind_from_otlp,
    kind_to_otlp,
    short,
    status_from_otlp,
    status_to_otlp,
)
from lumos_studio.records import STATUS_UNSET, SpanEvent, SpanLink, SpanRecord

__all__ = ["OtlpDecodeError", "decode_trace_request", "encode_trace_request"]

_ZERO_SPAN_ID = "0" * (2 * SPAN_ID_BYTES)
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

# ---------------------------------------------------------------------------------------- encode


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
                scope["attributes"] = _attributes_to_json(first.scope_attributes)
            scoped: dict[str, Any] = {"scope": scope, "spans": [_span_to_json(s) for s in spans]}
            if first.scope_schema_url:
                scoped["schemaUrl"] = first.scope_schema_url
            scope_spans.append(scoped)
        resource_json: dict[str, Any] = {}
        if resource:
            resource_json["attributes"] = _attributes_to_json(resource)
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
        span["attributes"] = _attributes_to_json(record.attributes)
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
        out["attributes"] = _attributes_to_json(event.attributes)
    if event.dropped_attributes_count:
        out["droppedAttributesCount"] = event.dropped_attributes_count
    return out


def _link_to_json(link: SpanLink) -> dict[str, Any]:
    out: dict[str, Any] = {"traceId": link.trace_id, "spanId": link.span_id}
    if link.trace_state:
        out["traceState"] = link.trace_state
    if link.attributes:
        out["attributes"] = _attributes_to_json(link.attributes)
    if link.dropped_attributes_count:
        out["droppedAttributesCount"] = link.dropped_attributes_count
    if link.flags:
        out["flags"] = link.flags
    return out


def _attributes_to_json(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": str(key), "value": _any_to_json(value)} for key, value in attributes.items()]


def _any_to_json(value: Any) -> dict[str, Any]:
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
        return {"kvlistValue": {"values": _attributes_to_json(value)}}
    if isinstance(value, list | tuple):
        if not value:
            return {"arrayValue": {}}
        return {"arrayValue": {"values": [_any_to_json(item) for item in value]}}
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


# ---------------------------------------------------------------------------------------- decode


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


# OtlpDecodeError is a ValueError; the others come from values of the wrong JSON type.
_MALFORMED = (TypeError, ValueError, AttributeError)


def _resource_list(obj: Any, camel: str, snake: str) -> list[Any]:
    """The top-level resource list of an export request, or an error saying what was wrong."""
    if not isinstance(obj, dict):
        raise OtlpDecodeError(f"expected a JSON object, got {type(obj).__name__}")
    try:
        return _list(_get(obj, camel, snake))
    except OtlpDecodeError as exc:
        raise OtlpDecodeError(f"{camel}: {exc}") from None


def _located(where: str, exc: Exception) -> OtlpDecodeError:
    if isinstance(exc, OtlpDecodeError):
        return OtlpDecodeError(f"{where}: {exc}")
    return OtlpDecodeError(f"{where}: malformed ({type(exc).__name__}: {exc})")


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


def _uint32(value: Any, field: str) -> int:
    number = _int(value, field)
    if 0 <= number <= 0xFFFFFFFF:
        return number
    raise OtlpDecodeError(f"{field}: {short(value)} is not a 32-bit unsigned integer")


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


def _attributes_from_json(owner: dict[str, Any]) -> dict[str, Any]:
    """Read ``owner["attributes"]`` (a list of KeyValue) into a plain dict."""
    attributes = owner.get("attributes")
    if not attributes:
        return {}
    return _kvlist_from_json(attributes)


def _kvlist_from_json(values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in _list(values):
        if type(kv) is not dict:
            raise OtlpDecodeError(f"attribute: expected an object, got {short(kv)}")
        key = kv.get("key")
        if type(key) is not str:
            raise OtlpDecodeError(f"attribute key must be a string, got {short(key)}")
        out[key] = _any_from_json(kv.get("value"))
    return out


def _any_from_json(value: Any) -> Any:
    """Decode one ``AnyValue`` object; the empty AnyValue (or a missing one) is None."""
    if type(value) is dict:
        for kind, inner in value.items():
            decode = _ANY_DECODERS.get(kind)
            if decode is not None:
                return decode(inner)
        return None  # empty, or only a value kind newer than this reader
    if value is None:
        return None
    raise OtlpDecodeError(f"attribute value: expected an object, got {short(value)}")


def _string_value(inner: Any) -> str:
    return inner if type(inner) is str else _str(inner, "stringValue")


def _bool_value(inner: Any) -> bool:
    if type(inner) is bool:
        return inner
    raise OtlpDecodeError(f"boolValue: expected true or false, got {short(inner)}")


def _int_value(inner: Any) -> int | float | str:
    """An int64; one beyond int64 is kept as sent (see the module's docstring), not refused."""
    number = _int(inner, "intValue")
    if INT64_MIN <= number <= INT64_MAX:
        return number
    return inner if type(inner) is float else str(number)


def _double_value(inner: Any) -> float:
    if type(inner) is float or type(inner) is int:
        return float(inner)
    if isinstance(inner, str):
        try:
            return float(inner)  # also "NaN", "Infinity", "-Infinity" from proto3 JSON
        except ValueError:
            pass
    raise OtlpDecodeError(f"doubleValue: not a number: {short(inner)}")


def _array_value(inner: Any) -> list[Any]:
    return [_any_from_json(item) for item in _list(_object(inner).get("values"))]


def _kvlist_value(inner: Any) -> dict[str, Any]:
    return _kvlist_from_json(_object(inner).get("values"))


def _bytes_value(inner: Any) -> bytes:
    """Bytes stay bytes in a record, so they are written back as ``bytesValue``."""
    text = _str(inner, "bytesValue")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    decoded = _b64_id(text)  # protobuf's JSON parser accepts URL-safe, unpadded base64 too
    if decoded is None:
        raise OtlpDecodeError(f"bytesValue: invalid base64 {short(text)}")
    return decoded


_ANY_DECODERS = {
    "stringValue": _string_value,
    "boolValue": _bool_value,
    "intValue": _int_value,
    "doubleValue": _double_value,
    "arrayValue": _array_value,
    "kvlistValue": _kvlist_value,
    "bytesValue": _bytes_value,
    "string_value": _string_value,
    "bool_value": _bool_value,
    "int_value": _int_value,
    "double_value": _double_value,
    "array_value": _array_value,
    "kvlist_value": _kvlist_value,
    "bytes_value": _bytes_value,
}

_KIND_NAMES = {"UNSPECIFIED": 0, **KIND_TO_OTLP}
_KIND_NAMES.update({f"SPAN_KIND_{name}": code for name, code in list(_KIND_NAMES.items())})
_STATUS_NAMES = dict(STATUS_TO_OTLP)
_STATUS_NAMES.update({f"STATUS_CODE_{name}": code for name, code in list(_STATUS_NAMES.items())})


def _kind_from_json(value: Any) -> str:
    return kind_from_otlp(_enum(value, _KIND_NAMES, "kind"))


def _status_from_json(value: Any) -> str:
    return status_from_otlp(_enum(value, _STATUS_NAMES, "status.code"))


def _enum(value: Any, names: dict[str, int], field: str) -> int:
    """An enum given as its number (the OTLP/JSON rule) or as its name (protobuf JSON)."""
    if value is None:
        return 0
    if type(value) is int:
        return value
    if isinstance(value, str):
        code = names.get(value.upper())
        if code is not None:
            return code
        if value.isdigit():
            return int(value)
    raise OtlpDecodeError(f"{field}: unknown value {short(value)}")


def _id_from_json(value: Any, size: int, field: str) -> str:
    """A required trace or span id as lowercase hex; all zeros is invalid (OTLP spec)."""
    hex_id = _hex_id(value, size, field)
    if hex_id.strip("0"):
        return hex_id
    raise OtlpDecodeError(f"{field}: all-zero id {short(value)} is invalid")


def _hex_id(value: Any, size: int, field: str) -> str:
    """Normalise an id to lowercase hex; accepts hex in any case or base64 of ``size`` bytes.

    A string of hex digits only is always read as hex, so a truncated hex id is an error rather
    than a lucky base64 decode.
    """
    if isinstance(value, str) and value:
        raw: bytes | None = None
        if len(value) == 2 * size:
            try:
                raw = bytes.fromhex(value)
            except ValueError:
                raw = None
        elif not _HEX_DIGITS.issuperset(value):
            raw = _b64_id(value)
        if raw is not None and len(raw) == size:
            return raw.hex()
    if value is None or value == "":
        raise OtlpDecodeError(f"{field}: missing")
    expected = f"{2 * size} hex digits or base64 of {size} bytes"
    raise OtlpDecodeError(f"{field}: invalid id {short(value)} (expected {expected})")


def _b64_id(value: str) -> bytes | None:
    """Base64 (standard or URL-safe, padding optional), as protobuf's own JSON mapping emits."""
    text = value.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _int(value: Any, field: str) -> int:
    """An int64 given as a decimal string (the OTLP/JSON rule) or as a JSON number; missing is 0."""
    if type(value) is int:
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    elif type(value) is float and value.is_integer():
        return int(value)
    raise OtlpDecodeError(f"{field}: not an integer: {short(value)}")


def _time(value: Any, field: str) -> int:
    """Nanoseconds since 1970 as SQLite holds them (int64, so before 2262); missing is 0."""
    number = _int(value, field)
    if 0 <= number <= INT64_MAX:
        return number
    raise OtlpDecodeError(
        f"{field}: {short(value)} is not a time the store can hold (0 to 2^63-1 ns since 1970, "
        "before the year 2262)"
    )


def _str(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    raise OtlpDecodeError(f"{field}: expected a string, got {short(value)}")


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _object(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if value is None:
        return {}
    raise OtlpDecodeError(f"expected an object, got {short(value)}")


def _require_object(value: Any) -> None:
    if not isinstance(value, dict):
        raise OtlpDecodeError(f"expected an object, got {short(value)}")


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise OtlpDecodeError(f"expected a list, got {short(value)}")

"""Converting between ``SpanRecord`` and the ``spans`` table row.

A span's ``attributes`` and ``events`` columns hold JSON text, or, for a span that arrived as OTLP
protobuf, ``attributes`` holds that span as it came (a serialised OTLP ``Span``, a BLOB) and its
attributes and events are read from it (``events`` is then NULL, unless set apart). Writing those
bytes as they came is what lets the receiver keep up (``otlp.proto_codec``); ``row_to_record``
tells the forms apart by SQLite's storage class. A record holding ``bytes`` values (OTLP
``bytesValue``), which JSON text cannot keep apart from strings, is stored as such bytes too.

``extra`` holds the rest of what OTLP says of a span (``SpanRecord``'s links, trace state,
dropped counts, scope attributes and schema URLs) as a JSON object of the fields that are set, or
NULL, and ``flags`` its flags; for a span stored as bytes only its scope's and resource's part
(the span's is in them).
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

import orjson

from lumos_studio.records import LogRecord, SpanEvent, SpanLink, SpanRecord
from lumos_studio.semantics.hot import hot_fields


def _default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot store {type(value).__name__} in an attribute")


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, default=_default).decode()
    except TypeError:  # an int past 64 bits or a lone surrogate (from in-process code): mend it
        return orjson.dumps(_mended(value), default=_default).decode()


def _mended(value: Any) -> Any:
    """``value`` with ints beyond int64 as their digits and strings with lone surrogates made
    valid (replacement characters), so one such value does not cost its span."""
    kind = type(value)
    if kind is int:
        return value if _INT64_MIN <= value <= _INT64_MAX else str(value)
    if kind is str:
        # Through UTF-16: a lone surrogate becomes one U+FFFD, a split pair the character.
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if isinstance(value, dict):
        return {_mended(str(key)): _mended(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mended(item) for item in value]
    return value


_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def column_value(value: Any) -> Any:
    """An attribute's value as a column value SQLite can bind (text for an int beyond int64, a
    list or a map), so a malformed attribute cannot fail the writer's transaction."""
    kind = type(value)
    if kind is str or value is None or kind is float:
        return value
    if kind is int or kind is bool:
        return value if _INT64_MIN <= value <= _INT64_MAX else str(value)
    return _dumps(value)


# The spans of one request (or one process) share one resource mapping: its JSON is made once.
_resource_cache: dict[int, tuple[Any, str]] = {}


def resource_json(resource: Any) -> str:
    """A resource mapping as JSON text, made once for all the spans that share the mapping."""
    cached = _resource_cache.get(id(resource))
    if cached is None or cached[0] is not resource:
        if len(_resource_cache) > 256:
            _resource_cache.clear()
        cached = _resource_cache[id(resource)] = (resource, _dumps(resource))
    return cached[1]


def _has_bytes(value: Any) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        return True
    if isinstance(value, dict):
        return any(_has_bytes(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_bytes(item) for item in value)
    return False


def _record_has_bytes(record: SpanRecord) -> bool:
    return (
        _has_bytes(record.attributes)
        or any(_has_bytes(event.attributes) for event in record.events)
        or any(_has_bytes(link.attributes) for link in record.links)
    )


def _json_or_none(value: Any) -> str | None:
    """``value`` as JSON text, or None if it holds bytes (JSON text would make them strings)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        if _has_bytes(value):
            return None
        return _dumps(value)


def scope_extra(record: SpanRecord) -> dict[str, Any]:
    """The scope's and resource's part of ``extra``."""
    extra: dict[str, Any] = {}
    if record.scope_attributes:
        extra["scope_attributes"] = record.scope_attributes
    if record.scope_schema_url:
        extra["scope_schema_url"] = record.scope_schema_url
    if record.resource_schema_url:
        extra["resource_schema_url"] = record.resource_schema_url
    return extra


def _span_extra(record: SpanRecord) -> dict[str, Any]:
    """The span's own part of ``extra`` (kept in the bytes for a span stored as bytes)."""
    extra: dict[str, Any] = {}
    if record.links:
        extra["links"] = [
            [link.trace_id, link.span_id, link.trace_state, link.attributes, link.flags,
             link.dropped_attributes_count]
            for link in record.links
        ]
    for name in _SPAN_EXTRA_SCALARS:
        value = getattr(record, name)
        if value:
            extra[name] = value
    return extra


_SPAN_EXTRA_SCALARS = (
    "trace_state", "dropped_attributes_count", "dropped_events_count", "dropped_links_count",
)


def record_to_row(record: SpanRecord) -> tuple[Any, ...]:
    """The row tuple, in ``schema.SPAN_COLUMNS`` order."""
    attributes = record.attributes
    events = record.events
    # RawAttributes / RawEvents (OTLP protobuf still encoded) carry the span's bytes as ``otlp``.
    span_bytes = getattr(attributes, "otlp", None)
    events_bytes = getattr(events, "otlp", None)
    attributes_column: Any = None
    events_column: Any = None
    if span_bytes is None:
        attributes_column = _json_or_none(attributes)
        if attributes_column is not None and events_bytes is None and events:
            events_column = _json_or_none([
                [e.name, e.time_ns, e.attributes, e.dropped_attributes_count]
                if e.dropped_attributes_count else [e.name, e.time_ns, e.attributes]
                for e in events
            ])
            if events_column is None:
                attributes_column = None
        if attributes_column is None or (record.links and _record_has_bytes(record)):
            from lumos_studio.otlp.proto_encode import encode_span  # rare: bytes values

            span_bytes = attributes_column = encode_span(record)
            events_bytes = None
            events_column = None
    else:
        attributes_column = span_bytes
    if events_bytes is not None:
        events_column = None if events_bytes is span_bytes else events_bytes
    elif span_bytes is not None and not events:
        events_column = "[]"  # "no events", said explicitly: the stored bytes may hold some
    has_extra = (
        record.links or record.trace_state or record.dropped_attributes_count
        or record.dropped_events_count or record.dropped_links_count or record.scope_attributes
        or record.scope_schema_url or record.resource_schema_url
    )
    # RawAttributes: the hot values the decoder read are all ``hot_fields`` needs of it.
    hot = hot_fields(getattr(attributes, "hot", attributes).get)
    extra_column = None
    own_fields = span_bytes is None and events_bytes is None  # else they are in the bytes
    if has_extra:
        extra = scope_extra(record)
        if own_fields:
            extra.update(_span_extra(record))
        extra_column = _dumps(extra) if extra else None
    return (
        record.trace_id,
        record.span_id,
        record.parent_span_id,
        record.name,
        record.kind,
        record.start_ns,
        record.end_ns,
        record.status_code,
        record.status_message,
        column_value(hot.operation),
        column_value(hot.agent),
        column_value(hot.model),
        column_value(hot.tool),
        column_value(hot.input_tokens),
        column_value(hot.output_tokens),
        column_value(record.resource.get("service.name")),
        record.scope_name,
        record.scope_version,
        attributes_column,
        events_column,
        resource_json(record.resource),
        extra_column,
        record.flags if own_fields and record.flags else None,
    )


def row_to_record(row: sqlite3.Row) -> SpanRecord:
    """Rebuild the record from a full ``spans`` row."""
    attributes, events = row["attributes"], row["events"]
    otlp = attributes if isinstance(attributes, bytes) else None
    if events is None and otlp is not None:
        events = otlp  # the events of a span stored as OTLP bytes are in those bytes
    elif isinstance(events, bytes):
        otlp = events
    rest: dict[str, Any] = {}
    try:
        extra, flags = row["extra"], row["flags"]
    except IndexError:  # a row of a store before schema 7, read by a migration
        extra = flags = None
    if extra:
        rest = _rest_from_json(orjson.loads(extra))
    if flags:
        rest["flags"] = flags
    if otlp is not None:
        from lumos_studio.otlp.proto_codec import span_rest

        rest.update(span_rest(otlp))
    return SpanRecord(
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        parent_span_id=row["parent_span_id"],
        name=row["name"],
        start_ns=row["start_ns"],
        end_ns=row["end_ns"],
        kind=row["kind"],
        status_code=row["status_code"],
        status_message=row["status_message"] or "",
        attributes=_attributes(attributes) if attributes else {},
        events=_events(events) if events else (),
        resource=orjson.loads(row["resource"]) if row["resource"] else {},
        scope_name=row["scope_name"] or "",
        scope_version=row["scope_version"] or "",
        **rest,
    )


_REST_FIELDS = frozenset((*_SPAN_EXTRA_SCALARS, "scope_attributes", "scope_schema_url",
                          "resource_schema_url"))


def _rest_from_json(extra: dict[str, Any]) -> dict[str, Any]:
    rest = {name: value for name, value in extra.items() if name in _REST_FIELDS}
    links = extra.get("links")
    if links:
        rest["links"] = tuple(SpanLink(*link) for link in links)
    return rest


def log_to_row(record: LogRecord) -> tuple[Any, ...]:
    """The row tuple, in ``schema.LOG_COLUMNS`` order; the body is stored as JSON text."""
    body = _dumps(record.body)
    attributes = _dumps(record.attributes) if record.attributes else None
    identity = f"{record.time_ns}|{record.trace_id}|{record.span_id}|{record.severity_number}|"
    digest = hashlib.blake2b(
        (identity + body + (attributes or "")).encode(), digest_size=8
    ).digest()
    return (
        int.from_bytes(digest, "big", signed=True),
        record.time_ns,
        record.observed_time_ns or None,
        record.severity_number,
        record.severity_text,
        body,
        record.trace_id,
        record.span_id,
        record.event_name or None,
        record.scope_name or None,
        column_value(record.resource.get("service.name")),
        attributes,
        _dumps(record.resource) if record.resource else None,
    )


def row_to_log(row: sqlite3.Row) -> LogRecord:
    """Rebuild a log record from a full ``logs`` row."""
    return LogRecord(
        time_ns=row["time_ns"],
        body=orjson.loads(row["body"]),
        severity_number=row["severity_number"] or 0,
        severity_text=row["severity_text"] or "",
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        event_name=row["event_name"] or "",
        attributes=orjson.loads(row["attributes"]) if row["attributes"] else {},
        resource=orjson.loads(row["resource"]) if row["resource"] else {},
        scope_name=row["scope_name"] or "",
        observed_time_ns=row["observed_time_ns"] or 0,
    )


def _attributes(column: str | bytes) -> dict[str, Any]:
    if isinstance(column, bytes):
        from lumos_studio.otlp.proto_codec import decode_span_attributes  # imported on demand

        return decode_span_attributes(column)
    attributes: dict[str, Any] = orjson.loads(column)
    return attributes


def _events(column: str | bytes) -> tuple[SpanEvent, ...]:
    if isinstance(column, bytes):
        from lumos_studio.otlp.proto_codec import decode_span_events

        return decode_span_events(column)
    return tuple(SpanEvent(*event) for event in orjson.loads(column))

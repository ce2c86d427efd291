"""The stored form of a record: a ``SpanRecord`` or ``LogRecord`` as a store row, and back.

One form for every span, wherever it came from (OTLP protobuf or JSON, the in-process processor,
a file): columns for what the store filters, sorts and sums on (ids, name, times, status, the
``semantics.hot`` fields, service, scope), the resource as JSON text, and the span itself as a
serialised OTLP ``Span`` message in ``span``, zstd-compressed once the writer is idle, with the
store's dictionary (``span_compression``, ``store.compaction``; ``unpack`` reads every form).
A span received as protobuf is kept as its bytes came: that is what lets the receiver keep up;
any other is encoded by ``otlp.span_bytes``. Protobuf keeps everything OTLP says of a span
(links, trace state, flags, dropped counts, every event, ``bytes`` values, NaN); what its scope
says (attributes, schema URLs, shared by the scope's spans) is in ``extra``, JSON text or NULL.

``bench/storage_formats.py`` measured the candidates for the GenAI load: JSON text and plain
protobuf ~4.2 KB a span on disk, compressed protobuf ~2.1; zstd compressed ~3x faster than zlib
for the same size; JSON would cost the protobuf receiver ~40 µs a span to make. The columns win
over the ``span`` column when both say something (a record ``replace``-d after decoding keeps
its bytes).
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from typing import Any

import orjson

from lumos_studio.otlp.span_bytes import span_bytes
from lumos_studio.records import LogRecord, SpanEvent, SpanRecord
from lumos_studio.semantics.hot import hot_fields
from lumos_studio.span_compression import pack, unpack

__all__ = [
    "LOG_COLUMNS",
    "SPAN_COLUMNS",
    "column_value",
    "extra_column",
    "log_from_row",
    "log_row",
    "pack",
    "resource_json",
    "scope_extra",
    "span_from_row",
    "span_row",
    "stored_span",
    "unpack",
]

SPAN_COLUMNS: tuple[str, ...] = (
    "trace_id", "span_id", "parent_span_id", "name", "kind", "start_ns", "end_ns", "status_code",
    "status_message", "operation", "agent_name", "model", "tool_name", "input_tokens",
    "output_tokens", "service_name", "scope_name", "scope_version", "resource", "extra", "span",
)
LOG_COLUMNS: tuple[str, ...] = (
    "fingerprint", "time_ns", "observed_time_ns", "severity_number", "severity_text", "body",
    "trace_id", "span_id", "event_name", "scope_name", "service_name", "attributes", "resource",
)

# ------------------------------------------------------------------------------ the span's bytes

# ------------------------------------------------------------------------------------- spans


def span_row(record: SpanRecord) -> tuple[Any, ...]:
    """The row tuple of a span, in ``SPAN_COLUMNS`` order."""
    attributes = record.attributes
    # RawAttributes: the hot values the decoder read are all ``hot_fields`` needs of it (a
    # dict, the in-process processor's, has none to look for).
    hot = hot_fields(
        attributes.get if type(attributes) is dict else getattr(attributes, "hot", attributes).get
    )
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
        resource_json(record.resource),
        extra_column(record),
        stored_span(record),
    )


def stored_span(record: SpanRecord) -> bytes:
    """The ``span`` column's value as ingest writes it: the span's OTLP bytes as they came (a
    ``RawAttributes`` or ``RawEvents`` carries them as ``otlp``), or the record encoded. The
    writer compresses them as it stores them (``store.write_packing``), on its own thread."""
    if type(record.attributes) is dict and type(record.events) is tuple:
        return _encoded(record)  # made here (the in-process processor's): no bytes came
    return _as_received(record) or _encoded(record)


def _as_received(record: SpanRecord) -> bytes | None:
    """The bytes the record was decoded from, while its attributes and events are still
    theirs (a record ``replace``-d with other ones is encoded again)."""
    attributes, events = record.attributes, record.events
    otlp: bytes | None = getattr(attributes, "otlp", None)
    events_otlp: bytes | None = getattr(events, "otlp", None)
    if otlp is None:
        return events_otlp if events_otlp is not None and not attributes else None
    if events_otlp is otlp or (not events and getattr(attributes, "event_count", -1) == 0):
        return otlp
    return None


def _encoded(record: SpanRecord) -> bytes:
    """The record as an OTLP ``Span``; values protobuf cannot hold (lone surrogates, from
    in-process code) mended, so one such value does not cost its span."""
    try:
        return span_bytes(record)  # upb's bytes, without building its message
    except ValueError:  # UnicodeEncodeError: a str with a lone surrogate
        mended = replace(
            record,
            name=_mended(record.name),
            status_message=_mended(record.status_message),
            attributes=_mended(dict(record.attributes)),
            events=tuple(SpanEvent(_mended(e.name), e.time_ns, _mended(e.attributes),
                                   e.dropped_attributes_count) for e in record.events),
            links=tuple(replace(link, attributes=_mended(link.attributes))
                        for link in record.links),
            trace_state=_mended(record.trace_state),
        )
        return span_bytes(mended)


def span_from_row(row: sqlite3.Row) -> SpanRecord:
    """Rebuild the record from a full ``spans`` row."""
    from lumos_studio.otlp.proto_span import decode_span  # protobuf: ~45 ms to import

    stored = row["span"]
    attributes, events, rest = decode_span(unpack(stored) if stored else b"")
    extra = row["extra"]
    if extra:
        rest.update(_scope_fields(orjson.loads(extra)))
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
        attributes=attributes,
        events=events,
        resource=orjson.loads(row["resource"]) if row["resource"] else {},
        scope_name=row["scope_name"] or "",
        scope_version=row["scope_version"] or "",
        **rest,
    )


_SCOPE_FIELDS = ("scope_attributes", "scope_schema_url", "resource_schema_url")


def scope_extra(record: SpanRecord) -> dict[str, Any]:
    """What the record's scope and resource say beyond the columns (the ``extra`` column)."""
    extra: dict[str, Any] = {}
    for name in _SCOPE_FIELDS:
        value = getattr(record, name)
        if value:
            extra[name] = value
    return extra


def extra_column(record: SpanRecord) -> str | None:
    """The ``extra`` column's value: ``scope_extra`` as JSON text, or None."""
    if not (record.scope_attributes or record.scope_schema_url or record.resource_schema_url):
        return None  # most spans: their scope and resource say nothing more
    extra = scope_extra(record)
    return _dumps(extra) if extra else None


def _scope_fields(extra: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in extra.items() if name in _SCOPE_FIELDS}


# ------------------------------------------------------------------------------------ values

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


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
    valid (replacement characters), so one such value does not cost its record."""
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


# -------------------------------------------------------------------------------------- logs


def log_row(record: LogRecord) -> tuple[Any, ...]:
    """The row tuple of a log record, in ``LOG_COLUMNS`` order; the body is JSON text."""
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


def log_from_row(row: sqlite3.Row) -> LogRecord:
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

"""Reading a span row of a store before schema 8, for the migration that rewrites it.

Until schema 7 a span was kept in two forms: a span that came as OTLP protobuf as its bytes in
``attributes`` (a BLOB; ``events`` NULL or ``"[]"``, or its bytes when it had no attributes), any
other as JSON text in ``attributes`` and ``events``, with its links, trace state and dropped
counts in ``extra`` (JSON) and its flags in ``flags``. ``records_codec`` has one form now.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from lumos_studio.otlp.proto_span import (
    decode_span_attributes,
    decode_span_events,
    span_rest,
)
from lumos_studio.records import SpanEvent, SpanLink, SpanRecord

_REST_FIELDS = frozenset((
    "trace_state", "dropped_attributes_count", "dropped_events_count", "dropped_links_count",
    "scope_attributes", "scope_schema_url", "resource_schema_url",
))


def span_from_v7_row(row: sqlite3.Row) -> tuple[SpanRecord, bytes | None]:
    """The record a schema 1–7 ``spans`` row holds (schema < 7: no ``extra``, no ``flags``),
    and, for a span that came as OTLP protobuf, its bytes as they came."""
    attributes, events = row["attributes"], row["events"]
    otlp = attributes if isinstance(attributes, bytes) else None
    if events is None and otlp is not None:
        events = otlp  # the events of a span stored as OTLP bytes are in those bytes
    elif isinstance(events, bytes):
        otlp = events
    keys = row.keys()
    extra = row["extra"] if "extra" in keys else None
    flags = row["flags"] if "flags" in keys else None
    rest: dict[str, Any] = {}
    if extra:
        rest = _rest_from_json(orjson.loads(extra))
    if flags:
        rest["flags"] = flags
    if otlp is not None:
        rest.update(span_rest(otlp))
    record = SpanRecord(
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        parent_span_id=row["parent_span_id"],
        name=row["name"],
        start_ns=row["start_ns"],
        end_ns=row["end_ns"],
        kind=row["kind"] or "INTERNAL",
        status_code=row["status_code"] or "UNSET",
        status_message=row["status_message"] or "",
        attributes=_attributes(attributes) if attributes else {},
        events=_events(events) if events else (),
        resource=orjson.loads(row["resource"]) if row["resource"] else {},
        scope_name=row["scope_name"] or "",
        scope_version=row["scope_version"] or "",
        **rest,
    )
    return record, otlp


def _rest_from_json(extra: dict[str, Any]) -> dict[str, Any]:
    rest = {name: value for name, value in extra.items() if name in _REST_FIELDS}
    links = extra.get("links")
    if links:
        rest["links"] = tuple(SpanLink(*link) for link in links)
    return rest


def _attributes(column: str | bytes) -> dict[str, Any]:
    if isinstance(column, bytes):
        return decode_span_attributes(column)
    attributes: dict[str, Any] = orjson.loads(column)
    return attributes


def _events(column: str | bytes) -> tuple[SpanEvent, ...]:
    if isinstance(column, bytes):
        return decode_span_events(column)
    return tuple(SpanEvent(*event) for event in orjson.loads(column))

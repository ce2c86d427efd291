"""``lumos.span.started`` events → running spans.

OTLP ships a span only when it ends, so a worker announces each span as it starts with an event
log record (contract: ``semconv.EVENT_SPAN_STARTED``). Every ingest path (receiver, files, the
in-process log processor) turns those events into running ``SpanRecord``s, so the tree shows the
step with a ticking timer; the finished span replaces it later (the store never lets a started
copy overwrite a finished one).

Kept free of SDK imports: file readers call it too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lumos_core.telemetry.semconv import EVENT_SPAN_STARTED
from lumos_studio.records import LogRecord, SpanRecord

__all__ = ["split_started", "started_span_from_log"]

_KIND_NAMES = ("INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
_KIND_BY_NUMBER = ("INTERNAL", *_KIND_NAMES)  # OTLP numbers; 0 (unspecified) reads as INTERNAL
_HEX = frozenset("0123456789abcdef")


def started_span_from_log(log: LogRecord) -> SpanRecord | None:
    """The running span a ``lumos.span.started`` event announces, or None.

    None also for a malformed event (no ids, no name, a body that is not an object): it is then
    stored as an ordinary log line, where it can be seen, rather than dropped.
    """
    if log.event_name != EVENT_SPAN_STARTED or not log.trace_id or not log.span_id:
        return None
    body = log.body
    if not isinstance(body, dict):
        return None
    name = body.get("name")
    kind = _kind(body.get("kind"))
    start_ns = _int(body.get("start_time_unix_nano"))
    attributes = body.get("attributes")
    parent = body.get("parent_span_id")
    if attributes is None:
        attributes = {}
    if not isinstance(name, str) or not name or kind is None or not isinstance(attributes, dict):
        return None
    if parent is not None and not _is_span_id(parent):
        return None
    return SpanRecord(
        trace_id=log.trace_id,
        span_id=log.span_id,
        parent_span_id=parent.lower() if parent and parent.strip("0") else None,
        name=name,
        start_ns=start_ns or log.time_ns,
        end_ns=None,
        kind=kind,
        attributes=attributes,
        resource=log.resource,
        scope_name=log.scope_name,
    )


def split_started(logs: Iterable[LogRecord]) -> tuple[list[SpanRecord], list[LogRecord]]:
    """Separate started-span events (as running spans) from the log records to store as logs."""
    spans: list[SpanRecord] = []
    rest: list[LogRecord] = []
    for log in logs:
        span = started_span_from_log(log) if log.event_name == EVENT_SPAN_STARTED else None
        if span is None:
            rest.append(log)
        else:
            spans.append(span)
    return spans, rest


def _kind(value: Any) -> str | None:
    """A kind as the SDK's name (``CLIENT``), the OTLP enum name or number; missing = INTERNAL."""
    if value is None or value == "":
        return "INTERNAL"
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _KIND_BY_NUMBER[value] if 0 <= value < len(_KIND_BY_NUMBER) else None
    if isinstance(value, str):
        name = value.upper().removeprefix("SPAN_KIND_")
        if name == "UNSPECIFIED":
            return "INTERNAL"
        return name if name in _KIND_NAMES else None
    return None


_INT64_MAX = 2**63 - 1


def _int(value: Any) -> int:
    """Nanoseconds as a number or a decimal string (JSON carries int64 as strings); else 0.

    A time SQLite cannot hold (past 2^63 - 1 ns) is 0 too: the span then starts at the event's
    own time, which the decoder bounded, instead of failing the writer's transaction.
    """
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value <= _INT64_MAX else 0
    return 0


def _is_span_id(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 16 and _HEX.issuperset(value.lower())

"""SDK spans → ``SpanRecord``. Runs on the writer thread, never on the agent's."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from lumos_studio.records import SpanEvent, SpanRecord


def _plain(attributes: Any) -> dict[str, Any]:
    """Attribute mapping → JSON-shaped dict (sequences as lists, so stored copies compare equal)."""
    if not attributes:
        return {}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in attributes.items()}


def span_to_record(span: ReadableSpan) -> SpanRecord:
    """Convert a finished (or, for ``on_start`` copies, running) SDK span."""
    context = span.context
    parent = span.parent
    scope = span.instrumentation_scope
    status = span.status
    return SpanRecord(
        trace_id=format(context.trace_id, "032x"),
        span_id=format(context.span_id, "016x"),
        parent_span_id=format(parent.span_id, "016x") if parent is not None else None,
        name=span.name,
        start_ns=span.start_time or 0,
        end_ns=span.end_time,
        kind=span.kind.name,
        status_code=status.status_code.name,
        status_message=status.description or "",
        attributes=_plain(span.attributes),
        events=tuple(SpanEvent(e.name, e.timestamp, _plain(e.attributes)) for e in span.events),
        resource=_plain(span.resource.attributes),
        scope_name=scope.name if scope else "",
        scope_version=(scope.version or "") if scope else "",
    )

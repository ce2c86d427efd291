"""SDK spans → ``SpanRecord``. Runs on the writer thread, never on the agent's."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan

from lumos_studio.records import SpanEvent, SpanRecord

# A process has one or two resources; converting one per span cost ~4 µs for the same answer.
_resources: dict[int, tuple[Resource, dict[str, Any]]] = {}


def plain(attributes: Any) -> dict[str, Any]:
    """Attribute mapping → JSON-shaped dict (sequences as lists, so stored copies compare equal)."""
    if not attributes:
        return {}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in attributes.items()}


def resource_dict(resource: Resource) -> dict[str, Any]:
    cached = _resources.get(id(resource))
    if cached is None or cached[0] is not resource:
        if len(_resources) > 64:
            _resources.clear()
        cached = _resources[id(resource)] = (resource, plain(resource.attributes))
    return cached[1]


def _identity(span: ReadableSpan) -> dict[str, Any]:
    """What a span is, as opposed to what happened in it: the same at start and at end."""
    context = span.context
    parent = span.parent
    scope = span.instrumentation_scope
    return {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "parent_span_id": format(parent.span_id, "016x") if parent is not None else None,
        "name": span.name,
        "start_ns": span.start_time or 0,
        "kind": span.kind.name,
        "resource": resource_dict(span.resource),
        "scope_name": scope.name if scope else "",
        "scope_version": (scope.version or "") if scope else "",
    }


def span_to_record(span: ReadableSpan) -> SpanRecord:
    """Convert a finished SDK span."""
    status = span.status
    events = span.events
    return SpanRecord(
        **_identity(span),
        end_ns=span.end_time,
        status_code=status.status_code.name,
        status_message=status.description or "",
        attributes=plain(span.attributes),
        events=tuple(SpanEvent(e.name, e.timestamp, plain(e.attributes)) for e in events)
        if events
        else (),
    )


def started_record(span: ReadableSpan, attributes: dict[str, Any]) -> SpanRecord:
    """A running span as it was at start (``attributes`` copied then: the SDK keeps mutating)."""
    return SpanRecord(**_identity(span), end_ns=None, attributes=plain(attributes))

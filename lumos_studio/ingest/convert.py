"""SDK spans → ``SpanRecord``. Runs on the writer thread, never on the agent's."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan

from lumos_studio.records import SpanEvent, SpanLink, SpanRecord

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


# OTLP's span flags as the SDK's exporter sets them: "has is-remote", and "is remote".
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200


def _flags(context: Any) -> int:
    """OTLP flags of a span's parent or a link's context, as the SDK's OTLP exporter writes them
    (the is-remote bits only), so a span reads the same in-process and through the receiver."""
    if context is not None and context.is_remote:
        return _HAS_IS_REMOTE | _IS_REMOTE
    return _HAS_IS_REMOTE


# What a span shares with every span of its tracer (resource, scope, their schema URLs): made
# once per (scope, resource) pair, as the resource's dict is.
_shared: dict[tuple[int, int], tuple[Any, Resource, dict[str, Any]]] = {}


def _shared_fields(scope: Any, resource: Resource) -> dict[str, Any]:
    key = (id(scope), id(resource))
    cached = _shared.get(key)
    if cached is None or cached[0] is not scope or cached[1] is not resource:
        if len(_shared) > 256:
            _shared.clear()
        fields: dict[str, Any] = {
            "resource": resource_dict(resource),
            "scope_name": scope.name if scope else "",
            "scope_version": (scope.version or "") if scope else "",
        }
        if scope is not None:
            if scope.attributes:
                fields["scope_attributes"] = plain(scope.attributes)
            if scope.schema_url:
                fields["scope_schema_url"] = scope.schema_url
        if resource.schema_url:
            fields["resource_schema_url"] = resource.schema_url
        cached = _shared[key] = (scope, resource, fields)
    return cached[2]


def _identity(span: ReadableSpan) -> dict[str, Any]:
    """What a span is, as opposed to what happened in it: the same at start and at end."""
    context = span.context
    parent = span.parent
    identity = {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "parent_span_id": format(parent.span_id, "016x") if parent is not None else None,
        "name": span.name,
        "start_ns": span.start_time or 0,
        "kind": span.kind.name,
        "flags": _flags(parent),
        **_shared_fields(span.instrumentation_scope, span.resource),
    }
    trace_state = context.trace_state
    if trace_state:
        identity["trace_state"] = trace_state.to_header()
    return identity


def span_to_record(span: ReadableSpan) -> SpanRecord:
    """Convert a finished SDK span."""
    status = span.status
    events = span.events
    links = span.links
    return SpanRecord(
        **_identity(span),
        end_ns=span.end_time,
        status_code=status.status_code.name,
        status_message=status.description or "",
        attributes=plain(span.attributes),
        events=tuple(
            SpanEvent(e.name, e.timestamp, plain(e.attributes), e.dropped_attributes)
            for e in events
        )
        if events
        else (),
        links=_links(links) if links else (),
        dropped_attributes_count=span.dropped_attributes,
        dropped_events_count=span.dropped_events,
        dropped_links_count=span.dropped_links,
    )


def _links(links: Any) -> tuple[SpanLink, ...]:
    return tuple(
        SpanLink(
            format(link.context.trace_id, "032x"),
            format(link.context.span_id, "016x"),
            link.context.trace_state.to_header() if link.context.trace_state else "",
            plain(link.attributes),
            _flags(link.context),
            link.dropped_attributes,
        )
        for link in links
    )


def started_record(span: ReadableSpan, attributes: dict[str, Any]) -> SpanRecord:
    """A running span as it was at start (``attributes`` copied then: the SDK keeps mutating)."""
    return SpanRecord(**_identity(span), end_ns=None, attributes=plain(attributes))

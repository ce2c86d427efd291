"""SDK spans → ``SpanRecord``. Runs on the writer thread, never on the agent's."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import fields
from typing import Any, NamedTuple

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import DEFAULT_TRACE_STATE as _DEFAULT_TRACE_STATE
from opentelemetry.trace import SpanKind, StatusCode

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


class _Shared(NamedTuple):
    """The record fields a span shares with its tracer's other spans."""

    resource: dict[str, Any]
    scope_name: str
    scope_version: str
    scope_attributes: dict[str, Any]
    scope_schema_url: str
    resource_schema_url: str


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
_shared: dict[tuple[int, int], tuple[Any, Resource, _Shared]] = {}


def _shared_fields(scope: Any, resource: Resource) -> _Shared:
    key = (id(scope), id(resource))
    cached = _shared.get(key)
    if cached is None or cached[0] is not scope or cached[1] is not resource:
        if len(_shared) > 256:
            _shared.clear()
        fields = _Shared(
            resource_dict(resource),
            scope.name if scope else "",
            (scope.version or "") if scope else "",
            plain(scope.attributes) if scope is not None and scope.attributes else {},
            (scope.schema_url or "") if scope is not None else "",
            resource.schema_url or "",
        )
        cached = _shared[key] = (scope, resource, fields)
    return cached[2]


def _attributes(span: ReadableSpan) -> dict[str, Any]:
    """The span's attributes as ``plain`` makes them. The SDK's span holds them in a
    ``BoundedAttributes`` whose mapping methods are Python: read through them, a span's ~12
    attributes cost ~2 µs of the writer's time; its own dict, read directly, a third of it."""
    own = getattr(getattr(span, "_attributes", None), "_dict", None)
    if type(own) is dict:
        return {k: list(v) if type(v) is tuple else v for k, v in own.items()}
    return plain(span.attributes)


def _hex_ids(span: ReadableSpan) -> tuple[str, str, str | None, int]:
    """Trace id, span id, parent span id as hex, and the OTLP flags of the parent."""
    context = span.context
    parent = span.parent
    return (
        format(context.trace_id, "032x"),
        format(context.span_id, "016x"),
        format(parent.span_id, "016x") if parent is not None else None,
        _flags(parent),
    )


def span_to_record(span: ReadableSpan) -> SpanRecord:
    """Convert a finished SDK span.

    The SDK hands ``on_end`` a ``ReadableSpan`` whose public properties copy as they read
    (``events`` and ``links`` each build a tuple under a lock, ``kind.name`` is an enum
    property): ~4 µs of the writer's ~10 µs a span. That class is read through its own fields
    here; anything else (another SDK's span, a subclass) through the properties. Enum members
    are looked up by identity (an ``Enum``'s hash is a Python call), the shared fields of the
    last span's tracer are kept at hand (an agent's spans come from one tracer), and the record
    is filled slot by slot (``_new_record``).
    """
    global _last_shared
    if type(span) is not ReadableSpan:
        return _record_from_properties(span)
    context = span._context
    status = span._status
    events: Any = span._events
    links: Any = span._links
    attributes: Any = span._attributes
    own = getattr(attributes, "_dict", None)
    event_items = getattr(events, "_dq", None)
    link_items = getattr(links, "_dq", None)
    kind = _KIND_NAMES.get(id(span._kind))
    status_code = _STATUS_NAMES.get(id(status.status_code))
    if (context is None or type(own) is not dict or type(event_items) is not deque
            or type(link_items) is not deque or kind is None or status_code is None):
        return _record_from_properties(span)
    scope = span._instrumentation_scope
    resource = span._resource
    last = _last_shared
    if last is not None and last[0] is scope and last[1] is resource:
        shared = last[2]
    else:
        shared = _shared_fields(scope, resource)
        _last_shared = (scope, resource, shared)
    parent = span._parent
    trace_state = context.trace_state
    record = _new_record(SpanRecord)
    _set_trace_id(record, format(context.trace_id, "032x"))
    _set_span_id(record, format(context.span_id, "016x"))
    if parent is None:
        _set_parent_span_id(record, None)
        _set_flags(record, _HAS_IS_REMOTE)
    else:
        _set_parent_span_id(record, format(parent.span_id, "016x"))
        _set_flags(record, _HAS_IS_REMOTE | _IS_REMOTE if parent.is_remote else _HAS_IS_REMOTE)
    _set_name(record, span._name)
    _set_start_ns(record, span._start_time or 0)
    _set_end_ns(record, span._end_time)
    _set_kind(record, kind)
    _set_status_code(record, status_code)
    _set_status_message(record, status.description or "")
    # Sequences as lists (``plain``); a span without any is copied whole, in C.
    _set_attributes(record, {k: list(v) if type(v) is tuple else v for k, v in own.items()}
                    if tuple in map(type, own.values()) else own.copy())
    _set_events(record, _events(tuple(event_items)) if event_items else ())
    _set_resource(record, shared.resource)
    _set_scope_name(record, shared.scope_name)
    _set_scope_version(record, shared.scope_version)
    _set_links(record, _links(tuple(link_items)) if link_items else ())
    _set_trace_state(record, "" if trace_state is _DEFAULT_TRACE_STATE or not trace_state
                     else trace_state.to_header())
    _set_dropped_attributes_count(record, attributes.dropped)
    _set_dropped_events_count(record, events.dropped)
    _set_dropped_links_count(record, links.dropped)
    _set_scope_attributes(record, shared.scope_attributes)
    _set_resource_schema_url(record, shared.resource_schema_url)
    _set_scope_schema_url(record, shared.scope_schema_url)
    return record


# ``SpanRecord`` is a frozen dataclass: its ``__init__`` sets each of its 23 fields through
# ``object.__setattr__``, ~2 µs of the writer's time a span, as much as reading the span. Its
# slots' own setters, called one by one, do it in half that. ``span_to_record`` sets every
# field there is: the record compares equal to one built by ``SpanRecord(...)`` (a test holds
# it), and a field added to ``SpanRecord`` stops the import here until it is set there too.
_FILLED = (
    "trace_id", "span_id", "parent_span_id", "name", "start_ns", "end_ns", "kind", "status_code",
    "status_message", "attributes", "events", "resource", "scope_name", "scope_version", "links",
    "trace_state", "flags", "dropped_attributes_count", "dropped_events_count",
    "dropped_links_count", "scope_attributes", "resource_schema_url", "scope_schema_url",
)
if (tuple(f.name for f in fields(SpanRecord)) != _FILLED
        or hasattr(SpanRecord, "__post_init__")):  # pragma: no cover - a change to the record
    raise ImportError("SpanRecord's fields changed: update span_to_record's slot setters")


def _setter(name: str) -> Callable[[SpanRecord, Any], None]:
    setter: Callable[[SpanRecord, Any], None] = getattr(SpanRecord, name).__set__
    return setter


_new_record = object.__new__
_set_trace_id = _setter("trace_id")
_set_span_id = _setter("span_id")
_set_parent_span_id = _setter("parent_span_id")
_set_name = _setter("name")
_set_start_ns = _setter("start_ns")
_set_end_ns = _setter("end_ns")
_set_kind = _setter("kind")
_set_status_code = _setter("status_code")
_set_status_message = _setter("status_message")
_set_attributes = _setter("attributes")
_set_events = _setter("events")
_set_resource = _setter("resource")
_set_scope_name = _setter("scope_name")
_set_scope_version = _setter("scope_version")
_set_links = _setter("links")
_set_trace_state = _setter("trace_state")
_set_flags = _setter("flags")
_set_dropped_attributes_count = _setter("dropped_attributes_count")
_set_dropped_events_count = _setter("dropped_events_count")
_set_dropped_links_count = _setter("dropped_links_count")
_set_scope_attributes = _setter("scope_attributes")
_set_resource_schema_url = _setter("resource_schema_url")
_set_scope_schema_url = _setter("scope_schema_url")

# By the members' ids: an ``Enum``'s ``__hash__`` is a Python call, twice a span.
_KIND_NAMES = {id(kind): kind.name for kind in SpanKind}
_STATUS_NAMES = {id(code): code.name for code in StatusCode}
# The last span's scope, resource and their ``_Shared`` (one tuple, swapped whole: the writer
# thread is the usual caller, but any thread may be).
_last_shared: tuple[Any, Resource, _Shared] | None = None


def _record_from_properties(span: ReadableSpan) -> SpanRecord:
    """``span_to_record`` for any ``ReadableSpan``, through its public properties."""
    status = span.status
    events = span.events
    links = span.links
    trace_id, span_id, parent_id, flags = _hex_ids(span)
    shared = _shared_fields(span.instrumentation_scope, span.resource)
    trace_state = span.context.trace_state
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_id,
        name=span.name,
        start_ns=span.start_time or 0,
        end_ns=span.end_time,
        kind=span.kind.name,
        status_code=status.status_code.name,
        status_message=status.description or "",
        attributes=_attributes(span),
        events=_events(events) if events else (),
        resource=shared.resource,
        scope_name=shared.scope_name,
        scope_version=shared.scope_version,
        links=_links(links) if links else (),
        trace_state=trace_state.to_header() if trace_state else "",
        flags=flags,
        dropped_attributes_count=span.dropped_attributes,
        dropped_events_count=span.dropped_events,
        dropped_links_count=span.dropped_links,
        scope_attributes=shared.scope_attributes,
        resource_schema_url=shared.resource_schema_url,
        scope_schema_url=shared.scope_schema_url,
    )


def _events(events: Any) -> tuple[SpanEvent, ...]:
    return tuple(
        SpanEvent(e.name, e.timestamp, plain(e.attributes), e.dropped_attributes) for e in events
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
    trace_id, span_id, parent_id, flags = _hex_ids(span)
    shared = _shared_fields(span.instrumentation_scope, span.resource)
    trace_state = span.context.trace_state
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_id,
        name=span.name,
        start_ns=span.start_time or 0,
        end_ns=None,
        kind=span.kind.name,
        attributes=plain(attributes),
        resource=shared.resource,
        scope_name=shared.scope_name,
        scope_version=shared.scope_version,
        trace_state=trace_state.to_header() if trace_state else "",
        flags=flags,
        scope_attributes=shared.scope_attributes,
        resource_schema_url=shared.resource_schema_url,
        scope_schema_url=shared.scope_schema_url,
    )

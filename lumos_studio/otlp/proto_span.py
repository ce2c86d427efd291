"""One serialised OTLP ``Span`` (how the store keeps every span), decoded in part or whole.

``RawAttributes`` / ``RawEvents`` behave as a record's mapping and sequence and decode the span's
bytes on first access; the store keeps those bytes as they are (``records_codec``). A stored span
is read in one protobuf parse (``decode_span``), or only for what the search index needs
(``text_fields``). Apart from ``proto_codec``, which reads a request at ingest: these read one
span, when it is looked at.

What stays encoded at ingest is not validated there, so it is decoded leniently: invalid UTF-8 in
an attribute's value reads with replacement characters, and a value, event or link that is not
valid protobuf reads as a placeholder saying so (see ``proto_codec`` for why). Event times stay
encoded (they never become SQLite integers) and read as sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from lumos_studio.otlp.proto_slim import SlimSpan, SlimTextSpan
from lumos_studio.otlp.proto_values import any_value, attributes_of, unreadable
from lumos_studio.records import SpanEvent, SpanLink

__all__ = [
    "RawAttributes",
    "RawEvents",
    "decode_span",
    "decode_span_attributes",
    "decode_span_events",
    "span_rest",
    "text_fields",
]


def text_fields(
    otlp: bytes, only: frozenset[str]
) -> tuple[list[str], dict[str, Any], list[str]]:
    """What a search index reads of a serialised span, from one parse in C: its attribute keys,
    the values of those in ``only`` decoded (the rest stay encoded), and its events' names (read
    leniently, as a span's). Raises ``DecodeError`` for a span that is not valid protobuf."""
    span: Any = SlimTextSpan.FromString(otlp)
    encoded = span.attributes
    keys = list(encoded)
    values = {key: any_value(encoded[key]) for key in only.intersection(keys)}
    return keys, values, [event.name.decode("utf-8", "replace") for event in span.events]


def span_rest(otlp: bytes) -> dict[str, Any]:
    """What a serialised span holds beyond its header, attributes and events, as ``SpanRecord``
    fields (links, trace state, flags, dropped counts); empty for most spans."""
    return _rest(SlimSpan.FromString(otlp))


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
            return {"<invalid OTLP span>": unreadable("span", otlp)}, (), rest
    events = tuple(
        SpanEvent(e.name, e.time_unix_nano, attributes_of(e.attributes), e.dropped_attributes_count)
        for e in span.events
    )
    rest = {}
    if span.links:
        rest["links"] = tuple(
            SpanLink(link.trace_id.hex(), link.span_id.hex(), link.trace_state,
                     attributes_of(link.attributes), link.flags, link.dropped_attributes_count)
            for link in span.links
        )
    if span.trace_state:
        rest["trace_state"] = span.trace_state
    _add_counts(span, rest)
    return attributes_of(span.attributes), events, rest


def _link(encoded: bytes) -> SpanLink:
    try:
        link = Span.Link.FromString(encoded)
    except DecodeError:
        return SpanLink("0" * 32, "0" * 16, unreadable("link", encoded))
    return SpanLink(
        link.trace_id.hex(),
        link.span_id.hex(),
        link.trace_state,
        attributes_of(link.attributes),
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
    span: Any = SlimSpan.FromString(otlp)
    return span.attributes


def decode_span_attributes(otlp: bytes, only: frozenset[str] | None = None) -> dict[str, Any]:
    """The attributes of a serialised OTLP ``Span`` (how the store keeps protobuf spans).

    With ``only``, just those attributes, read from the encoded KeyValues without decoding the
    others (what the trace index needs of a stored span: its messages).
    """
    if only is None:
        try:
            return attributes_of(Span.FromString(otlp).attributes)
        except DecodeError:  # a value is invalid: read the others, and a placeholder for it
            return {key: any_value(value) for key, value in _slim_attributes(otlp).items()}
    encoded = _slim_attributes(otlp)
    return {name: any_value(encoded[name]) for name in only if name in encoded}


def decode_span_events(otlp: bytes) -> tuple[SpanEvent, ...]:
    """The events of a serialised OTLP ``Span``; one that is invalid reads as a placeholder."""
    try:
        events = Span.FromString(otlp).events
    except DecodeError:
        span: Any = SlimSpan.FromString(otlp)
        return tuple(_event(encoded, span.start_time_unix_nano) for encoded in span.events)
    return tuple(
        SpanEvent(e.name, e.time_unix_nano, attributes_of(e.attributes), e.dropped_attributes_count)
        for e in events
    )


def _event(encoded: bytes, fallback_time_ns: int) -> SpanEvent:
    try:
        event = Span.Event.FromString(encoded)
    except DecodeError:
        return SpanEvent(unreadable("event", encoded), fallback_time_ns, {})
    return SpanEvent(
        event.name, event.time_unix_nano, attributes_of(event.attributes),
        event.dropped_attributes_count,
    )

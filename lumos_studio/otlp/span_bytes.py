"""A record as a serialised OTLP ``Span``, written byte by byte: what the store keeps of a span
that did not come as protobuf (the in-process processor's, a JSON receiver's, a file's).

``proto_encode.encode_span`` builds a protobuf message and serialises it: one Python call into
upb per field, ~7 µs of the writer's time for an agent's chat span, under the GIL the agent's
time too. This writes the same bytes (a test holds them equal, field by field in field-number
order as upb writes them) from Python bytes, and remembers each string attribute's encoded
key-value pair by its key and value: an agent repeats its operation, model, provider, system
instructions and tool definitions in every call. About 2 µs a span.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from lumos_studio.otlp._common import (
    INT64_MAX,
    INT64_MIN,
    KIND_TO_OTLP,
    kind_to_otlp,
    status_to_otlp,
)
from lumos_studio.records import STATUS_UNSET, SpanEvent, SpanLink, SpanRecord

__all__ = ["span_bytes"]

_U64 = (1 << 64) - 1
_DOUBLE = struct.Struct("<d")
_FIXED64 = struct.Struct("<Q")
_FIXED32 = struct.Struct("<I")

# One byte for each small length: most strings and messages are shorter than 128 bytes.
_SMALL = [bytes((n,)) for n in range(128)]


def _varint(value: int) -> bytes:
    if value < 128:
        return _SMALL[value]
    out = bytearray()
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag, the payload's length, the payload."""
    size = len(payload)
    return tag + (_SMALL[size] if size < 128 else _varint(size)) + payload


# Encoded key-value fields of string attributes (and of ints, bools and short lists of strings,
# ``_remembered_as``): by field tag, then key, then value (nested dicts: no tuple to make for
# each look-up of a string); cleared once they hold ``_MAX_REMEMBERED_BYTES`` (the values as much
# again), so unique messages cannot make the cache big.
_pairs: dict[bytes, dict[str, dict[Any, bytes]]] = {}
_remembered = 0  # bytes
_MAX_REMEMBERED_BYTES = 4 * 1024 * 1024
_MAX_REMEMBERED_CHARS = 16 * 1024
_MAX_REMEMBERED_ITEMS = 8  # a list's strings
_TUPLE_KEY_BYTES = 100  # about what a remembered number's tuple key and its int take


def _remembered_as(value: Any) -> Any:
    """What a value other than a string is remembered by: an int, a bool or a short list of
    strings (token counts, finish reasons) by a tuple that starts with its type, so that 1,
    True and "1" stay apart; None for a value not remembered (floats: 0.0 == -0.0)."""
    kind = type(value)
    if kind is int or kind is bool:
        return (kind, value)
    if (kind is list or kind is tuple) and len(value) <= _MAX_REMEMBERED_ITEMS and all(
        type(item) is str and len(item) <= _MAX_REMEMBERED_CHARS for item in value
    ):
        return (list, *value)  # a list and a tuple encode alike
    return None


def _attributes(tag: bytes, attributes: Mapping[str, Any]) -> bytes:
    """Repeated ``KeyValue`` fields under ``tag``."""
    global _remembered
    by_key = _pairs.get(tag)
    if by_key is None:
        by_key = _pairs[tag] = {}
    out = []
    for key, value in attributes.items():
        if type(value) is str:
            remembered = value if len(value) <= _MAX_REMEMBERED_CHARS else None
        else:
            remembered = _remembered_as(value)
        if remembered is not None and type(key) is str:
            by_value = by_key.get(key)
            if by_value is None:
                by_value = by_key[key] = {}
            cached = by_value.get(remembered)
            if cached is None:
                cached = _field(tag, _key_value(key, value))
                if _remembered >= _MAX_REMEMBERED_BYTES:
                    _pairs.clear()
                    _remembered = 0
                    by_key = _pairs[tag] = {}
                    by_value = by_key[key] = {}
                by_value[remembered] = cached
                # A string key is counted by the bytes (its text is as long); a tuple's by
                # its size, so unique numbers cannot hold more than the bound says either.
                _remembered += len(cached) + (0 if remembered is value else _TUPLE_KEY_BYTES)
            out.append(cached)
        else:
            out.append(_field(tag, _key_value(str(key), value)))
    return b"".join(out)


def _key_value(key: str, value: Any) -> bytes:
    encoded = key.encode()
    head = b"\x0a" + _varint(len(encoded)) + encoded if encoded else b""
    if value is None:  # an AnyValue with nothing set is no field at all (as upb leaves it)
        return head
    return head + _field(b"\x12", _any(value))


def _any(value: Any) -> bytes:
    """An ``AnyValue``'s fields, as ``proto_encode.set_any`` fills one."""
    kind = type(value)
    if kind is str:
        return _field(b"\x0a", value.encode())
    if kind is bool:
        return b"\x10\x01" if value else b"\x10\x00"
    if kind is int:
        if INT64_MIN <= value <= INT64_MAX:
            return b"\x18" + _varint(value & _U64)
        return _field(b"\x0a", str(value).encode())
    if kind is float:
        return b"\x21" + _DOUBLE.pack(value)
    if value is None:
        return b""
    if isinstance(value, str):
        return _field(b"\x0a", value.encode())
    if isinstance(value, bool):
        return _any(bool(value))
    if isinstance(value, int):
        return _any(int(value))
    if isinstance(value, float):
        return _any(float(value))
    if isinstance(value, dict):
        return _field(b"\x32", b"".join(
            _field(b"\x0a", _key_value(str(k), v)) for k, v in value.items()
        ))
    if isinstance(value, list | tuple):
        return _field(b"\x2a", b"".join(_field(b"\x0a", _any(item)) for item in value))
    if isinstance(value, bytes | bytearray | memoryview):
        return _field(b"\x3a", bytes(value))
    return _any(str(value))


def _string(tag: bytes, value: str) -> bytes:
    return _field(tag, value.encode()) if value else b""


def _count(tag: bytes, value: int) -> bytes:
    return tag + _varint(value & _U64) if value else b""


def _event(event: SpanEvent) -> bytes:
    return b"".join((
        b"\x09" + _FIXED64.pack(event.time_ns) if event.time_ns else b"",
        _string(b"\x12", event.name),
        _attributes(b"\x1a", event.attributes),
        _count(b"\x20", event.dropped_attributes_count),
    ))


def _link(link: SpanLink) -> bytes:
    return b"".join((
        _id(b"\x0a", link.trace_id, 16),
        _id(b"\x12", link.span_id, 8),
        _string(b"\x1a", link.trace_state),
        _attributes(b"\x22", link.attributes),
        _count(b"\x28", link.dropped_attributes_count),
        b"\x35" + _FIXED32.pack(link.flags) if link.flags else b"",
    ))


_KINDS = {kind: b"\x30" + _varint(number) for kind, number in KIND_TO_OTLP.items()}


def _id(tag: bytes, hex_id: str | None, size: int) -> bytes:
    """A trace or span id field: ``tag``, its length and its bytes; none when empty."""
    if not hex_id:
        return b""
    raw = bytes.fromhex(hex_id)
    return tag + _SMALL[size] + raw if len(raw) == size else _field(tag, raw)


def span_bytes(record: SpanRecord) -> bytes:
    """``proto_encode.encode_span(record)``'s bytes; a string protobuf cannot hold (a lone
    surrogate) raises ``UnicodeEncodeError``, a ``ValueError``, as there."""
    kind = _KINDS.get(record.kind)
    out = [
        _id(b"\x0a", record.trace_id, 16),
        _id(b"\x12", record.span_id, 8),
        _string(b"\x1a", record.trace_state),
        _id(b"\x22", record.parent_span_id, 8),
        _string(b"\x2a", record.name),
        kind if kind is not None else _count(b"\x30", kind_to_otlp(record.kind)),
        b"\x39" + _FIXED64.pack(record.start_ns) if record.start_ns else b"",
        b"\x41" + _FIXED64.pack(record.end_ns) if record.end_ns else b"",
        _attributes(b"\x4a", record.attributes),
    ]
    if record.dropped_attributes_count:
        out.append(_count(b"\x50", record.dropped_attributes_count))
    for event in record.events:
        out.append(_field(b"\x5a", _event(event)))
    if record.dropped_events_count:
        out.append(_count(b"\x60", record.dropped_events_count))
    for link in record.links:
        out.append(_field(b"\x6a", _link(link)))
    if record.dropped_links_count:
        out.append(_count(b"\x70", record.dropped_links_count))
    if record.status_code != STATUS_UNSET or record.status_message:
        status = _string(b"\x12", record.status_message)
        if record.status_code != STATUS_UNSET:
            status += _count(b"\x18", status_to_otlp(record.status_code))
        out.append(_field(b"\x7a", status))
    if record.flags:
        out.append(b"\x85\x01" + _FIXED32.pack(record.flags))
    return b"".join(out)

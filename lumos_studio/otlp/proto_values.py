"""OTLP ``AnyValue`` and ``KeyValue`` into Python values: the rules every protobuf reader here
shares (a request's hot attributes, a stored span's parts, a log record's body and attributes).

Scalars are read inline, without a call per value, and an encoded AnyValue's strings and numbers
without upb: these run once per attribute, the inner loop of decoding. Never raises on a value:
invalid UTF-8 reads with replacement characters, a value that is not valid protobuf as a
placeholder saying so (``unreadable``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

SCALARS = frozenset(("string_value", "int_value", "bool_value", "double_value"))


def unreadable(what: str, encoded: bytes) -> str:
    """The placeholder for a value kept as it came that is not valid protobuf."""
    return f"<invalid OTLP {what}: {len(encoded)} bytes, not valid protobuf>"


_unpack_double = struct.Struct("<d").unpack_from


def any_value(value: bytes) -> Any:
    """One encoded AnyValue: strings and numbers read inline, the rest via upb.

    Never raises: invalid UTF-8 reads with replacement characters, and an AnyValue that is not
    valid protobuf (or holds invalid UTF-8 deeper down) as ``unreadable``'s placeholder.
    """
    end = len(value)
    if not end:
        return None  # the empty AnyValue
    tag = value[0]
    try:
        if tag == 0x0A:  # string_value
            size, start = _varint(value, 1)
            if start + size == end:
                return value[start:end].decode("utf-8", "replace")
        elif tag == 0x18:  # int_value
            number, stop = _varint(value, 1)
            if stop == end:
                return number - (1 << 64) if number >= 1 << 63 else number
        elif tag == 0x21 and end == 9:  # double_value
            return _unpack_double(value, 1)[0]
    except IndexError:  # an unusual but valid encoding: let upb read it
        pass
    try:
        decoded = AnyValue.FromString(value)
    except DecodeError:
        return unreadable("value", value)
    which = decoded.WhichOneof("value")
    return getattr(decoded, which) if which in SCALARS else composite_value(decoded, which)


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7


def attributes_of(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    """KeyValues as a dict; scalars are read inline (a call per value halves throughput)."""
    out: dict[str, Any] = {}
    for kv in attributes:
        value = kv.value
        which = value.WhichOneof("value")
        out[kv.key] = getattr(value, which) if which in SCALARS else composite_value(value, which)
    return out


def composite_value(value: AnyValue, which: str | None) -> Any:
    """A non-scalar AnyValue as a JSON-compatible value, but bytes stay ``bytes``."""
    if which == "array_value":
        items = []
        for item in value.array_value.values:
            kind = item.WhichOneof("value")
            items.append(getattr(item, kind) if kind in SCALARS else composite_value(item, kind))
        return items
    if which == "kvlist_value":
        return attributes_of(value.kvlist_value.values)
    if which == "bytes_value":
        return value.bytes_value
    return None  # the empty AnyValue
